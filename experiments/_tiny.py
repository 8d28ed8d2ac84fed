"""A seconds-long run of the synthetic "toy" task (flaxnlp.tasks.toy), for smoke tests.

  python launch.py --config experiments/_tiny.py --workdir /tmp/tiny

Variants (`--config experiments/_tiny.py:ARG`, comma-separated): `adamw` (default sgd), `ema`,
`accum` (2 micro-batches per update). Reaches exact_match ≈ 1.0 on the eval split in ~200 steps.
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import toy


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """Tiny toy-task config; see the module docstring for the variants."""
  variants = configs.variant_set(arg, ("adamw", "ema", "accum"))
  c = configs.base_config()
  c.task = "toy"
  c.task_args = toy.ToyTask.task_args()
  c.optimizer.name = "adamw" if "adamw" in variants else "sgd"
  c.optimizer.learning_rate = 0.05 if "adamw" in variants else 0.5
  c.optimizer.schedule = "constant"
  c.optimizer.ema = 0.9 if "ema" in variants else 0.0
  c.optimizer.grad_accum_steps = 2 if "accum" in variants else 1
  c.train.batch_size = 8
  c.train.eval_batch_size = 8
  c.train.num_steps = 12
  c.train.buckets = (8, 12)
  c.train.log_every = 4
  c.train.eval_every = 6
  c.train.checkpoint_every = 4
  c.train.keep_checkpoints = 2
  c.train.best_metric = "exact_match"
  c.lock()
  return c
