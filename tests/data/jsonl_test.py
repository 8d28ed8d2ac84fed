"""flaxnlp.data.jsonl: parsed values with their file line numbers; one file:line error."""
import pytest

from flaxnlp.data import jsonl
from flaxnlp.data.formats.errors import DataFormatError


def test_values_with_line_numbers_blank_lines_skipped(tmp_path):
  path = tmp_path / "in.jsonl"
  path.write_text('{"a": 1}\n\n  \n"text"\n[1, 2]\n', encoding="utf-8")
  assert list(jsonl.read(path)) == [(1, {"a": 1}), (4, "text"), (5, [1, 2])]


@pytest.mark.parametrize("content, line, reason", [
    (b'{"a": 1}\n\n{oops\n', 3, "not valid JSON (Expecting property name"),
    (b'{"a": 1}\n"\xff"\n', 2, "not valid JSON (not UTF-8)"),
])
def test_malformed_line_names_file_and_line(tmp_path, content, line, reason):
  path = tmp_path / "in.jsonl"
  path.write_bytes(content)
  with pytest.raises(DataFormatError) as e:
    list(jsonl.read(path))
  assert str(e.value).startswith(f"{path}:{line}: {reason}")


def test_read_objects_refuses_a_non_object_line(tmp_path):
  path = tmp_path / "in.jsonl"
  path.write_text('{"a": 1}\n["x"]\n', encoding="utf-8")
  with pytest.raises(DataFormatError, match=r":2: expected an event record, got \['x'\]"):
    list(jsonl.read_objects(path, "an event record"))
