"""People's Daily NER (PER/LOC/ORG, char BIO) with Efficient GlobalPointer — NOT comparable numbers.

  python launch.py --config experiments/ner_peoples_daily_egp.py --workdir runs/pd_egp
  python launch.py --config experiments/ner_peoples_daily_egp.py:scratch --workdir runs/pd_egp_scratch
  python launch.py --config experiments/ner_peoples_daily_egp.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/pd_egp_bert

Data: `../shared/data/people_daily_ner/example.dev` (2,318 sentences) and `example.test` (4,636),
from github.com/zjy-ucas/ChineseNER (the `china-people-daily-ner-corpus` files bojone uses).
`example.train` (20,864 sentences) is not in the shared data, so the task trains on `example.test`
(the larger file) and evaluates on `example.dev`: scores are NOT comparable to the published ones.
Put all three files in `--config.task_args.data_dir` to get the official train → dev split (and
`--config.train.eval_split=test`).

Variants and expected dev F1 (2-core CPU, no GPU; docs/results.md#peoples-daily):
  `:zh-small` (default): zh-small, AdamW 3e-4 (ELECTRA-Small's fine-tuning rate), 10 epochs =
    1,448 steps: 0.796 in 36.4 min.
  `:scratch`: random-init 4-layer BERT (hidden 256), EGP d = 64, maxlen 256 (evaluation 512),
    batch 32, AdamW 1e-3, 20 epochs: not run at 20 epochs; at zh-small's budget
    (`--config.train.num_steps=1448 --config.optimizer.warmup_steps=144`) 0.555 in 25.9 min.
  `:pretrained`: BERT-base with the official train set: not run; published (blogs 8373, 8877)
    EGP dev 96.10 / test 95.36, GP 96.25 / 95.51, CRF 96.39 / 95.46; GP without RoPE 54.35 / 62.59.
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import ner

NUM_TRAIN = 4636


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """People's Daily + EGP config; `arg` ∈ {None, "scratch", "zh-small", "pretrained"};
  None is `configs.DEFAULT_START`."""
  variant = configs.variant(arg, ("scratch", "zh-small", "pretrained"), configs.DEFAULT_START)
  c = configs.ner_fine_tuning(
      variant, ner.NerTask.task_args(dataset="peoples_daily", head="egp", maxlen=256,
                                     eval_maxlen=512, loss="dense"),
      num_train=NUM_TRAIN, epochs=20 if variant == "scratch" else 10, eval_every_epochs=2,
      batch_size=32, learning_rate=1e-3 if variant == "scratch" else 3e-4,
      buckets=(32, 64, 128, 256, 512))
  c.lock()
  return c
