"""The error every data reader raises on malformed input: it names the file and the line."""
import os
from typing import Union


class DataFormatError(ValueError):
  """Malformed input data at `path:line`.

  Attributes:
    path: the file being read (str).
    line: 1-based line number (or record index for formats without lines, documented by the
      reader raising it).
    message: what is wrong.

  `str(error)` is `"path:line: message"`.
  """

  def __init__(self, path: Union[str, os.PathLike], line: int, message: str):
    self.path = os.fspath(path)
    self.line = line
    self.message = message
    super().__init__(f"{self.path}:{line}: {message}")

  def __reduce__(self):
    return (type(self), (self.path, self.line, self.message))
