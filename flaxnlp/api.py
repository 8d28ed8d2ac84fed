"""A trained run from Python: `flaxnlp.load(workdir).predict(inputs)`.

The predictor holds the run's task, its jitted predict function and its eval params (the best
checkpoint, else the latest), so repeated calls in a notebook compile once per batch shape.
`predict` runs exactly what `--mode predict` runs (`flaxnlp.train.predict_io.predict_records`):
the same inputs, long texts read in windows, the same output records.
"""
from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

from flaxnlp import configs
from flaxnlp.train import predict_io
from flaxnlp.train.trainer import Trainer


class Predictor:
  """The model of one trained workdir, ready to predict.

  Attributes:
    trainer: the run's `Trainer` (its task, mesh and jitted functions), under the saved config.
    params: the eval params predictions use.
  """

  def __init__(self, trainer: Trainer, params: Any):
    self.trainer = trainer
    self.params = params

  def predict(self, inputs: Sequence[Any]) -> list[Any]:
    """One output record per input, in order: what `--mode predict` writes for them.

    Args:
      inputs: a list of texts or of records (JSON-like dicts) as lines of a `--mode predict`
        input file: `{"text": ...}` (NER, classification, relation and event extraction; a bare
        string is the text) or `{"question": ..., "passages": [...]}` (reading comprehension).
        A record's other fields come back in its output.

    Returns:
      e.g. NER `{"text", "entities": [{"start", "end", "type", "entity"}]}`, classification
      `{"labels", "label_names", ...}`, relation extraction `{"text", "spo_list"}`, event
      extraction `{"text", "event_list"}`, reading comprehension `{"question", "answer", ...}`.

    Raises:
      UserError: an input the task cannot read ("input 3: ...", 0-based).
      TypeError: `inputs` is a single string or record instead of a list of them.
    """
    if isinstance(inputs, (str, dict)):
      raise TypeError("predict takes a list of inputs, e.g. predict([text]); got one "
                      f"{type(inputs).__name__}")
    records = [(f"input {i}", value) for i, value in enumerate(inputs)]
    return predict_io.predict_records(self.trainer, lambda: self.params, records)[1]


def load(workdir: str | pathlib.Path, *, latest: bool = False) -> Predictor:
  """The predictor of the run trained in `workdir` (its config.json and checkpoints).

  Args:
    workdir: a `--mode train` workdir.
    latest: use the latest checkpoint's eval params even when a best checkpoint exists.

  Raises:
    UserError: `workdir` has no config.json or no checkpoint.
  """
  trainer = Trainer(configs.load_workdir_config(workdir), workdir)
  return Predictor(trainer, trainer.load_eval_params(latest))
