"""CLUENER2020 (10 types) with GlobalPointer: train → dev (blog 8373's GP).

  python launch.py --config experiments/ner_cluener_gp.py --workdir runs/cluener_gp
  python launch.py --config experiments/ner_cluener_gp.py:scratch --workdir runs/cluener_gp_scratch
  python launch.py --config experiments/ner_cluener_gp.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/cluener_gp_bert

Same data, model, schedule and variants as experiments/ner_cluener_egp.py, with the GP head: one
q/k projection per type, 98,432·H parameters at D = 768 instead of EGP's 98,432 + 258·H.

Expected dev F1 (2-core CPU, no GPU; docs/results.md#cluener): `:zh-small` (default) 0.739 in
19.7 min; `:scratch` 0.579 in 21.2 min; `:pretrained` not run, published GP dev 80.03 / test 79.44.
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
