"""Multi-label text files of your own (task "classification"): TSV and JSON lines.

* "tsv": one example per line, `text TAB labels` or `text TAB labels TAB id` (GoEmotions' layout);
  `labels` is a comma-separated list of label names or label ids, empty for an example without a
  label. Blank lines are skipped; the text may not contain a tab.
* "jsonl": one JSON object per line, `{"text": str, "labels": [name or id, ...]}` and an optional
  `"id"` (string or integer); other keys are ignored; blank lines are skipped.

The readers return `LabelledText`s whose labels are the entries as written (strings; a JSON integer
becomes its decimal string), with the line they came from; `to_examples` turns them into
`MultiLabelExample`s over a label list. An entry is the label of that name, else, when it is an
integer k, the label with id k (0 ≤ k < number of labels). Malformed lines and unknown labels
raise `DataFormatError("path:line: ...")`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple, Union

from flaxnlp.data.formats import lines
from flaxnlp.data.formats.errors import DataFormatError
from flaxnlp.data.formats.goemotions import MultiLabelExample

PathLike = Union[str, os.PathLike]


class LabelledText(NamedTuple):
  """One example as written: its text, label entries (names or ids, as strings), id and line."""
  text: str
  labels: tuple[str, ...]
  id: str | None
  line: int


def _entries(path, line_number, field: str) -> tuple[str, ...]:
  """The comma-separated entries of a TSV label field ("" = none)."""
  if not field.strip():
    return ()
  entries = tuple(x.strip() for x in field.split(","))
  if not all(entries):
    raise DataFormatError(path, line_number, f"empty label in {field!r}; expected label names or "
                          "ids separated by commas")
  return entries


def read_label_tsv(path: PathLike) -> list[LabelledText]:
  """Reads a "tsv" file (module docstring): `text TAB labels [TAB id]` per line."""
  records = []
  for line_number, fields in lines.tab_fields(path):
    if len(fields) not in (2, 3):
      raise DataFormatError(path, line_number, "expected 'text<TAB>labels' or "
                            f"'text<TAB>labels<TAB>id' (labels comma-separated), found "
                            f"{len(fields)} tab-separated field(s)")
    if not fields[0].strip():
      raise DataFormatError(path, line_number, "the text (before the first tab) is empty")
    records.append(LabelledText(fields[0], _entries(path, line_number, fields[1]),
                                fields[2] if len(fields) == 3 else None, line_number))
  return records


def read_label_jsonl(path: PathLike) -> list[LabelledText]:
  """Reads a "jsonl" file (module docstring): `{"text", "labels": [...], ["id"]}` per line."""
  records = []
  for line_number, record in lines.text_records(
      path, 'an object with a string "text" and "labels": [name or id, ...]'):
    labels = record.get("labels")
    if not isinstance(labels, list) or not all(
        isinstance(x, str) and x or isinstance(x, int) and not isinstance(x, bool)
        for x in labels):
      raise DataFormatError(path, line_number, f'"labels" must be a list of label names '
                            f"(non-empty strings) or ids (integers), found {labels!r}")
    qid = record.get("id")
    if qid is not None and not isinstance(qid, (str, int)):
      raise DataFormatError(path, line_number, f'"id" must be a string or integer: {qid!r}')
    records.append(LabelledText(record["text"], tuple(str(x) for x in labels),
                                None if qid is None else str(qid), line_number))
  return records


def to_examples(path: PathLike, records: Sequence[LabelledText],
                names: Sequence[str]) -> list[MultiLabelExample]:
  """`records` of `path` as examples with sorted, unique label ids over `names` (module doc)."""
  index = {name: k for k, name in enumerate(names)}
  examples = []
  for record in records:
    ids = set()
    for entry in record.labels:
      if entry in index:
        ids.add(index[entry])
      elif entry.lstrip("-").isdigit() and 0 <= int(entry) < len(names):
        ids.add(int(entry))
      else:
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise DataFormatError(path, record.line, f"label {entry!r} is neither one of the "
                              f"{len(names)} labels ({shown}) nor a label id in "
                              f"[0, {len(names)})")
    examples.append(MultiLabelExample(record.text, tuple(sorted(ids)), record.id))
  return examples
