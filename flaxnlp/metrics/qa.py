"""Question-answering metrics: the SogouQA official tool and the CMRC 2018 official EM / F1.

SogouQA (bojone/dgcnn_for_reading_comprehension `evaluate_tool/`, Python 2, "provided by Sogou"),
re-implemented from its behaviour:

* `sogou_normalize(s)`: full-width → half-width (U+FF01..U+FF5E shifted by 0xFEE0 = 65248, U+3000 →
  space), lower-case, every character of `SOGOU_PUNCTUATION` → space, delete all whitespace.
* accuracy = 1 iff the stripped prediction is non-empty and either its normalised form is in the
  expansion set, or {normalise(x) for x in depunct(pred).lower().split(" ")} equals the same set
  built from the standard answer (multi-part answers in any order); else 0.
* F1 = max over expansion answers of the character-level F1 between the normalised strings,
  overlap counted with multiplicity; 0 for an empty prediction or no overlap.
* reported: Accuracy = mean accuracy, F1 = mean F1, Final = (Accuracy + F1) / 2, over the
  predictions given (as the tool does, which iterates over the prediction file).

Differences from the Python 2 tool: `lower()` and `strip()` follow Python 3 (they also apply to
non-ASCII letters / whitespace, which the tool's byte strings left alone).

CMRC 2018 (ymcui/cmrc2018 `cmrc2018_evaluate.py` v5): answers and prediction are lower-cased and
stripped; EM = 1 iff some answer equals the prediction after deleting the characters of
`CMRC_PUNCTUATION`; F1 uses "mixed segmentation" (each CJK character U+4E00..U+9FA5 is a token,
runs of other characters are word-tokenised; with punctuation removal the punctuation characters
are skipped without breaking a run) and precision / recall from the longest common *contiguous*
token substring, max over answers. Scores are percentages; AVERAGE = (EM + F1) / 2; a question
without a prediction scores 0 and is counted in `skip`. The official script tokenises the non-CJK
runs with `nltk.word_tokenize`; nltk is not a dependency, so `_word_tokenize` approximates it
(alphanumeric words, allowing inner '.', ',' or ''' between alphanumerics; every other
non-space character a token).
"""
from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Union

from flaxnlp.data.formats.errors import DataFormatError

# The characters of the official `evaluate_tool/punctuation` file (one per line; the two lines
# that are blank after Python 2 byte-string `strip()` match nothing): all ASCII punctuation, the
# no-break space, and CJK / full-width punctuation and symbols.
SOGOU_PUNCTUATION = frozenset(
    "`^~<=>|_-,;:!?/.'\"()[]{}@$*\\&#%+\u00a0"
    "…‰※•—‖‘’“”№←↑→↓∴∨∵∶∩∈∑√∞≯≡≮≤≥≈≌⊥⊙⌒□◆◇◎●★☆♀♂¨°·§¤±"
    "\u3000、。〃々〈〉《》「」『』【】〓〔〕〖〗÷×′▲″△∠≠■ˇˉ￣￥＿！＄（），．：；？～﹑￠")

# `sp_char` of the CMRC 2018 evaluation script. Its entry '……' is two characters long and so never
# equals a single character: '…' is not removed (kept here for the same behaviour).
CMRC_PUNCTUATION = frozenset("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』")

_WHITESPACE = re.compile(r"\s+")
_CJK = re.compile("[\u4e00-\u9fa5]")
_WORD = re.compile(r"\w+(?:[.,']\w+)*|\S")


def full_to_half_width(s: str) -> str:
  """Maps U+FF01..U+FF5E to U+0021..U+007E (minus 65248) and U+3000 to a space."""
  out = []
  for ch in s:
    code = ord(ch)
    if code == 0x3000:
      code = 0x20
    elif 65281 <= code <= 65374:
      code -= 65248
    out.append(chr(code))
  return "".join(out)


def _drop_punctuation(s: str) -> str:
  return "".join(" " if ch in SOGOU_PUNCTUATION else ch for ch in s)


