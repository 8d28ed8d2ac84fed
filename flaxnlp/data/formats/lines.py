"""Line readers shared by the formats: JSON-lines objects with a "text" (through
`flaxnlp.data.jsonl`), and tab-separated lines.

Both skip blank lines and number lines from 1, so each reader's `DataFormatError` names
`path:line`.
"""
import os
from collections.abc import Iterator
from typing import Union

from flaxnlp.data import jsonl
from flaxnlp.data.formats.errors import DataFormatError

PathLike = Union[str, os.PathLike]


def text_records(path: PathLike, expected: str = 'an object with a string "text"'
                 ) -> Iterator[tuple[int, dict]]:
  """`(line number, record)` of each JSON-lines record, which must be an object with a string
  "text" (else a DataFormatError naming the line and saying what was `expected`)."""
  for line_number, record in jsonl.read_objects(path, expected):
    if not isinstance(record.get("text"), str):
      raise DataFormatError(path, line_number, f"expected {expected}")
    yield line_number, record


def tab_fields(path: PathLike) -> Iterator[tuple[int, list[str]]]:
  """Yields `(line number, tab-separated fields)` of each non-blank line (line ending removed)."""
  with open(path, encoding="utf-8") as f:
    for line_number, line in enumerate(f, 1):
      line = line.rstrip("\r\n")
      if line.strip():
        yield line_number, line.split("\t")
