"""CLUENER2020 (10 types) with GlobalPointer on a random-init BERT: train → dev (blog 8373's GP).

  python launch.py --config experiments/ner_cluener_gp.py --workdir runs/cluener_gp
  python launch.py --config experiments/ner_cluener_gp.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/cluener_gp_bert

Same data, model, schedule and variants as experiments/ner_cluener_egp.py (see its docstring for
the data and where to get it), with the GP head: one q/k projection per type, 98,432·H parameters
at D = 768 instead of EGP's 98,432 + 258·H.

Published (ALGORITHMS §4.6, BERT-base, `:pretrained`): GP dev 80.03 / test 79.44.
Target from scratch: dev F1 ≥ 0.70 (official BiLSTM-CRF). Measured here: not run (the EGP
config's 600-step run reached dev F1 0.467, see experiments/ner_cluener_egp.py).
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import ner

NUM_TRAIN = 10748


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """CLUENER + GP config; `arg` ∈ {None, "pretrained"}."""
  if arg not in (None, "", "pretrained"):
    raise ValueError(f"unknown variant {arg!r}; one of (default) | pretrained")
  c = configs.base_config()
  c.task = "ner"
  c.task_args = ner.ner_task_args(dataset="cluener", head="gp", maxlen=64, loss="dense")
  c.model = configs.bert_config(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                                intermediate_size=1024)
  c.optimizer.name = "adamw"
  c.optimizer.learning_rate = 1e-3
  c.optimizer.weight_decay = 0.01
  c.optimizer.schedule = "linear"
  c.train.batch_size = 32
  c.train.num_steps = 20 * NUM_TRAIN // 32
  c.optimizer.warmup_steps = c.train.num_steps // 10
  c.train.buckets = (32, 64)
  c.train.eval_every = 2 * NUM_TRAIN // 32
  c.train.checkpoint_every = c.train.eval_every
  c.train.eval_batch_size = 64
  c.train.best_metric = "f1"
  if arg == "pretrained":
    ner.use_pretrained_bert_setup(c, NUM_TRAIN)
    c.train.eval_every = c.train.checkpoint_every = NUM_TRAIN // 16   # every epoch
  c.lock()
  return c
