"""CLUENER2020 (10 types) with GlobalPointer: train → dev (blog 8373's GP).

  python launch.py --config experiments/ner_cluener_gp.py --workdir runs/cluener_gp
  python launch.py --config experiments/ner_cluener_gp.py:scratch --workdir runs/cluener_gp_scratch
  python launch.py --config experiments/ner_cluener_gp.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/cluener_gp_bert

Same data, model, schedule and variants as experiments/ner_cluener_egp.py (see its docstring for
the data and where to get it), with the GP head: one q/k projection per type, 98,432·H parameters
at D = 768 instead of EGP's 98,432 + 258·H.

Published (ALGORITHMS §4.6, BERT-base, `:pretrained`): GP dev 80.03 / test 79.44.
Measured here (2 idle CPU cores, one run at a time), `:zh-small` (the default, AdamW 1e-3 as
chosen on EGP's holdout): dev F1 0.739 (P 0.755, R 0.724) in 19.7 min (1.45 steps/s); after epochs
1–5: 0.617 / 0.679 / 0.717 / 0.731 / 0.739, against EGP's 0.544 / 0.698 / 0.722 / 0.737 / 0.741
in the same session: GP leads after epoch 1 and the two end level (GP's per-type projections:
10 × 2 × 64 × 256 head weights vs EGP's shared 2 × 64 × 256 + 20 × 128). At the earlier 3e-4:
GP 0.729, EGP 0.716.
Target from scratch: dev F1 ≥ 0.70 (official BiLSTM-CRF). `:scratch`: dev F1 0.579 (P 0.624, R 0.541) in 21.2 min (3.9 steps/s); EGP under the same
budget: 0.582 in 16.7 min. Dev F1 after 3/6/9/12/15 epochs: GP 0.068 / 0.533 / 0.561 / 0.577 /
0.579, EGP 0.530 / 0.561 / 0.570 / 0.578 / 0.582: GP starts slower (10 separate q/k projections,
165k head parameters at hidden 128 vs EGP's 19k) and ends level, as bojone's 80.03 vs 80.66.
"""
import pathlib
import runpy

import ml_collections

_EGP = runpy.run_path(str(pathlib.Path(__file__).with_name("ner_cluener_egp.py")))


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """CLUENER + GP config: `ner_cluener_egp.py`'s with the GP head; `arg` ∈ {None, "scratch",
  "pretrained"}."""
  c = _EGP["get_config"](arg)
  c.task_args.head = "gp"
  return c
