"""Claim: ZLPR beats per-class sigmoid BCE on multi-label data without threshold tuning, and its
soft-label form supports label smoothing (kexue.fm/archives/7359, kexue.fm/archives/9064).

GoEmotions (28 labels) with the MiniLM warm start (experiments/classification_goemotions.py
`:pretrained`, lr 1e-4) for 800 steps, dev macro- and micro-F1. Four arms: ZLPR with hard labels
and with label smoothing ε (targets (1 − ε)·y + ε/2) at its fixed threshold 0, and sigmoid BCE
(`task_args.loss="bce"`, hard labels) at probability 0.5 (logit 0) and at a threshold tuned on
held-out training examples. The holdout stage (`:holdout`: one seed, 10% of the training set
held out) trains hard ZLPR, every ε of the grid `SMOOTHING` and BCE; ε is the best of its
table, and the BCE threshold is tuned on that BCE run's held-out scores
(`flaxnlp.train.tune_threshold`, the threshold that maximises held-out macro-F1; the dev split
is never used to choose it). Then 3 seeds per arm, each trained on the whole training set:

  python -m flaxnlp.sweep --config experiments/claim_zlpr.py:goemotions,holdout \
      --root runs/claim_zlpr_holdout --seeds 1
  python -m flaxnlp.sweep --root runs/claim_zlpr_holdout --table --metric macro_f1 \
      --metric micro_f1
  python -m flaxnlp.train.tune_threshold \
      --workdir runs/claim_zlpr_holdout/task_args.loss=bce,seed=0
  # set CHOSEN_SMOOTHING to the best ε in that table and CHOSEN_THRESHOLD to the "threshold"
  # the tuner printed (and wrote to that workdir's threshold.json), then
  python -m flaxnlp.sweep --config experiments/claim_zlpr.py --root runs/claim_zlpr
  python -m flaxnlp.sweep --root runs/claim_zlpr --table --metric macro_f1 --metric micro_f1

Not covered: distillation with soft labels (it needs a teacher's scores as training targets).

Cost on 2 CPU cores: the `:pretrained` run took 43 min for 2,700 steps with three dev
evaluations, ≈ 12.7 min for 800 steps with one; holdout 5 runs ≈ 64 min (the tuner adds one
pass over the 4,341 held-out examples), seeded 4 × 3 runs ≈ 152 min: ≈ 3.6 h. Cut: 800 of the
experiment's 2,700 steps (≈ 0.6 epoch). Results: docs/claims.md.
"""
import pathlib
import runpy

import ml_collections

from flaxnlp import sweep

_GOEMOTIONS = pathlib.Path(__file__).with_name("classification_goemotions.py")
NUM_STEPS = 800
METHODS = {"hard": {"task_args.label_smoothing": 0.0}, "smoothed": {}}
SMOOTHING = {"smoothed": (0.05, 0.1, 0.2)}
CHOSEN_SMOOTHING = 0.1  # the grid's middle value until the holdout sweep has chosen
BCE = {"task_args.loss": "bce"}  # hard labels, threshold 0 = probability 0.5
# The BCE threshold tuned on the holdout (a logit); None until tuned: the tuned arm is left out.
CHOSEN_THRESHOLD = None


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """GoEmotions with MiniLM for 800 steps; `arg` "goemotions" (the only set-up) or
  "goemotions,holdout"."""
  _, holdout = sweep.stage_variant(arg, ("goemotions",))
  c = runpy.run_path(str(_GOEMOTIONS))["get_config"]("pretrained")
  sweep.set_steps(c, NUM_STEPS)
  c.train.holdout_fraction = 0.1 if holdout else 0.0
  return c


def get_sweep(arg: str | None = None) -> list[dict]:
  """`:holdout`: hard labels once, every ε of the grid and BCE (whose held-out scores tune the
  threshold); else hard vs the chosen ε vs BCE at threshold 0 and at the tuned threshold."""
  _, holdout = sweep.stage_variant(arg, ("goemotions",))
  values = SMOOTHING if holdout else {"smoothed": [CHOSEN_SMOOTHING]}
  points = sweep.method_points(METHODS, "task_args.label_smoothing", values) + [BCE]
  if not holdout and CHOSEN_THRESHOLD is not None:
    points.append({**BCE, "task_args.threshold": CHOSEN_THRESHOLD})
  return points
