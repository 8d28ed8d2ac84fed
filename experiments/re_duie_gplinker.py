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
from flaxnlp.tasks import relation_extraction

NUM_TRAIN = 2000  # training records of the DuIE subset


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """DuIE-subset GPLinker config; `arg` ∈ {None, "scratch", "zh-small", "pretrained"};
  None is `configs.DEFAULT_START`."""
  variant = configs.variant(arg, ("scratch", "zh-small", "pretrained"), configs.DEFAULT_START)
  c = configs.gplinker_fine_tuning(
      variant, "relation_extraction",
      relation_extraction.RelationExtractionTask.task_args(maxlen=128),
      learning_rate=1e-3 if variant == "scratch" else 3e-4,
      num_steps=3000 if variant == "scratch" else 1500)
  if variant == "pretrained":
    c.update_from_flattened_dict(configs.published_setup("gplinker_re", NUM_TRAIN))
  c.lock()
  return c
