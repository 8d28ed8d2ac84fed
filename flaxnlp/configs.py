"""The base experiment config every `experiments/*.py` starts from.

An experiment's `get_config(arg=None)` calls `base_config()`, fills in its task, model and data,
and returns the config locked (`config.lock()`), so a misspelled override is an error.

`to_json` / `from_json` are the workdir's `config.json`: written at train time, read back by
`--mode eval|predict` as the same locked config (JSON lists become the tuples configs use, JSON
nulls the `placeholder(str)` fields they were).
"""
import json
import pathlib
from collections.abc import Sequence
from typing import Any

import ml_collections
from ml_collections import config_dict

from flaxnlp import paths
from flaxnlp.errors import UserError

# Encoder sizes (HF `BertConfig` fields) every experiment picks from by name.
ENCODER_SIZES = {
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=512),     # the from-scratch set-ups (`:scratch`)
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=1024),   # the shipped zh-small encoder's size (a RoFormer)
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072),    # BERT-base (the posts' set-ups, `:pretrained`)
}


def bert_config(**overrides) -> ml_collections.ConfigDict:
  """Encoder hyper-parameters with HF `BertConfig` field names (defaults: a small random BERT).

  `architecture` ("bert" | "roformer" | "roformer_v2") picks the encoder config class
  (`flaxnlp.models.encoder_config`); RoFormer-only fields (embedding_size, rotary_value) are
  added through `overrides`. RoFormer-V2 as released uses hidden_act="relu", layer_norm_eps=1e-7.
  """
  c = ml_collections.ConfigDict(dict(
      architecture="bert",
      vocab_size=21128, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
      intermediate_size=1024, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
      layer_norm_eps=1e-12, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
      dtype="float32", remat=False))
  c.update(overrides)
  return c


# How a Chinese experiment starts when no variant says ("scratch" | "zh-small"): fine-tuned from
# the shipped `weights/zh-small` (experiments/pretrain_zh_small.py made it).
DEFAULT_START = "zh-small"


def encoder(size: str, **overrides) -> ml_collections.ConfigDict:
  """`bert_config` of a named size in ENCODER_SIZES ("tiny" | "small" | "base"), plus `overrides`."""
  if size not in ENCODER_SIZES:
    raise UserError(f"unknown encoder size {size!r}; one of {' | '.join(ENCODER_SIZES)}")
  return bert_config(**{**ENCODER_SIZES[size], **overrides})


def variant(arg: str | None, choices: Sequence[str], default: str) -> str:
  """The variant an experiment's `get_config(arg)` was given (None: `default`).

  Raises:
    UserError: `arg` is not one of `choices` (the message lists them).
  """
  chosen = arg or default
  if chosen not in choices:
    raise UserError(f"unknown variant {arg!r}; one of {' | '.join(choices)}")
  return chosen


def variant_set(arg: str | None, choices: Sequence[str]) -> set[str]:
  """The comma-separated variants of `arg` (None: none), each one of `choices` (else UserError)."""
  chosen = set(filter(None, (arg or "").split(",")))
  if chosen - set(choices):
    valid = ", ".join(choices) or "none (this experiment has no variants)"
    raise UserError(f"unknown variants {sorted(chosen - set(choices))}; valid: {valid}")
  return chosen


# The fine-tuning set-ups of the posts (the `:pretrained` variants), as data: Chinese BERT-base
# from `init_checkpoint` (required), bert4keras Adam at a constant rate, no warm-up, weight decay
# or clipping, `epochs` passes at `batch_size`; `overrides` are the set-up's other fields.
PUBLISHED_SETUPS = {
    # bojone's GlobalPointer / Efficient GlobalPointer NER scripts (github.com/bojone/GlobalPointer)
    "gp_ner": dict(epochs=10, batch_size=16, learning_rate=2e-5, overrides={
        "task_args.maxlen": 256, "task_args.eval_maxlen": 512,
        "train.buckets": (64, 128, 256, 512), "train.eval_batch_size": 16}),
    # GPLinker relation extraction (DuIE)
    "gplinker_re": dict(epochs=20, batch_size=32, learning_rate=2e-5, overrides={}),
    # GPLinker event extraction (DuEE)
    "gplinker_ee": dict(epochs=200, batch_size=32, learning_rate=2e-5, overrides={}),
}


