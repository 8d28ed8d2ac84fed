"""The memorisation recipe the learning tests share (ner_learning_test.py,
reading_comprehension_learning_test.py, gplinker_learning_test.py, roformer_test.py): a tiny
dropout-free encoder that the real trainer fits to a small training subset, then evaluated on
that same subset."""
import ml_collections

from flaxnlp import configs


def memorisation_config(task: str, task_args: ml_collections.ConfigDict, *, num_steps: int,
                        learning_rate: float, num_hidden_layers: int = 2,
                        architecture: str = "bert", buckets: tuple[int, ...] = (64, 128),
                        eval_batch_size: int = 64) -> ml_collections.ConfigDict:
  """Locked config: `task` on an encoder of `num_hidden_layers` layers (hidden 64, 2 heads, FFN
  128, no dropout), AdamW at a constant `learning_rate`, batch 16 for `num_steps` steps, evaluated
  once at the end on the training split, one checkpoint at the end."""
  c = configs.base_config()
  c.task = task
  c.task_args = task_args
  c.model = configs.bert_config(architecture=architecture, hidden_size=64,
                                num_hidden_layers=num_hidden_layers, num_attention_heads=2,
                                intermediate_size=128, hidden_dropout_prob=0.0,
                                attention_probs_dropout_prob=0.0)
  c.optimizer.name = "adamw"
  c.optimizer.learning_rate = learning_rate
  c.optimizer.schedule = "constant"
  c.train.batch_size = 16
  c.train.eval_batch_size = eval_batch_size
  c.train.num_steps = num_steps
  c.train.buckets = buckets
  c.train.eval_split = "train"
  c.train.eval_every = 0
  c.train.checkpoint_every = num_steps
  c.lock()
  return c
