"""Readers of multi-passage question answering data: WebQA / SogouQA (bojone's JSON) and CMRC 2018.

Both produce the same structure,
`QAExample(id, question, passages=[Passage(text, answer)], gold_answers)`, which the seq2seq
reading-comprehension samples (`flaxnlp.tasks.rc_samples`) consume:

* WebQA / SogouQA (bojone/dgcnn_for_reading_comprehension `datasets/`): one JSON list
  `[{"id", "question", "passages": [{"passage", "answer"}]}]`; `answer` is "" when the passage
  does not answer the question, multi-part answers are space-separated ("巴西 俄罗斯 印度 中国 南非").
* CMRC 2018 (SQuAD v1.1 format, `ymcui/cmrc2018` `squad-style-data/`): one example per question
  whose passages are the paragraph context, optionally cut into windows of at most
  `max_passage_chars` characters (each window a passage; its answer is the first gold answer it
  contains, else "").

Malformed records raise `DataFormatError(path, line, message)` where `line` is the 1-based line on
which the offending record (the WebQA/SogouQA list item, or the CMRC article) starts.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, Optional, Union

import numpy as np

from flaxnlp.data.formats.errors import DataFormatError

PathLike = Union[str, os.PathLike]

SOGOU_WEBQA_DOWNLOAD = (
    "https://github.com/bojone/dgcnn_for_reading_comprehension/blob/master/datasets/README.md "
    "(Baidu pan link https://pan.baidu.com/s/11C21BAupOpiYWoOx23J7Mg, password dh9w)")


@dataclasses.dataclass
class Passage:
  """One passage of a question: its text and the answer it contains ("" when it has none)."""
  text: str
  answer: str


@dataclasses.dataclass
class QAExample:
  """A question with its passages.

  Attributes:
    id: question id (SogouQA `id`; the record index as a string when the record has none, as in
      WebQA; the CMRC question id).
    question: the question text.
    passages: the passages, in file order.
    gold_answers: reference answers for evaluation: the CMRC answer texts (with duplicates, as in
      the file), or the distinct non-empty passage answers for WebQA / SogouQA.
  """
  id: str
  question: str
  passages: list[Passage]
  gold_answers: tuple[str, ...] = ()


def _line_of(text: str, offset: int, cache: list[int]) -> int:
  """1-based line of `text[offset]`; `cache` = [last_offset, last_line] makes forward scans O(n)."""
  last_offset, last_line = cache
  if offset < last_offset:
    last_offset, last_line = 0, 1
  line = last_line + text.count("\n", last_offset, offset)
  cache[:] = [offset, line]
  return line


def _iter_array(path: PathLike, text: str, start: int) -> Iterator[tuple[int, Any]]:
  """Yields `(line, item)` for each item of the JSON array whose '[' is at `text[start]`."""
  decoder = json.JSONDecoder()
  ws = re.compile(r"\s*")
  cache = [0, 1]
  pos = ws.match(text, start + 1).end()
  if text.startswith("]", pos):
    return
  while True:
    line = _line_of(text, pos, cache)
    try:
      item, pos = decoder.raw_decode(text, pos)
    except json.JSONDecodeError as e:
      raise DataFormatError(path, e.lineno, f"invalid JSON: {e.msg}") from e
    yield line, item
    pos = ws.match(text, pos).end()
    if text.startswith(",", pos):
      pos = ws.match(text, pos + 1).end()
    elif text.startswith("]", pos):
      return
    else:
      raise DataFormatError(path, _line_of(text, pos, cache),
                            "expected ',' or ']' in the JSON list")


def _check(condition: bool, path: PathLike, line: int, message: str) -> None:
  if not condition:
    raise DataFormatError(path, line, message)


def _read_text(path: PathLike) -> str:
  with open(path, encoding="utf-8") as f:
    return f.read()


def read_webqa(path: PathLike) -> list[QAExample]:
  """Reads a WebQA.json / SogouQA.json file (one JSON list of question records).

  Record fields: `question` (str), `passages` (list of `{"passage": str, "answer": str}`), optional
  `id` (str or int; the 0-based record index is used when absent). Raises `DataFormatError` naming
  the line on which a malformed record starts.
  """
  text = _read_text(path)
  start = re.compile(r"\s*").match(text).end()
  if not text.startswith("[", start):
    raise DataFormatError(path, _line_of(text, start, [0, 1]), "expected a JSON list of records")
  examples = []
  for index, (line, record) in enumerate(_iter_array(path, text, start)):
    _check(isinstance(record, dict), path, line, f"record {index} is not a JSON object")
    question = record.get("question")
    _check(isinstance(question, str), path, line, f"record {index}: 'question' must be a string")
    raw_passages = record.get("passages")
    _check(isinstance(raw_passages, list), path, line,
           f"record {index}: 'passages' must be a list")
    passages = []
    for j, p in enumerate(raw_passages):
      _check(isinstance(p, dict) and isinstance(p.get("passage"), str)
             and isinstance(p.get("answer"), str), path, line,
             f"record {index}: passage {j} must be {{'passage': str, 'answer': str}}")
      passages.append(Passage(p["passage"], p["answer"]))
    qid = record.get("id", index)
    _check(isinstance(qid, (str, int)), path, line, f"record {index}: 'id' must be a string or int")
    gold = tuple(dict.fromkeys(p.answer for p in passages if p.answer))
    examples.append(QAExample(str(qid), question, passages, gold))
  return examples


def read_sogou_webqa_dir(data_dir: PathLike) -> tuple[list[QAExample], list[QAExample]]:
  """Reads `(SogouQA.json, WebQA.json)` from `data_dir`; a clear error says where to get them."""
  data_dir = pathlib.Path(data_dir)
  missing = [n for n in ("SogouQA.json", "WebQA.json") if not (data_dir / n).is_file()]
  if missing:
    raise FileNotFoundError(
        f"{', '.join(missing)} not found in {data_dir}. The files are distributed only through "
        f"Baidu pan: see {SOGOU_WEBQA_DOWNLOAD}.")
  return read_webqa(data_dir / "SogouQA.json"), read_webqa(data_dir / "WebQA.json")


def sogou_split(num_examples: int, order: Optional[Sequence[int]] = None,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """bojone's SogouQA split: valid = items at positions `i % 3 == 0` of a permutation, train = rest.

  Args:
    num_examples: number of SogouQA questions.
    order: the permutation (bojone writes it once to `random_order.json`, unseeded); a seeded
      numpy permutation when None.
    seed: seed of that permutation.

  Returns:
    `(train_indices, valid_indices)` into the SogouQA example list.
  """
  if order is None:
    order = np.random.default_rng(seed).permutation(num_examples)
  order = np.asarray(order)
  if sorted(order.tolist()) != list(range(num_examples)):
    raise ValueError(f"order is not a permutation of range({num_examples})")
  positions = np.arange(num_examples)
  return order[positions % 3 != 0], order[positions % 3 == 0]


def _windows(text: str, size: Optional[int], stride: Optional[int]) -> list[str]:
  """Windows of at most `size` characters of `text`, starting every `stride` (default `size`)."""
  if size is None or len(text) <= size:
    return [text]
  stride = stride or size
  starts = range(0, max(len(text) - size, 0) + stride, stride)
  return [text[s:s + size] for s in starts if s < len(text)]


def read_cmrc2018(path: PathLike, *, max_passage_chars: Optional[int] = None,
                  stride: Optional[int] = None) -> list[QAExample]:
  """Reads a SQuAD-format CMRC 2018 file into one `QAExample` per question.

  Args:
    path: `cmrc2018_{train,dev,trial}.json`.
    max_passage_chars: when set, contexts longer than this are cut into windows of at most this
      many characters (e.g. 254 = max_p_len - 2), each a separate passage, so that multi-passage
      voting is exercised; a window's answer is the first gold answer text it contains, else "".
      When None the whole context is the single passage and its answer is the first gold answer.
    stride: start offset between windows (default `max_passage_chars`: no overlap).

  Returns:
    Examples with `gold_answers` = all answer texts of the question (the metric's references).
  """
  text = _read_text(path)
  try:
    top = json.loads(text)
  except json.JSONDecodeError as e:
    raise DataFormatError(path, e.lineno, f"invalid JSON: {e.msg}") from e
  _check(isinstance(top, dict) and isinstance(top.get("data"), list), path, 1,
         "expected a SQuAD-format object with a 'data' list")
  match = re.compile(r'"data"\s*:\s*\[').search(text)
  lines = ([line for line, _ in _iter_array(path, text, match.end() - 1)]
           if match else [1] * len(top["data"]))
  if len(lines) != len(top["data"]):
    lines = [1] * len(top["data"])
  examples = []
  for a, (article, line) in enumerate(zip(top["data"], lines)):
    where = f"data[{a}]"
    _check(isinstance(article, dict) and isinstance(article.get("paragraphs"), list), path, line,
           f"{where}: expected an object with a 'paragraphs' list")
    for p, para in enumerate(article["paragraphs"]):
      where = f"data[{a}].paragraphs[{p}]"
      _check(isinstance(para, dict) and isinstance(para.get("context"), str)
             and isinstance(para.get("qas"), list), path, line,
             f"{where}: expected {{'context': str, 'qas': list}}")
      windows = _windows(para["context"], max_passage_chars, stride)
      for q, qa in enumerate(para["qas"]):
        where = f"data[{a}].paragraphs[{p}].qas[{q}]"
        _check(isinstance(qa, dict) and isinstance(qa.get("question"), str)
               and isinstance(qa.get("id"), str) and isinstance(qa.get("answers"), list), path,
               line, f"{where}: expected {{'id': str, 'question': str, 'answers': list}}")
        answers = []
        for ans in qa["answers"]:
          _check(isinstance(ans, dict) and isinstance(ans.get("text"), str), path, line,
                 f"{where}: every answer must be {{'text': str, ...}}")
          answers.append(ans["text"])
        if len(windows) == 1:
          passages = [Passage(windows[0], answers[0] if answers else "")]
        else:
          passages = [Passage(w, next((t for t in answers if t and t in w), "")) for w in windows]
        examples.append(QAExample(qa["id"], qa["question"], passages, tuple(answers)))
  return examples
