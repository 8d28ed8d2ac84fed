"""CLUENER2020 (10 types) with the CRF baseline of the GlobalPointer posts: train → dev.

  python launch.py --config experiments/ner_cluener_crf.py --workdir runs/cluener_crf
  python launch.py --config experiments/ner_cluener_crf.py:scratch --workdir runs/cluener_crf_scratch
  python launch.py --config experiments/ner_cluener_crf.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/cluener_crf_bert

Same data, encoder, schedule and variants as experiments/ner_cluener_egp.py (see its docstring
for the data), with the crf head (bert4keras's NER CRF example): a Dense layer to the 21 BIO tags,
then `ConditionalRandomField`, Viterbi decoding with BIO constraints. The transitions' learning
rate is 0.02 in every variant, as in bojone's script (lr 2e-5 × `crf_lr_multiplier` 1000):
`crf_lr_multiplier = 0.02 / learning_rate`. One training sentence (example 1,506) holds nested
entities (a book title containing a company); the CRF trains on the outer one
(`crf_train_overlaps="keep_outer"`, as bojone's script, where a later entity overwrites an earlier
one, does in effect). The dev set has none.

Published (ALGORITHMS §4.6, BERT-base, `:pretrained`): CRF dev 79.51 / test 78.70 (GP 80.03 /
79.44, EGP 80.66 / 80.04).

Measured here, `:zh-small` (the default, AdamW 1e-3 as chosen on EGP's holdout, so
`crf_lr_multiplier` 20; 2 idle CPU cores, the three heads one after another in one session): dev
F1 0.726 (P 0.726, R 0.726) in 15.3 min (1.87 steps/s); after epochs 1–5: 0.636 / 0.717 / 0.710 /
0.715 / 0.726 (EGP 0.741, GP 0.739 at epoch 5). The CRF leads after epochs 1 and 2 and ends last;
its recall is the highest of the three, its precision 0.03–0.04 lower. At the earlier 3e-4: 0.707
(EGP 0.716, GP 0.729).
`:scratch` (22 min with the test suite running beside it): dev F1 0.594 (P 0.603, R 0.584); after
3 / 6 / 9 / 12 / 15 epochs 0.555 / 0.586 / 0.596 / 0.590 / 0.594 (EGP's 0.582 and GP's 0.579 came
from an earlier session on another machine).
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
