"""Claim: the input-gradient penalty regularises like FGM and improves generalisation, and the
parameter-gradient penalty tracks it (kexue.fm/archives/7234, kexue.fm/archives/8796).

No regularizer vs FGM vs the input-gradient penalty vs the parameter-gradient penalty
(`flaxnlp.regularizers`) on one fine-tuning task: zh-small with EGP on CLUENER2020
(experiments/ner_cluener_egp.py, AdamW 1e-3) for 1 epoch (336 steps), dev F1. The table's steps/s
column is each method's cost per step (FGM: two backward passes; the penalties: a gradient of a
gradient).

Each method's ε is chosen on held-out training sentences first (`:holdout`: the grid `EPSILONS`,
one seed, 20% of the training set held out; the unregularised run once, as the reference), then
written into `CHOSEN`, and the seeded sweep runs 3 seeds per method:

  python -m flaxnlp.sweep --config experiments/claim_regularizers.py:cluener,holdout \
      --root runs/claim_regularizers_holdout --seeds 1
  python -m flaxnlp.sweep --root runs/claim_regularizers_holdout --table
  # set CHOSEN to each method's best ε in that table, then
  python -m flaxnlp.sweep --config experiments/claim_regularizers.py --root runs/claim_regularizers
  python -m flaxnlp.sweep --root runs/claim_regularizers --table

ε grids around the posts' values: FGM 0.5 and the input penalty 1 (bojone's IFLYTEK scripts);
the parameter penalty, whose ‖∇_θ L‖² sums over every weight, from 0.01 up. `CHOSEN` holds each
grid's middle value until the holdout sweep has chosen.

Cost on 2 CPU cores: the plain step runs at ≈ 1.6 steps/s (experiments/ner_cluener_egp.py), so
336 steps ≈ 3.5 min; FGM, the input penalty and the parameter penalty are assumed at 1.7×, 2.7×
and 3× that (not measured; the seeded table measures them): ≈ 6, 9 and 10 min a run. Holdout
1 + 3 × 3 runs ≈ 79 min, seeded 4 × 3 runs ≈ 86 min: ≈ 2.8 h. Cut: 1 of the experiment's 5
epochs. Results: docs/claims.md.
"""
import pathlib
import runpy

import ml_collections

from flaxnlp import sweep

_EGP = pathlib.Path(__file__).with_name("ner_cluener_egp.py")
NUM_STEPS = 336  # one epoch of CLUENER's 10,748 training sentences at batch 32
METHODS = {name: {"regularizer.name": name}
           for name in ("none", "fgm", "input_gradient_penalty", "param_gradient_penalty")}
EPSILONS = {"fgm": (0.1, 0.5, 1.0), "input_gradient_penalty": (0.3, 1.0, 3.0),
            "param_gradient_penalty": (0.01, 0.1, 1.0)}
CHOSEN = {m: eps[1] for m, eps in EPSILONS.items()}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """CLUENER + EGP on zh-small for one epoch; `arg` "cluener" (the only set-up) or
  "cluener,holdout"."""
  _, holdout = sweep.stage_variant(arg, ("cluener",))
  c = runpy.run_path(str(_EGP))["get_config"](None)
  sweep.set_steps(c, NUM_STEPS)
  c.train.holdout_fraction = 0.2 if holdout else 0.0
  return c


def get_sweep(arg: str | None = None) -> list[dict]:
  """Every method's ε grid (`:holdout`), else each method at its chosen ε."""
  _, holdout = sweep.stage_variant(arg, ("cluener",))
  values = EPSILONS if holdout else {m: [eps] for m, eps in CHOSEN.items()}
  return sweep.method_points(METHODS, "regularizer.epsilon", values)
