"""Line readers shared by the formats: JSON lines (objects, or objects with a "text"), and
tab-separated lines.

Both skip blank lines and number lines from 1, so each reader's `DataFormatError` names
`path:line`.
"""
import json
import os
from collections.abc import Iterator
from typing import Union

from flaxnlp.data.formats.errors import DataFormatError

PathLike = Union[str, os.PathLike]


def json_objects(path: PathLike, expected: str = "a JSON object") -> Iterator[tuple[int, dict]]:
  """Yields `(line number, record)` for each non-blank line of a JSON-lines file whose record is
  an object; invalid JSON or another value is a DataFormatError naming the line and saying what
  was `expected`."""
  with open(path, "rb") as f:
    for line_number, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        record = json.loads(line.decode("utf-8"))
      except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(path, line_number, f"invalid UTF-8 JSON: {e}") from e
      if not isinstance(record, dict):
        raise DataFormatError(path, line_number, f"expected {expected}")
      yield line_number, record


def text_records(path: PathLike, expected: str = 'an object with a string "text"'
                 ) -> Iterator[tuple[int, dict]]:
  """`json_objects` whose records also have a string "text" (else a DataFormatError)."""
  for line_number, record in json_objects(path, expected):
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
