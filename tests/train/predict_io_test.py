"""flaxnlp.train.predict_io: input records and their errors, output records over the input's
fields, and an output file that appears only when complete."""
import json

import numpy as np
import pytest

from flaxnlp.errors import UserError
from flaxnlp.tasks import toy
from flaxnlp.train import predict_io


class _Task:
  """from_json / to_json of a text task: {"text"} in, {"text", "n"} out."""

  def from_json(self, obj):
    return obj["text"] if isinstance(obj, dict) else obj

  def to_json(self, example, prediction):
    return {"text": example, "n": prediction}


def test_records_name_their_line_and_bad_ones_are_user_errors(tmp_path):
  path = tmp_path / "in.jsonl"
  path.write_text('{"text": "a"}\n\n"b"\n', encoding="utf-8")
  records = predict_io.read_records(path)
  assert records == [(f"{path}:1", {"text": "a"}), (f"{path}:3", "b")]
  assert predict_io.examples_of(_Task(), "t", records) == ["a", "b"]
  with pytest.raises(UserError, match=f"^{path}:2: the input has no 'text' field, which this "
                                      r"task \(t\) needs; got \{'txt': 'c'\}"):
    predict_io.examples_of(_Task(), "t", [(f"{path}:2", {"txt": "c"})])
  path.write_text('{"text": "a"}\n{oops\n', encoding="utf-8")
  with pytest.raises(UserError, match=f"^{path}:2: not valid JSON"):
    predict_io.read_records(path)
  with pytest.raises(UserError, match="--input .*none.jsonl does not exist"):
    predict_io.read_records(tmp_path / "none.jsonl")


def test_outputs_keep_the_input_fields_in_input_order():
  records = [("1", {"id": 7, "text": "a", "n": "old"}), ("2", "b")]
  out = predict_io.output_records(_Task(), records, ["a", "b"], [1, 2])
  assert out == [{"id": 7, "text": "a", "n": 1}, {"text": "b", "n": 2}]


def test_the_output_appears_only_when_complete(tmp_path):
  path = tmp_path / "out.jsonl"
  path.write_text("previous\n", encoding="utf-8")
  with pytest.raises(TypeError):
    predict_io.write_records(path, [{"a": 1}, {"b": object()}])
  assert path.read_text(encoding="utf-8") == "previous\n"
  assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
  predict_io.write_records(path, [{"a": {2, 1}, "b": np.int64(3), "c": np.arange(2)}, "文"])
  assert [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()] == [
      {"a": [1, 2], "b": 3, "c": [0, 1]}, "文"]
  assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_a_task_without_windows_reads_each_example_whole():
  class Trainer:
    task = toy.ToyTask.__new__(toy.ToyTask)  # the Task defaults: no windows, no truncation

    def predict_examples(self, params, examples):
      return [(params, ex) for ex in examples]

  assert predict_io.predict_whole(Trainer(), "p", ["x", "y"]) == [("p", "x"), ("p", "y")]
  assert predict_io.report_truncated(Trainer.task, ["x"]) == 0
