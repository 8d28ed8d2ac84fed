"""CLUENER2020 (10 types) with the CRF baseline of the GlobalPointer posts: train → dev.

  python launch.py --config experiments/ner_cluener_crf.py --workdir runs/cluener_crf
  python launch.py --config experiments/ner_cluener_crf.py:scratch --workdir runs/cluener_crf_scratch
  python launch.py --config experiments/ner_cluener_crf.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/cluener_crf_bert

Same data, encoder, schedule and variants as experiments/ner_cluener_egp.py, with the crf head
(bert4keras's NER CRF example): a Dense layer to the 21 BIO tags, then `ConditionalRandomField`,
Viterbi decoding with BIO constraints. The transitions' learning rate is 0.02 in every variant, as
in bojone's script (lr 2e-5 × `crf_lr_multiplier` 1000): `crf_lr_multiplier = 0.02 /
learning_rate`. One training sentence (example 1,506) nests a company in a book title; the CRF
trains on the outer entity (`crf_train_overlaps="keep_outer"`), as bojone's script does in effect.

Expected dev F1 (2-core CPU, no GPU; docs/results.md#cluener): `:zh-small` (default) 0.726 in
15.3 min; `:scratch` 0.594 in 22 min; `:pretrained` not run, published CRF dev 79.51 / test 78.70.
"""
import pathlib
import runpy

import ml_collections

_EGP = runpy.run_path(str(pathlib.Path(__file__).with_name("ner_cluener_egp.py")))


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """CLUENER + CRF config: `ner_cluener_egp.py`'s with the crf head; `arg` ∈ {None, "scratch",
  "zh-small", "pretrained"}."""
  c = _EGP["get_config"](arg)
  c.task_args.head = "crf"
  c.task_args.crf_lr_multiplier = round(0.02 / c.optimizer.learning_rate, 6)
  c.task_args.crf_train_overlaps = "keep_outer"  # one training sentence nests two entities
  return c
