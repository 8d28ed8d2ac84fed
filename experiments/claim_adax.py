"""Claim: AdaX trains like Adam early and ends better (kexue.fm/archives/7387, arXiv:2004.09740).

AdaX and AdaX-W against AdamW, Tiger and Lion on three set-ups (`:SETUP`): `msra` (zh-small
fine-tuned on MSRA NER at `make run`'s budget, experiments/ner_msra_egp.py, test F1), `cluener`
(zh-small on CLUENER2020 with EGP, experiments/ner_cluener_egp.py at 2 epochs, dev F1) and
`pretrain` (a short run of experiments/pretrain_zh_small.py from scratch, held-out masked-token
loss `mlm_loss`). The train loss is logged every 10 steps for the early curve (curves.png).

Each method's learning rate is chosen on held-out training data first (`:SETUP,holdout`: the
grid `LEARNING_RATES`, one seed, `train.holdout_fraction` of the training set held out), then the
choice is written into `CHOSEN[SETUP]` and the seeded sweep runs 3 seeds per method:

  python -m flaxnlp.sweep --config experiments/claim_adax.py:msra,holdout \
      --root runs/claim_adax_msra_holdout --seeds 1
  python -m flaxnlp.sweep --root runs/claim_adax_msra_holdout --table --metric f1
  # set CHOSEN["msra"] to each method's best learning rate in that table, then
  python -m flaxnlp.sweep --config experiments/claim_adax.py:msra --root runs/claim_adax_msra
  python -m flaxnlp.sweep --root runs/claim_adax_msra --table --metric f1

(`cluener` and `pretrain` alike.) Method settings: AdamW (β2 0.999, decoupled decay 0.01), AdaX
(β2 = 1e-4, the paper's, no decay), AdaX-W (β2 = 1e-4, decoupled decay 0.01), Tiger (β 0.965,
decay 0.01), Lion (β 0.9 / 0.99; decay 0.1, so that lr × decay matches AdamW's at a tenth of its
learning rate). `CHOSEN` holds each grid's middle value until the holdout sweep has chosen.

Cost on 2 CPU cores, from the step speeds in the experiments' docstrings (5 methods × 3 learning
rates × 1 seed, then 5 methods × 3 seeds), per set-up:
  msra: seeded 600 steps (≈ 9.1 min) × 15 = 137 min, holdout 200 steps (≈ 3.2 min) × 15 = 48 min:
    ≈ 3.1 h. Cut: the holdout runs are a third of the budget.
  cluener: seeded 672 steps (2 epochs, ≈ 7.5 min at ≈ 1.6 steps/s) × 15 = 113 min, holdout 336
    steps × 15 = 57 min: ≈ 2.8 h. Cut: 2 of the experiment's 5 epochs, the holdout 1.
  pretrain: seeded 240 steps (≈ 8.3 min at 0.517 steps/s with evaluation) × 15 = 125 min,
    holdout 120 steps × 15 = 63 min: ≈ 3.1 h. Cut: a tenth of the 2,400-step recipe, which stays
    on BERT's early plateau (masked accuracy ≈ 0.13); it compares the early curves only.
Results: docs/claims.md.
"""
import pathlib
import runpy

import ml_collections

from flaxnlp import sweep

_HERE = pathlib.Path(__file__).parent
# set-up: (experiment file, seeded steps, holdout steps, holdout fraction)
SETUPS = {
    "msra": ("ner_msra_egp.py", 600, 200, 0.05),
    "cluener": ("ner_cluener_egp.py", 672, 336, 0.2),
    "pretrain": ("pretrain_zh_small.py", 240, 120, 0.05),
}
METHODS = {
    "adamw": {"optimizer.name": "adamw", "optimizer.weight_decay": 0.01},
    "adax": {"optimizer.name": "adax", "optimizer.b2": 1e-4, "optimizer.weight_decay": 0.0},
    "adaxw": {"optimizer.name": "adaxw", "optimizer.b2": 1e-4, "optimizer.weight_decay": 0.01},
    "tiger": {"optimizer.name": "tiger", "optimizer.weight_decay": 0.01},
    "lion": {"optimizer.name": "lion", "optimizer.b2": 0.99, "optimizer.weight_decay": 0.1},
}
LEARNING_RATES = {
    "adamw": (5e-4, 1e-3, 2e-3), "adax": (5e-4, 1e-3, 2e-3), "adaxw": (5e-4, 1e-3, 2e-3),
    "tiger": (1e-4, 2e-4, 5e-4), "lion": (1e-4, 2e-4, 5e-4),
}
CHOSEN = {setup: {m: lrs[1] for m, lrs in LEARNING_RATES.items()} for setup in SETUPS}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The set-up's experiment config at the claim's budget; `arg` "SETUP[,holdout]"."""
  setup, holdout = sweep.stage_variant(arg, tuple(SETUPS))
  experiment, steps, holdout_steps, fraction = SETUPS[setup]
  c = runpy.run_path(str(_HERE / experiment))["get_config"](None)
  sweep.set_steps(c, holdout_steps if holdout else steps)
  c.train.log_every = 10
  c.train.holdout_fraction = fraction if holdout else 0.0
  if setup == "pretrain":  # the table's metric: held-out masked-token cross-entropy
    c.train.best_metric, c.train.best_mode = "mlm_loss", "min"
  return c


def get_sweep(arg: str | None = None) -> list[dict]:
  """The learning-rate grid of every method (`:SETUP,holdout`), else each method at its choice."""
  setup, holdout = sweep.stage_variant(arg, tuple(SETUPS))
  values = LEARNING_RATES if holdout else {m: [lr] for m, lr in CHOSEN[setup].items()}
  return sweep.method_points(METHODS, "optimizer.learning_rate", values)
