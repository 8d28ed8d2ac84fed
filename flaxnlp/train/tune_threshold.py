"""The decision threshold of a trained classifier, tuned on its held-out training examples.

  python -m flaxnlp.train.tune_threshold --workdir runs/claim_zlpr_holdout/task_args.loss=bce,seed=0

The workdir must be a "classification" run trained with `train.holdout_fraction` > 0: the scores
of its best checkpoint (else its latest) on the held-out part of the training set choose the
single threshold over all labels that maximises `--metric` (`flaxnlp.metrics.classification.
tune_threshold`: every distinct decision is tried). The evaluation split is never read, so the
threshold stays an honest hyper-parameter. The choice is printed and written to
`WORKDIR/threshold.json` ({"threshold", "metric", "value", "split", "examples"}); use it as
`--config.task_args.threshold=T` for a run on the whole training set (as
`experiments/claim_zlpr.py`'s CHOSEN_THRESHOLD), or with `--mode eval` of such a run.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Sequence

import numpy as np

from flaxnlp.errors import UserError
from flaxnlp.metrics import classification as cls_metrics
from flaxnlp.train import trainer as trainer_lib

RESULT_FILE = "threshold.json"


def tune(workdir: str | pathlib.Path, metric: str = "macro_f1") -> dict:
  """Tunes the threshold of `workdir` on its "holdout" split, writes `RESULT_FILE`, returns it.

  Raises:
    UserError: `workdir` is not a trained classification run with a holdout split.
  """
  if not (pathlib.Path(workdir) / "config.json").is_file():
    raise UserError(f"--workdir {workdir} has no config.json: expected the workdir of a trained "
                    f"classification run")
  trainer = trainer_lib.from_workdir(workdir, "classification")
  if trainer.eval_split != "holdout":
    raise UserError(f"{workdir} was trained without train.holdout_fraction, so it has no held-out "
                    f"training examples; the threshold is never tuned on the evaluation split: "
                    f"train a run with --config.train.holdout_fraction=0.1 and tune on it")
  examples = list(trainer.examples("holdout"))
  rows = trainer.predict_examples(trainer.load_eval_params(), examples,
                                  decode=lambda outputs, batch, exs: list(outputs))
  labels = np.zeros((len(examples), trainer.task.num_labels), np.int64)
  for i, example in enumerate(examples):
    labels[i, list(example.labels)] = 1
  threshold, value = cls_metrics.tune_threshold(np.stack(rows), labels, metric)
  result = {"threshold": threshold, "metric": metric, "value": value, "split": "holdout",
            "examples": len(examples)}
  (pathlib.Path(workdir) / RESULT_FILE).write_text(json.dumps(result, indent=2) + "\n",
                                                  encoding="utf-8")
  return result


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True,
                      help="a classification run trained with train.holdout_fraction > 0")
  parser.add_argument("--metric", default="macro_f1", choices=cls_metrics.THRESHOLD_METRICS,
                      help="the held-out metric the threshold maximises (default macro_f1)")
  args = parser.parse_args(argv)
  try:
    result = tune(args.workdir, args.metric)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps(result))
  return 0


if __name__ == "__main__":
  sys.exit(main())
