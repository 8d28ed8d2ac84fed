"""Reader of the GoEmotions TSV files (multi-label text classification, 28 labels).

Format (no header): `text \\t comma-separated label ids \\t comment id`, one example per line;
`labels.txt` lists one label name per line, the line index being the label id. Malformed lines
raise `DataFormatError` naming the file and line.
"""
from __future__ import annotations

import os
from typing import NamedTuple, Union

from flaxnlp.data.formats import lines
from flaxnlp.data.formats.errors import DataFormatError


class MultiLabelExample(NamedTuple):
  """One text with its set of label ids (sorted, unique) and an optional id."""
  text: str
  labels: tuple[int, ...]
  id: str | None = None


def read_label_names(path: Union[str, os.PathLike]) -> list[str]:
  """Label names, one per non-empty line; a duplicate name is a DataFormatError."""
  names = []
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      name = line.strip()
      if not name:
        continue
      if name in names:
        raise DataFormatError(path, lineno, f"duplicate label name {name!r}")
      names.append(name)
  if not names:
    raise DataFormatError(path, 1, "no label names")
  return names


def read_goemotions(path: Union[str, os.PathLike], num_labels: int) -> list[MultiLabelExample]:
  """All examples of one GoEmotions TSV file; label ids must lie in [0, num_labels)."""
  examples = []
  for lineno, fields in lines.tab_fields(path):
    if len(fields) not in (2, 3):
      raise DataFormatError(path, lineno, f"expected 3 tab-separated fields (text, label ids, "
                            f"id), found {len(fields)}")
    text, label_field = fields[0], fields[1]
    try:
      labels = sorted({int(x) for x in label_field.split(",")})
    except ValueError:
      raise DataFormatError(path, lineno, f"label ids must be comma-separated integers, "
                            f"found {label_field!r}") from None
    bad = [x for x in labels if not 0 <= x < num_labels]
    if bad:
      raise DataFormatError(path, lineno, f"label id(s) {bad} outside [0, {num_labels})")
    examples.append(MultiLabelExample(text, tuple(labels), fields[2] if len(fields) == 3 else None))
  return examples
