"""CLUENER2020 (10 types) with Efficient GlobalPointer on the shipped zh-small encoder: train → dev.

  python launch.py --config experiments/ner_cluener_egp.py --workdir runs/cluener_egp
  python launch.py --config experiments/ner_cluener_egp.py:scratch --workdir runs/cluener_egp_scratch
  python launch.py --config experiments/ner_cluener_egp.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/cluener_egp_bert
  python launch.py --config experiments/ner_cluener_egp.py --workdir runs/cluener_egp \
      --mode predict --input ../shared/data/cluener2020/test.json --output cluener_test_pred.jsonl

Data: `train.json` (10,748) and `dev.json` (1,343) of CLUENER2020 in `../shared/data/cluener2020`
(or `--config.task_args.data_dir=DIR`; from github.com/CLUEbenchmark/CLUENER2020). `test.json` is
unlabelled (leaderboard only): use `--mode predict`.

Variants and expected dev F1 (2-core CPU, no GPU; commit and date in docs/results.md#cluener):
  `:zh-small` (default): zh-small, EGP d = 64, maxlen 64, batch 32, AdamW 1e-3 (chosen on held-out
    training sentences), 5 epochs = 1,679 steps, best checkpoint by dev F1: 0.741 in 20.1 min.
  `:scratch`: random-init 2-layer BERT (hidden 128), AdamW 2e-3, 15 epochs: 0.582 in 16.7 min.
  `:pretrained`: BERT-base, the post's set-up: not run; published (blogs 8373, 8877) EGP dev
    80.66 / test 80.04, GP 80.03 / 79.44, CRF 79.51 / 78.70.
Per-type scores, curves and the learning-rate choice: docs/results.md#cluener.
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import ner

NUM_TRAIN = 10748


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """CLUENER + EGP config; `arg` ∈ {None, "scratch", "zh-small", "pretrained"};
  None is `configs.DEFAULT_START`."""
  variant = configs.variant(arg, ("scratch", "zh-small", "pretrained"), configs.DEFAULT_START)
  scratch = variant == "scratch"
  c = configs.ner_fine_tuning(
      variant, ner.NerTask.task_args(dataset="cluener", head="egp", maxlen=64, loss="dense"),
      num_train=NUM_TRAIN, epochs=15 if scratch else 5,
      eval_every_epochs=1 if variant == "zh-small" else 3, batch_size=32, eval_batch_size=64,
      learning_rate=2e-3 if scratch else 1e-3, buckets=(32, 48, 64))
  if scratch:
    c.model = configs.encoder("tiny")
  c.lock()
  return c
