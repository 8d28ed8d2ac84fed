"""Helpers of the own-data tests (issue 14): files written in tmp_path, a tiny config, and a run
that trains a couple of steps and then predicts from a JSON-lines file with the workdir's saved
config, as `launch.py --workdir W --mode predict` does."""
import json
import pathlib

import ml_collections

from flaxnlp import configs
from flaxnlp.train import trainer


def write(directory: pathlib.Path, name: str, text_or_records) -> pathlib.Path:
  """`directory/name` holding the text, or the records as JSON lines; returns its path."""
  if not isinstance(text_or_records, str):
    text_or_records = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in text_or_records)
  path = directory / name
  path.write_text(text_or_records, encoding="utf-8")
  return path


def tiny_config(task: str, task_args: ml_collections.ConfigDict, vocab_size: int = 21128,
                buckets=(32,)) -> ml_collections.ConfigDict:
  """A 1-layer, 16-wide encoder trained 2 steps of batch 8 and checkpointed at the end."""
  c = configs.base_config()
  c.task = task
  c.task_args = task_args
  c.model = configs.bert_config(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32)
  c.train.update(dict(batch_size=8, eval_batch_size=8, num_steps=2, buckets=tuple(buckets),
                      log_every=1, eval_every=0, checkpoint_every=2))
  c.lock()
  return c


def train_then_predict(config: ml_collections.ConfigDict, workdir: pathlib.Path, inputs: list,
                       remove: tuple = ()) -> tuple[dict, ml_collections.ConfigDict, list[dict]]:
  """Trains `config` in `workdir`, deletes the files `remove` (e.g. the training file, to show
  that prediction needs only the workdir), then predicts `inputs` (JSON-lines records) with the
  config saved in `workdir/config.json`. Returns (final eval metrics, saved config, outputs)."""
  summary = trainer.run(config, workdir).summary
  for path in remove:
    pathlib.Path(path).unlink()
  saved = configs.load_workdir_config(workdir)
  predict_input = write(workdir, "predict_in.jsonl", inputs)
  output = workdir / "predict_out.jsonl"
  trainer.run(saved, workdir, "predict", predict_input=str(predict_input),
              predict_output=str(output))
  records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
  return summary["eval"], saved, records