def published_setup(name: str, num_train_examples: int) -> dict[str, Any]:
  """Dotted-path overrides (for `ConfigDict.update_from_flattened_dict`) that turn an experiment
  into the published set-up `name` of PUBLISHED_SETUPS on `num_train_examples` examples."""
  if name not in PUBLISHED_SETUPS:
    raise UserError(f"unknown published set-up {name!r}; one of {' | '.join(PUBLISHED_SETUPS)}")
  setup = PUBLISHED_SETUPS[name]
  steps_per_epoch = -(-num_train_examples // setup["batch_size"])
  return {**{f"model.{k}": v for k, v in encoder("base").items()},
          "init_checkpoint_required": True,
          "optimizer.name": "adamw", "optimizer.learning_rate": setup["learning_rate"],
          "optimizer.schedule": "constant", "optimizer.warmup_steps": 0,
          "optimizer.weight_decay": 0.0, "optimizer.clip_norm": 0.0,
          "train.batch_size": setup["batch_size"],
          "train.num_steps": setup["epochs"] * steps_per_epoch,
          **setup["overrides"]}


def ner_fine_tuning(variant: str, task_args: ml_collections.ConfigDict, *, num_train: int,
                    epochs: int, eval_every_epochs: int, batch_size: int, learning_rate: float,
                    buckets: Sequence[int], eval_batch_size: int = 0) -> ml_collections.ConfigDict:
  """The set-up the epoch-based NER experiments share (unlocked, for their own changes).

  `task_args` are the complete "ner" task_args (`NerTask.task_args(dataset=..., head=...)`; an
  experiment names its task's class, so this module imports no task). `variant` "zh-small"
  warm-starts the shipped encoder, any other starts from `bert_config()`. AdamW at
  `learning_rate` (wd 0.01, 10% warm-up, linear decay), `epochs` passes over `num_train`
  sentences at `batch_size`, length-grouped `buckets` (16 batches per group), evaluation and a
  checkpoint every `eval_every_epochs`, the best kept by eval "f1", evaluation batches of
  `eval_batch_size` (0: `batch_size`). "pretrained" then takes bojone's set-up
  (`published_setup("gp_ner")`), evaluated every epoch.
  """
  c = base_config(warm_start="zh-small" if variant == "zh-small" else "")
  c.task = "ner"
  c.task_args = task_args
  c.optimizer.update(name="adamw", learning_rate=learning_rate, weight_decay=0.01,
                     schedule="linear")
  c.train.update(batch_size=batch_size, num_steps=epochs * num_train // batch_size,
                 buckets=tuple(buckets), length_group_batches=16,
                 eval_every=eval_every_epochs * num_train // batch_size,
                 eval_batch_size=eval_batch_size or batch_size, best_metric="f1")
  c.optimizer.warmup_steps = c.train.num_steps // 10
  c.train.checkpoint_every = c.train.eval_every
  if variant == "pretrained":
    c.update_from_flattened_dict(published_setup("gp_ner", num_train))
    c.train.eval_every = c.train.checkpoint_every = num_train // 16  # every epoch
  return c


def gplinker_fine_tuning(start: str, task: str, task_args: ml_collections.ConfigDict, *,
                         learning_rate: float, num_steps: int) -> ml_collections.ConfigDict:
  """The set-up the GPLinker experiments (relation and event extraction) share (unlocked).

  `start` "zh-small" warm-starts the shipped encoder, "scratch" trains a "tiny" one without
  dropout, any other starts from `bert_config()`. AdamW at `learning_rate` (10% warm-up, linear
  decay, global-norm clipping at 1.0: with 2e-3 and no clipping the post-LN encoder diverged),
  `num_steps` steps of batch 16 over length buckets up to 128 (16 batches per length group),
  evaluation (batch 32) and a checkpoint every 500 steps, the best kept by eval "f1".
  """
  c = base_config(warm_start="zh-small" if start == "zh-small" else "")
  c.task = task
  c.task_args = task_args
  if start == "scratch":
    c.model = encoder("tiny", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
  c.optimizer.update(name="adamw", learning_rate=learning_rate, schedule="linear",
                     clip_norm=1.0, warmup_steps=num_steps // 10)
  c.train.update(batch_size=16, num_steps=num_steps, buckets=(32, 64, 96, 128),
                 length_group_batches=16, eval_every=500, eval_batch_size=32,
                 checkpoint_every=500, best_metric="f1")
  return c


def base_config(warm_start: str = "") -> ml_collections.ConfigDict:
  """Fields shared by all experiments; task-specific settings live under `config.task_args`.

  `warm_start="zh-small"`: the encoder is the shipped `weights/zh-small` (a RoFormer of size
  "small", dropout 0.1), loaded from `paths.zh_small_dir()`; "" leaves `model` at
  `bert_config()` from scratch.
  """
  if warm_start not in ("", "zh-small"):
    raise UserError(f"unknown warm start {warm_start!r}; one of '' | 'zh-small'")
  c = ml_collections.ConfigDict()
  c.task = config_dict.placeholder(str)        # registry name, e.g. "ner"
  c.task_args = ml_collections.ConfigDict()    # task-specific (data paths, heads, lengths, ...)
  c.seed = 0

  c.model = encoder("small", architecture="roformer") if warm_start else bert_config()
  # HF dir or Google TF checkpoint to warm-start from
  c.init_checkpoint = (str(paths.zh_small_dir()) if warm_start
                       else config_dict.placeholder(str))
  c.init_checkpoint_required = False      # True (`:pretrained` variants): training needs init_checkpoint
  c.init_checkpoint_allow_partial = False  # True: a warm start may leave encoder leaves at init

  c.optimizer = ml_collections.ConfigDict(dict(
      name="adamw",            # a key of flaxnlp.optim.registry.OPTIMIZERS: adamw | adam | sgd |
                               # lamb | lion | adafactor | adax | adaxw | tiger
      learning_rate=1e-3,
      b1=0.9, b2=0.999, eps=1e-6,   # bert4keras Adam: eps 1e-6 outside the sqrt
      weight_decay=0.0,
      schedule="linear",       # constant | linear | piecewise_linear
      warmup_steps=0,
      piecewise=(),            # ((step, multiplier), ...) for piecewise_linear (bert4keras)
      clip_norm=0.0,           # global-norm clipping; 0 = off
      grad_accum_steps=1,
      encoder_lr_multiplier=1.0,  # the pretrained encoder's lr / the heads' lr (1 = one lr)
      ema=0.0,                 # EMA decay of params for evaluation; 0 = off
      momentum=0.0,            # sgd only
      beta=0.965,              # tiger only: momentum decay β
      shrink_ratio=0.99,       # tiger only: NaN-gradient shrinkage toward 0 (1 for norm scales)
  ))
  c.regularizer = ml_collections.ConfigDict(dict(
      name="none",             # none | fgm | input_gradient_penalty | param_gradient_penalty
      epsilon=1.0,
      # fgm only: "/"-separated path of the token-embedding matrix in the task's params;
      # "" = the task's own (`Task.embedding_path`).
      embedding_path="",
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
      # > 0: hold out this fraction of the training examples (seeded, `Task.holdout_group`s
      # whole), train on the rest and evaluate on it, not on `eval_split` (flaxnlp.data.holdout).
      holdout_fraction=0.0,
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


def to_json(config: ml_collections.ConfigDict) -> str:
  """The config as indented JSON (tuples become lists, unset placeholders null); see `from_json`."""
  return config.to_json_best_effort(indent=2)


def _from_jsonable(value, field: bool = True):
  """JSON value -> config value: lists become tuples (configs hold no lists), dicts ConfigDicts,
  and a null field (not a null inside a tuple) a placeholder(str)."""
  if isinstance(value, dict):
    c = ml_collections.ConfigDict()
    for k, v in value.items():
      c[k] = _from_jsonable(v)
    return c
  if isinstance(value, list):
    return tuple(_from_jsonable(v, field=False) for v in value)
  if value is None and field:  # every placeholder in a config is a path or name: placeholder(str)
    return config_dict.placeholder(str)
  return value


def from_json(text: str) -> ml_collections.ConfigDict:
  """The locked config that `to_json` wrote (same keys, values and value types)."""
  config = _from_jsonable(json.loads(text))
  config.lock()
  return config


def load_workdir_config(workdir: str | pathlib.Path) -> ml_collections.ConfigDict:
  """The config `workdir` was trained with (`workdir/config.json`), locked."""
  path = pathlib.Path(workdir) / "config.json"
  if not path.is_file():
    raise UserError(f"{path} does not exist: {workdir} was not trained by this version of "
                    f"flaxnlp; pass the training command's --config and overrides")
  return from_json(path.read_text(encoding="utf-8"))


# Fields `--mode eval|predict` may change on a trained workdir's config: how and what to evaluate,
# never the model, the tokenization or the data format. A prefix ending in "." covers its subtree.
EVAL_OVERRIDABLE = ("train.eval_batch_size", "train.eval_split", "train.max_eval_examples",
                    "train.tfds_data_dir", "train.data_workers", "mesh.", "task_args.data_dir",
                    "task_args.files.eval", "task_args.files.test", "task_args.answer_expand",
                    "task_args.threshold")


def check_eval_overrides(saved: ml_collections.ConfigDict, overrides: dict, source: str) -> None:
  """Refuses `overrides` ({dotted path: value}) that change a saved config beyond EVAL_OVERRIDABLE.

  An override equal to the saved value (e.g. the training command repeated) is accepted.
  """
  for path, value in overrides.items():
    if any(path == p or (p.endswith(".") and path.startswith(p)) for p in EVAL_OVERRIDABLE):
      continue
    old = saved
    for part in path.split("."):
      old = old[part]
    if value != old:
      raise UserError(
          f"--config.{path}={value!r}: {source} was trained with {old!r}; evaluation and "
          f"prediction use the model and data format it was trained with, so only these may be "
          f"overridden: {', '.join(EVAL_OVERRIDABLE)} (train a new workdir to change the rest)")
