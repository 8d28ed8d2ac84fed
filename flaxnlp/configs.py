"""The base experiment config every `experiments/*.py` starts from.

An experiment's `get_config(arg=None)` calls `base_config()`, fills in its task, model and data,
and returns the config locked (`config.lock()`), so a misspelled override is an error.
"""
import ml_collections
from ml_collections import config_dict


def bert_config(**overrides) -> ml_collections.ConfigDict:
  """Encoder hyper-parameters with HF `BertConfig` field names (defaults: a small random BERT)."""
  c = ml_collections.ConfigDict(dict(
      vocab_size=21128, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
      intermediate_size=1024, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
      layer_norm_eps=1e-12, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
      dtype="float32", remat=False))
  c.update(overrides)
  return c


def base_config() -> ml_collections.ConfigDict:
  """Fields shared by all experiments; task-specific settings live under `config.task_args`."""
  c = ml_collections.ConfigDict()
  c.task = config_dict.placeholder(str)        # registry name, e.g. "ner"
  c.task_args = ml_collections.ConfigDict()    # task-specific (data paths, heads, lengths, ...)
  c.seed = 0

  c.model = bert_config()
  c.init_checkpoint = config_dict.placeholder(str)  # HF dir or Google TF checkpoint to warm-start from

  c.optimizer = ml_collections.ConfigDict(dict(
      name="adamw",            # adamw | adax | adaxw | sgd
      learning_rate=1e-3,
      b1=0.9, b2=0.999, eps=1e-6,   # bert4keras Adam: eps 1e-6 outside the sqrt
      weight_decay=0.0,
      schedule="linear",       # constant | linear | piecewise_linear
      warmup_steps=0,
      piecewise=(),            # ((step, multiplier), ...) for piecewise_linear (bert4keras)
      clip_norm=0.0,           # global-norm clipping; 0 = off
      grad_accum_steps=1,
      ema=0.0,                 # EMA decay of params for evaluation; 0 = off
      momentum=0.0,            # sgd only
  ))
  c.regularizer = ml_collections.ConfigDict(dict(
      name="none",             # none | fgm | input_gradient_penalty | param_gradient_penalty
      epsilon=1.0,
      # fgm only: "/"-separated path of the token-embedding matrix in the task's params.
      embedding_path="encoder/embeddings/word_embeddings/embedding",
  ))
  c.train = ml_collections.ConfigDict(dict(
      batch_size=32,           # global batch size
      num_steps=1000,
      buckets=(64, 128, 256),  # padded sequence lengths; each compiles once
      log_every=50,
      eval_every=500,
      eval_batch_size=64,
      checkpoint_every=500,
      keep_checkpoints=2,
      best_metric="",          # e.g. "f1"; keeps the best checkpoint by this eval metric
      data_workers=0,
      length_group_batches=1,  # >1: group the examples of this many batches by length
      eval_split="eval",       # split evaluated every `eval_every` steps (and by --mode eval)
      max_eval_examples=0,     # evaluate on the first N examples only; 0 = all
      best_mode="max",         # max | min: direction of best_metric
      # Non-empty: train and evaluate on the task's examples cached as a tfds array_record
      # dataset in this folder (built on first use; flaxnlp.data.builders), read lazily by index.
      tfds_data_dir="",
  ))
  c.mesh = ml_collections.ConfigDict(dict(data=-1, fsdp=1, tensor=1))
  # Logical axis name -> mesh axis (None = replicated). Params carry logical names.
  c.sharding_rules = (("batch", ("data", "fsdp")), ("vocab", "tensor"), ("embed", "fsdp"),
                      ("mlp", "tensor"), ("heads", "tensor"), ("kv", None), ("length", None))
  return c