def sogou_normalize(s: str) -> str:
  """Sogou `format_string`: half-width, lower-case, punctuation → space, delete all whitespace."""
  s = _drop_punctuation(full_to_half_width(s).lower())
  return _WHITESPACE.sub("", s).strip()


@dataclasses.dataclass(frozen=True)
class SogouGold:
  """Gold answer of one question: the standard answer and the expansion set.

  `expansions` = the alternative answers plus their normalised forms (as the official loader
  builds it); the standard answer is used only by the multi-part accuracy rule.
  """
  standard: str
  expansions: frozenset[str]

  @classmethod
  def make(cls, standard: str, alternatives: Sequence[str]) -> "SogouGold":
    """Builds the expansion set `set(alternatives) | {sogou_normalize(a) for a in alternatives}`."""
    alts = set(alternatives)
    return cls(standard, frozenset(alts | {sogou_normalize(a) for a in alts}))


def read_answer_expand(path: Union[str, os.PathLike]) -> dict[str, SogouGold]:
  """Reads `qid_answer_expand`: lines `qid \\t standard \\t alt1|alt2|...` (UTF-8).

  Lines are stripped of surrounding whitespace as in the official loader; a line without exactly
  three tab-separated fields raises `DataFormatError(path, line, ...)`.
  """
  gold = {}
  with open(path, encoding="utf-8") as f:
    for line_no, line in enumerate(f, 1):
      fields = line.strip().split("\t")
      if len(fields) != 3:
        raise DataFormatError(path, line_no, f"expected 'qid<TAB>answer<TAB>alt1|alt2', got "
                              f"{len(fields)} field(s): {line.strip()!r}")
      qid, standard, alternatives = fields
      gold[qid] = SogouGold.make(standard, alternatives.split("|"))
  return gold


def sogou_accuracy(prediction: str, gold: SogouGold) -> float:
  """Sogou exact match (1.0 / 0.0); see the module docstring."""
  prediction = prediction.strip()
  if not prediction:
    return 0.0
  if sogou_normalize(prediction) in gold.expansions:
    return 1.0
  pieces = lambda s: {sogou_normalize(x) for x in _drop_punctuation(s).lower().split(" ")}
  return float(pieces(prediction) == pieces(gold.standard))


def sogou_f1(prediction: str, gold: SogouGold) -> float:
  """Max over the expansion set of the character-level F1 (multiset overlap) of normalised strings.

  F1 = 2·P·R/(P+R) with P = overlap/len(pred), R = overlap/len(answer); 0 when the prediction is
  empty or nothing overlaps.
  """
  prediction = prediction.strip()
  if not prediction:
    return 0.0
  pred = Counter(sogou_normalize(prediction))
  best = 0.0
  for answer in gold.expansions:
    ref = Counter(sogou_normalize(answer))
    overlap = sum((pred & ref).values())
    if overlap == 0:
      continue
    precision = overlap / sum(pred.values())
    recall = overlap / sum(ref.values())
    best = max(best, 2 * precision * recall / (precision + recall))
  return best


def sogou_evaluate(predictions: Mapping[str, str],
                   gold: Mapping[str, SogouGold]) -> dict[str, float]:
  """Official SogouQA scores over the given predictions `{qid: answer}`.

  Returns `{"accuracy", "f1", "final"}` (fractions in [0, 1]); `final = (accuracy + f1) / 2`.
  Raises `KeyError` for a qid missing from `gold` and `ValueError` when there are no predictions.
  """
  if not predictions:
    raise ValueError("no predictions to evaluate")
  acc = f1 = 0.0
  for qid, prediction in predictions.items():
    if qid not in gold:
      raise KeyError(f"invalid qid {qid!r}: not in the gold answers")
    acc += sogou_accuracy(prediction, gold[qid])
    f1 += sogou_f1(prediction, gold[qid])
  acc, f1 = acc / len(predictions), f1 / len(predictions)
  return {"accuracy": acc, "f1": f1, "final": (acc + f1) / 2}


