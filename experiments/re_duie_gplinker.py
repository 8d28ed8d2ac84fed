"""GPLinker relation extraction (blog 8888) on the DuIE 1.0 subset — subset, NOT comparable to the
published 0.8272 (full DuIE 1.0 dev, BERT-base).

  python launch.py --config experiments/re_duie_gplinker.py --workdir runs/re_duie
  python launch.py --config experiments/re_duie_gplinker.py:scratch --workdir runs/re_duie_scratch
  python launch.py --config experiments/re_duie_gplinker.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_roberta_wwm_ext --workdir runs/re_duie_roberta

Data: ../shared/data/duie/duie_v1_subset (train_data.json 2,000 sentences, dev_data.json 200,
all_50_schemas: 49 predicates). The labelling scheme's ceiling at maxlen 128 on this dev set is
F1 0.9853 (13 of 448 gold triples truncated; tests/gplinker_upper_bound_test.py).

Variants and expected dev triple F1 (2-core CPU, no GPU; docs/results.md#duie):
  `:zh-small` (default): zh-small, AdamW 3e-4 (ELECTRA-Small's fine-tuning rate), 10% warm-up,
    linear decay, clipping 1.0, 1,500 steps = 12 epochs: 0.624 in 12.5 min.
  `:scratch`: random-init 2-layer BERT (hidden 128), EGP heads d = 64, maxlen 128, batch 16,
    AdamW 1e-3, 10% warm-up, clipping 1.0, 3,000 steps: 0.123 in 9.0 min.
  `:pretrained`: RoBERTa-wwm-ext base, maxlen 128, batch 32, Adam 2e-5 constant, 20 epochs (the
    GPLinker repository's set-up): not run.
"""
import ml_collections

from flaxnlp import configs

NUM_TRAIN = 2000  # training records of the DuIE subset


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """DuIE-subset GPLinker config; `arg` ∈ {None, "scratch", "zh-small", "pretrained"};
  None is `configs.DEFAULT_START`."""
  variant = configs.variant(arg, ("scratch", "zh-small", "pretrained"), configs.DEFAULT_START)
  c = configs.base_config(warm_start="zh-small" if variant == "zh-small" else "")
  c.task = "relation_extraction"
  c.task_args = configs.task_args("relation_extraction", maxlen=128)
  if variant == "scratch":
    c.model = configs.encoder("tiny", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
  c.optimizer.name = "adamw"
  c.optimizer.learning_rate = 1e-3 if variant == "scratch" else 3e-4
  c.optimizer.schedule = "linear"
  c.optimizer.clip_norm = 1.0  # with 2e-3 and no clipping the post-LN encoder diverged (docs/results.md#duie)
  c.train.batch_size = 16
  c.train.num_steps = 3000 if variant == "scratch" else 1500
  c.train.buckets = (32, 64, 96, 128)
  c.train.length_group_batches = 16  # batches of similar lengths (less padding)
  c.train.eval_every = 500
  c.train.eval_batch_size = 32
  c.train.checkpoint_every = 500
  c.train.best_metric = "f1"
  c.optimizer.warmup_steps = c.train.num_steps // 10
  if variant == "pretrained":
    c.update_from_flattened_dict(configs.published_setup("gplinker_re", NUM_TRAIN))
  c.lock()
  return c
