"""NER examples and the JSON NER formats: CLUENER2020 (JSON lines), CMeEE (one JSON array) and
span JSON lines (`{"text": ..., "spans": [[start, end, type], ...]}`).

Every reader returns a list of `NerExample` with INCLUSIVE character spans `(start, end, type)`,
sorted by (start, end, type), and checks each span against the text: `text[start:end + 1]` must
equal the annotated entity string, else `DataFormatError("path:line: ...")`.
"""
import dataclasses
import json
import os
from typing import List, Tuple, Union

from flaxnlp.data.formats import lines
from flaxnlp.data.formats.errors import DataFormatError

PathLike = Union[str, os.PathLike]


@dataclasses.dataclass
class NerExample:
  """One text with its entity mentions.

  Attributes:
    text: the raw text.
    spans: `(start, end, type)` with INCLUSIVE character indices, `text[start:end + 1]` is the
      mention; may overlap (nested NER); sorted by (start, end, type).
  """
  text: str
  spans: List[Tuple[int, int, str]]


def _check_span(path, line, text, start, end, entity, what):
  """Raises DataFormatError unless `text[start:end + 1] == entity` with 0 ≤ start ≤ end < len."""
  if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < len(text)):
    raise DataFormatError(path, line, f"{what}: span [{start!r}, {end!r}] is not inside the "
                          f"text of length {len(text)}")
  if text[start:end + 1] != entity:
    raise DataFormatError(path, line, f"{what}: text[{start}:{end + 1}] is "
                          f"{text[start:end + 1]!r}, not the entity {entity!r}")


def read_cluener(path: PathLike) -> List[NerExample]:
  """Reads a CLUENER2020 file (`train.json`, `dev.json` or the unlabelled `test.json`).

  Format: one JSON object per line, `{"text": str, "label": {type: {entity: [[s, e], ...]}}}`,
  `e` inclusive. Lines without "label" (the test set) give no spans; blank lines are skipped.

  Returns:
    One `NerExample` per non-blank line, one span per `[s, e]` pair.

  Raises:
    DataFormatError: invalid JSON, missing/non-string "text", a malformed "label", or a span that
      does not spell its entity (message "path:line: ...").
  """
  examples = []
  for line_number, record in lines.text_records(path):
    text, spans = record["text"], []
    labels = record.get("label", {})
    if not isinstance(labels, dict):
      raise DataFormatError(path, line_number, '"label" must map type -> {entity: spans}')
    for label, entities in labels.items():
      if not isinstance(entities, dict):
        raise DataFormatError(path, line_number, f"label {label!r}: expected {{entity: spans}}")
      for entity, positions in entities.items():
        if not isinstance(positions, list):
          raise DataFormatError(path, line_number, f"entity {entity!r}: expected [[s, e], ...]")
        for position in positions:
          if not (isinstance(position, list) and len(position) == 2):
            raise DataFormatError(path, line_number,
                                  f"entity {entity!r}: position {position!r} is not [s, e]")
          start, end = position
          _check_span(path, line_number, text, start, end, entity, f"{label} {entity!r}")
          spans.append((start, end, label))
    examples.append(NerExample(text, sorted(spans)))
  return examples


def read_span_jsonl(path: PathLike) -> List[NerExample]:
  """Reads span JSON lines: `{"text": str, "spans": [[start, end, type], ...]}` per line.

  `end` is INCLUSIVE (the span is `text[start:end + 1]`), `type` a non-empty string; spans may
  nest or overlap. Other keys are ignored; blank lines are skipped.

  Raises:
    DataFormatError: invalid JSON, a missing/non-string "text", a missing/non-list "spans", or a
      span that is not `[start, end, type]` inside the text (message "path:line: ...").
  """
  examples = []
  for line_number, record in lines.text_records(path):
    if not isinstance(record.get("spans"), list):
      raise DataFormatError(path, line_number,
                            'expected "spans": [[start, end_inclusive, type], ...]')
    text, spans = record["text"], []
    for span in record["spans"]:
      if not (isinstance(span, list) and len(span) == 3 and isinstance(span[2], str)
              and span[2]):
        raise DataFormatError(path, line_number,
                              f"span {span!r} is not [start, end_inclusive, type]")
      start, end, label = span
      if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < len(text)):
        raise DataFormatError(path, line_number, f"span {span!r}: [start, end_inclusive] is "
                              f"not inside the text of length {len(text)}")
      spans.append((start, end, label))
    examples.append(NerExample(text, sorted(spans)))
  return examples


def _json_array_records(path: PathLike):
  """Yields `(line, index, record)` for each element of the JSON array in `path`.

  `line` is the 1-based line where the element starts, so errors can point into a pretty-printed
  file.
  """
  with open(path, encoding="utf-8") as f:
    content = f.read()
  decoder = json.JSONDecoder()

  def skip_space(pos):
    while pos < len(content) and content[pos] in " \t\r\n":
      pos += 1
    return pos

  def fail(pos, message):
    raise DataFormatError(path, content.count("\n", 0, pos) + 1, message)

  pos = skip_space(0)
  if not content.startswith("[", pos):
    fail(pos, "expected a JSON array '['")
  pos = skip_space(pos + 1)
  index, line, line_pos = 0, 1, 0
  while not content.startswith("]", pos):
    if index:
      if not content.startswith(",", pos):
        fail(pos, "expected ',' or ']' between array elements")
      pos = skip_space(pos + 1)
    try:
      record, end = decoder.raw_decode(content, pos)
    except json.JSONDecodeError as e:
      raise DataFormatError(path, e.lineno, f"invalid JSON in record {index}: {e.msg}") from e
    line += content.count("\n", line_pos, pos)
    line_pos = pos
    yield line, index, record
    index += 1
    pos = skip_space(end)
    if pos >= len(content):
      fail(pos, "unterminated JSON array (missing ']')")
  pos = skip_space(pos + 1)
  if pos != len(content):
    fail(pos, "extra data after the JSON array")


def read_cmeee(path: PathLike) -> List[NerExample]:
  """Reads a CMeEE / CMeEE-V2 file (`CMeEE-V2_dev.json`, or the test file with empty entities).

  Format: one JSON array of `{"text": str, "entities": [{"start_idx": int, "end_idx": int,
  "type": str, "entity": str}, ...]}`. `end_idx` is INCLUSIVE: `text[start_idx:end_idx + 1] ==
  entity` holds for all 26,081 entities of CMeEE-V2 dev (checked here for every entity).
  Entities may nest or overlap; all are kept, in (start, end, type) order.

  Raises:
    DataFormatError: invalid JSON or a malformed record/entity; the line is where the offending
      record starts and the message names its index ("path:line: record k: ...").
  """
  examples = []
  for line, index, record in _json_array_records(path):
    what = f"record {index}"
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
      raise DataFormatError(path, line, f'{what}: expected an object with a string "text"')
    entities = record.get("entities", [])
    if not isinstance(entities, list):
      raise DataFormatError(path, line, f'{what}: "entities" must be a list')
    text, spans = record["text"], []
    for k, entity in enumerate(entities):
      keys = ("start_idx", "end_idx", "type", "entity")
      if not isinstance(entity, dict) or any(key not in entity for key in keys):
        raise DataFormatError(path, line, f"{what}: entity {k} lacks one of {keys}")
      _check_span(path, line, text, entity["start_idx"], entity["end_idx"], entity["entity"],
                  f"{what}, entity {k}")
      spans.append((entity["start_idx"], entity["end_idx"], entity["type"]))
    examples.append(NerExample(text, sorted(spans)))
  return examples
