"""Claim: Efficient GlobalPointer matches or beats GlobalPointer, and both beat the CRF, on CLUENER
(kexue.fm/archives/8373, kexue.fm/archives/8877; BERT-base dev F1 EGP 80.66, GP 80.03, CRF 79.51).

The three heads on zh-small (experiments/ner_cluener_egp.py, experiments/ner_cluener_gp.py,
experiments/ner_cluener_crf.py: the same encoder, data and schedule) for 3 epochs (1,007 steps),
dev F1, with seed spread. Each head's learning rate is chosen on held-out training sentences
first (`:holdout`: the grid `LEARNING_RATES`, one seed, 20% held out), written into `CHOSEN`,
then 3 seeds per head. The CRF's transitions keep the 0.02 learning rate of bojone's script
(`crf_lr_multiplier` = 0.02 / learning rate) and train on the outer entity of the one nested
training pair, as experiments/ner_cluener_crf.py does.

  python -m flaxnlp.sweep --config experiments/claim_ner_heads.py:cluener,holdout \
      --root runs/claim_ner_heads_holdout --seeds 1
  python -m flaxnlp.sweep --root runs/claim_ner_heads_holdout --table
  # set CHOSEN to each head's best learning rate in that table, then
  python -m flaxnlp.sweep --config experiments/claim_ner_heads.py --root runs/claim_ner_heads
  python -m flaxnlp.sweep --root runs/claim_ner_heads --table

`CHOSEN` holds 1e-3 (the rate EGP's own holdout chose at 5 epochs) until this holdout sweep has
chosen. Cost on 2 CPU cores (CRF 1.87, GP 1.45, EGP 1.42–1.77 steps/s in the experiments'
docstrings): ≈ 10.5 min a run with its 3 dev evaluations; holdout 3 heads × 3 rates ≈ 95 min,
seeded 3 heads × 3 seeds ≈ 95 min: ≈ 3.2 h. Cut: 3 of the experiments' 5 epochs. Results:
docs/claims.md.
"""
import pathlib
import runpy

import ml_collections

from flaxnlp import sweep

_EGP = pathlib.Path(__file__).with_name("ner_cluener_egp.py")
NUM_STEPS = 1007  # 3 epochs of CLUENER's 10,748 training sentences at batch 32
HEADS = ("crf", "gp", "egp")
LEARNING_RATES = {head: (3e-4, 1e-3, 2e-3) for head in HEADS}
CHOSEN = {head: 1e-3 for head in HEADS}
CRF_TRANSITIONS_LR = 0.02


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """CLUENER on zh-small for 3 epochs (the head is set by each point); `arg` "cluener" (the only
  set-up) or "cluener,holdout"."""
  _, holdout = sweep.stage_variant(arg, ("cluener",))
  c = runpy.run_path(str(_EGP))["get_config"](None)
  sweep.set_steps(c, NUM_STEPS)
  c.task_args.crf_train_overlaps = "keep_outer"  # read by the crf head only
  c.train.holdout_fraction = 0.2 if holdout else 0.0
  return c


def _point(head: str, learning_rate: float) -> dict:
  point = {"task_args.head": head, "optimizer.learning_rate": learning_rate}
  if head == "crf":
    point["task_args.crf_lr_multiplier"] = round(CRF_TRANSITIONS_LR / learning_rate, 6)
  return point


def get_sweep(arg: str | None = None) -> list[dict]:
  """Every head at each rate of its grid (`:holdout`), else at its chosen rate."""
  _, holdout = sweep.stage_variant(arg, ("cluener",))
  return [_point(head, lr) for head in HEADS
          for lr in (LEARNING_RATES[head] if holdout else [CHOSEN[head]])]
