"""The one JSON-lines reader: a file of one JSON value per line, blank lines skipped.

Lines are numbered from 1 in the file (blank lines count), so every error is one
`DataFormatError` "path:line: ..." that the user can open at.
"""
import json
import os
from collections.abc import Iterator
from typing import Any, Union

from flaxnlp.data.formats.errors import DataFormatError

PathLike = Union[str, os.PathLike]


def read(path: PathLike) -> Iterator[tuple[int, Any]]:
  """Yields `(line number, parsed value)` for each non-blank line of the JSON-lines file `path`.

  Raises:
    FileNotFoundError: `path` does not exist.
    DataFormatError: a line is not UTF-8 or not one JSON value ("path:line: not valid JSON ...").
  """
  with open(path, "rb") as f:
    for line_number, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        value = json.loads(line.decode("utf-8"))
      except (UnicodeDecodeError, json.JSONDecodeError) as e:
        reason = e.msg if isinstance(e, json.JSONDecodeError) else "not UTF-8"
        raise DataFormatError(path, line_number, f"not valid JSON ({reason})") from e
      yield line_number, value


def read_objects(path: PathLike, expected: str = "a JSON object") -> Iterator[tuple[int, dict]]:
  """`read(path)` where every line must be a JSON object; anything else is a DataFormatError
  "path:line: expected {expected}"."""
  for line_number, value in read(path):
    if not isinstance(value, dict):
      raise DataFormatError(path, line_number, f"expected {expected}, got {value!r:.80}")
    yield line_number, value