def _word_tokenize(s: str) -> list[str]:
  """Approximation of `nltk.word_tokenize` for the non-CJK runs (see the module docstring)."""
  return _WORD.findall(s)


def cmrc_mixed_segmentation(s: str, remove_punctuation: bool = False) -> list[str]:
  """CMRC tokens: CJK characters and `CMRC_PUNCTUATION` characters alone, other runs word-tokenised.

  With `remove_punctuation`, `CMRC_PUNCTUATION` characters are skipped (they do not end a run).
  """
  tokens, run = [], ""
  for ch in s.lower().strip():
    if remove_punctuation and ch in CMRC_PUNCTUATION:
      continue
    if _CJK.match(ch) or ch in CMRC_PUNCTUATION:
      tokens.extend(_word_tokenize(run))
      run = ""
      tokens.append(ch)
    else:
      run += ch
  tokens.extend(_word_tokenize(run))
  return tokens


def cmrc_remove_punctuation(s: str) -> str:
  """Lower-case, strip, and delete every `CMRC_PUNCTUATION` character."""
  return "".join(ch for ch in s.lower().strip() if ch not in CMRC_PUNCTUATION)


def _longest_common_substring(a: Sequence[str], b: Sequence[str]) -> int:
  """Length of the longest contiguous run of tokens common to `a` and `b` (DP, O(|a|·|b|))."""
  best, prev = 0, [0] * (len(b) + 1)
  for x in a:
    cur = [0] * (len(b) + 1)
    for j, y in enumerate(b):
      if x == y:
        cur[j + 1] = prev[j] + 1
        best = max(best, cur[j + 1])
    prev = cur
  return best


def cmrc_em(prediction: str, answers: Sequence[str]) -> float:
  """1.0 iff some answer equals the prediction after `cmrc_remove_punctuation`, else 0.0."""
  pred = cmrc_remove_punctuation(prediction)
  return float(any(cmrc_remove_punctuation(a) == pred for a in answers))


def cmrc_f1(prediction: str, answers: Sequence[str]) -> float:
  """Max over answers of 2PR/(P+R), P = L/|pred tokens|, R = L/|answer tokens|, L = LCS length.

  Tokens are `cmrc_mixed_segmentation(·, remove_punctuation=True)`; L is the longest common
  contiguous token substring; 0 when L = 0 (e.g. an empty prediction).
  """
  if not answers:
    raise ValueError("cmrc_f1 needs at least one reference answer")
  pred = cmrc_mixed_segmentation(prediction, remove_punctuation=True)
  scores = []
  for answer in answers:
    ref = cmrc_mixed_segmentation(answer, remove_punctuation=True)
    lcs = _longest_common_substring(ref, pred)
    if lcs == 0:
      scores.append(0.0)
      continue
    precision, recall = lcs / len(pred), lcs / len(ref)
    scores.append(2 * precision * recall / (precision + recall))
  return max(scores)


def cmrc2018_evaluate(predictions: Mapping[str, str],
                      gold: Mapping[str, Sequence[str]]) -> dict[str, float]:
  """Official CMRC 2018 scores: iterates over the gold questions `{qid: [answer texts]}`.

  Returns `{"f1", "em", "average", "total", "skip"}`; f1 / em / average are percentages averaged
  over all gold questions (a missing prediction scores 0 and counts in `skip`).
  """
  if not gold:
    raise ValueError("no gold questions to evaluate against")
  f1 = em = 0.0
  skip = 0
  for qid, answers in gold.items():
    if qid not in predictions:
      skip += 1
      continue
    f1 += cmrc_f1(predictions[qid], answers)
    em += cmrc_em(predictions[qid], answers)
  f1, em = 100.0 * f1 / len(gold), 100.0 * em / len(gold)
  return {"f1": f1, "em": em, "average": (f1 + em) / 2, "total": len(gold), "skip": skip}
