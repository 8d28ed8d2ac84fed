"""The task contract: everything the trainer knows about a task, and nothing it has to guess.

A task turns original files into examples, examples into features, features into padded batches,
and owns its model, loss, on-device prediction, host-side decoding and metrics. The trainer
(`flaxnlp.train`) reaches a task only through `flaxnlp.tasks.registry` and calls only the methods
below; the ones with a body are defaults a task may override.

Conventions:
  * arguments: a task declares every field of `config.task_args` with its default once
    (`default_args`); the constructor merges the config over them (`self.args`) and rejects an
    unknown key naming the closest field. It reads no data and changes nothing in the config;
  * dataset resolution: what the data decides (label sets, an event schema: `data_fields`) is
    filled into the arguments by `resolve_args`, the one step that reads the dataset's files for it
    (`flaxnlp.tasks.registry.resolve` on a whole config; the trainer records its result in the
    workdir's config.json, so eval / predict rebuild the same heads without the data);
  * examples are plain Python objects produced by `flaxnlp.data.formats` readers;
  * `featurize` returns unpadded numpy arrays for one example; `collate` pads a list of them to a
    fixed `length` (one of the trainer's sequence-length buckets) and adds per-batch labels (sparse
    GlobalPointer labels depend on the padded length, so they are built here, per batch);
    token id 0 is padding (`pad`, `token_lengths`);
  * params may be boxed with `nn.with_logical_partitioning`: `init_params` returns them boxed and
    the trainer maps the logical names to the mesh (`config.sharding_rules`);
  * `loss` and `predict` are pure and jit-able (they run the model through `apply`); `decode` and
    `metrics` run on the host;
  * a warm start loads an encoder checkpoint into the params subtree `encoder_key`.
"""
from __future__ import annotations

import abc
import difflib
import functools
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from flaxnlp.data import windows as windows_lib
from flaxnlp.models import checkpoints, warm_start

Batch = Mapping[str, np.ndarray]
Features = Mapping[str, np.ndarray]


def merge_args(defaults: ml_collections.ConfigDict, given: Mapping[str, Any],
               where: str = "task_args") -> ml_collections.ConfigDict:
  """`defaults` with the fields of `given` written over them (nested dicts merged field by field).

  Raises:
    ValueError: a key of `given` is not a field of `defaults`; the message names the closest.
  """
  for key in given:
    if key not in defaults:
      close = difflib.get_close_matches(key, list(defaults), n=1)
      hint = f"; did you mean {close[0]!r}?" if close else ""
      raise ValueError(f"unknown field {where}.{key}{hint} (fields: {', '.join(sorted(defaults))})")
    value = given[key]
    nested = isinstance(value, Mapping | ml_collections.ConfigDict)
    if isinstance(defaults[key], ml_collections.ConfigDict) and nested:
      merge_args(defaults[key], value, f"{where}.{key}")
    else:
      defaults[key] = value
  return defaults


def resolved(args: ml_collections.ConfigDict, field: str) -> tuple:
  """`args[field]` as a tuple: a label set `Task.resolve_args` fills in from the data.

  Raises:
    ValueError: the field is empty, i.e. the task's arguments were never resolved.
  """
  if not args[field]:
    raise ValueError(f"task_args.{field} is empty: resolve the dataset first "
                     "(flaxnlp.tasks.registry.resolve(config) reads it from the data)")
  return tuple(args[field])


def pad(rows: Sequence[np.ndarray], length: int, dtype=np.int32) -> np.ndarray:
  """Stacks 1-D arrays into [len(rows), length], each left-aligned and 0-padded."""
  out = np.zeros((len(rows), length), dtype)
  for i, row in enumerate(rows):
    out[i, :len(row)] = row
  return out


def token_lengths(batch: Batch) -> np.ndarray:
  """int [B]: the non-padding tokens of each row of `batch["token_ids"]` (host side)."""
  return (np.asarray(batch["token_ids"]) != 0).sum(axis=1)


class Task(abc.ABC):
  """Base class of every task. Subclasses are registered with `flaxnlp.tasks.registry.register`.

  Attributes:
    config: the experiment config, as given.
    args: `config.task_args` merged over `default_args()`, every field present.
  """

  # Params subtree a warm start replaces (`warm_start`); () = the whole model is the encoder.
  encoder_key: ClassVar[tuple[str, ...]] = ("encoder",)
  # Keys from the params root to the token-embedding matrix [V, D] (FGM perturbs it).
  embedding_path: ClassVar[tuple[str, ...]] = ("encoder", "embeddings", "word_embeddings",
                                               "embedding")
  # Training examples that `config.train.holdout_fraction` keeps on one side (e.g. questions on
  # one article): example -> group key; None = every example its own group.
  holdout_group: ClassVar[Callable[[Any], Hashable] | None] = None
  # The `task_args` fields the dataset decides (e.g. "types"), each with the function of the
  # complete arguments that reads it from the data (or checks a given value); see `resolve_args`.
  data_fields: ClassVar[Mapping[str, Callable[[ml_collections.ConfigDict], Any]]] = {}

  def __init__(self, config: ml_collections.ConfigDict):
    self.args = merge_args(self.default_args(), config.task_args, "config.task_args")
    if config.is_locked:
      self.args.lock()
    self.config = config

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """Every field of `config.task_args` with its default (a new ConfigDict on every call)."""
    return ml_collections.ConfigDict()

  @classmethod
  def task_args(cls, **overrides) -> ml_collections.ConfigDict:
    """`default_args()` with `overrides` merged over them (an unknown key is a ValueError)."""
    return merge_args(cls.default_args(), overrides)

  @classmethod
  def resolve_args(cls, args: Mapping[str, Any]) -> ml_collections.ConfigDict:
    """The complete arguments (`args` merged over `default_args()`) with every `data_fields`
    field filled in by its function (e.g. the entity types of the user's training file), read
    from the dataset's files; `args` is left unchanged. Applied again to its own result it reads
    only to check, and returns the same."""
    resolved = merge_args(cls.default_args(), args, "config.task_args")
    for field, read in cls.data_fields.items():
      resolved[field] = read(resolved)
    return resolved

  # ---- Model ------------------------------------------------------------------------------------
  @abc.abstractmethod
  def build_model(self) -> nn.Module:
    """The Linen module whose params the trainer initialises, shards and optimises."""

  @functools.cached_property
  def model(self) -> nn.Module:
    """`build_model()`, built once."""
    return self.build_model()

  def model_inputs(self, batch: Batch) -> tuple:
    """Positional arguments of the model's `__call__` for `batch` (init and `apply`):
    token_ids [B, N], then segment_ids [B, N] when the batch has them."""
    return (batch["token_ids"],) + ((batch["segment_ids"],) if "segment_ids" in batch else ())

  def init_params(self, rng: jax.Array, batch: Batch):
    """Params (boxed with their logical axis names) from `model.init` on `model_inputs(batch)`."""
    return self.model.init({"params": rng, "dropout": rng}, *self.model_inputs(batch))["params"]

  def apply(self, params, batch: Batch, rng: jax.Array | None = None, *,
            deterministic: bool = True, perturbations=None, method=None, inputs=None):
    """The model on `model_inputs(batch)` (or on `inputs`), through `method` (default __call__).

    `rng` seeds dropout; `perturbations` (a Flax "perturbations" collection) is added to the
    perturbed intermediate values (the token embeddings) for the input-gradient penalty.
    """
    variables = {"params": params}
    if perturbations is not None:
      variables["perturbations"] = perturbations
    return self.model.apply(variables, *(self.model_inputs(batch) if inputs is None else inputs),
                            deterministic=deterministic, method=method,
                            rngs=None if rng is None else {"dropout": rng})

  def zero_perturbations(self, batch: Batch, rng: jax.Array):
    """Zeros shaped like the model's "perturbations" collection for `batch` (jit-able)."""
    shapes = jax.eval_shape(lambda: self.model.init({"params": rng, "dropout": rng},
                                                    *self.model_inputs(batch)))
    if "perturbations" not in shapes:
      raise ValueError("input_gradient_penalty: the model has no `self.perturb(...)` call")
    return jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes["perturbations"])

  def pretrained_params(self, checkpoint: str):
    """The encoder params of `checkpoint` (HF or Google directory), as `warm_start` merges them."""
    return checkpoints.load_pretrained(checkpoint)[1]

  def warm_start(self, params, shardings, checkpoint: str, *, allow_partial: bool = False):
    """`params` with the subtree `encoder_key` loaded from `checkpoint`, and what loaded.

    Strict (`flaxnlp.models.warm_start.merge_pretrained`): a shape mismatch, or encoder leaves
    the checkpoint lacks without `allow_partial`, is a UserError. Returns (params, report).
    """
    return warm_start.merge_pretrained(params, shardings, self.pretrained_params(checkpoint),
                                        self.encoder_key, allow_partial=allow_partial)

  @abc.abstractmethod
  def dummy_batch(self, batch_size: int, length: int) -> Batch:
    """A batch of the right structure (used to initialise params and compile steps)."""

  # ---- Data -------------------------------------------------------------------------------------
  @abc.abstractmethod
  def examples(self, split: str) -> Sequence[Any]:
    """All examples of `split` ("train", "eval", "test", ...), read from the original files."""

  @abc.abstractmethod
  def featurize(self, example: Any, *, train: bool, rng: np.random.Generator) -> Features:
    """Unpadded arrays for one example; must contain "token_ids" (its length drives bucketing)."""

  @abc.abstractmethod
  def collate(self, features: Sequence[Features], length: int) -> Batch:
    """Pads `features` to `length` tokens and stacks them into a batch with leading axis B."""

  # ---- Loss and prediction (on device) ----------------------------------------------------------
  @abc.abstractmethod
  def loss(self, params, batch: Batch, rng: jax.Array, *, deterministic: bool,
           perturbations=None) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Scalar training loss and auxiliary scalars for one batch (pure, jit-able)."""

  @abc.abstractmethod
  def predict(self, params, batch: Batch) -> Any:
    """On-device predictions for one batch (pure, jit-able): a pytree of arrays with axis 0 = B."""

  # ---- Host side --------------------------------------------------------------------------------
  @abc.abstractmethod
  def decode(self, outputs: Any, batch: Batch, examples: Sequence[Any]) -> list[Any]:
    """Turns `predict` outputs (numpy) for a batch into one prediction per example."""

  @abc.abstractmethod
  def metrics(self, predictions: Sequence[Any], examples: Sequence[Any]) -> dict[str, float]:
    """Dataset-level metrics of `predictions` against the gold `examples`."""

  def from_json(self, obj: Any) -> Any:
    """Predict mode: one input JSON value → an example (default: the value itself).

    A KeyError (a missing field), TypeError or ValueError is reported as the input's line.
    """
    return obj

  def to_json(self, example: Any, prediction: Any) -> Any:
    """Predict mode: the output JSON value of one example (default: input and prediction)."""
    return {"input": example, "prediction": prediction}

  def predict_windows(self, example: Any) -> list[windows_lib.Window] | None:
    """Predict mode: the overlapping character windows of `example.text` the model reads in turn
    (`flaxnlp.data.windows.text_windows`; `flaxnlp.train.predict_io` makes each window an
    example with that part of the text), or None (the default) / one window to read `example`
    whole."""
    del example
    return None

  def merge_windows(self, example: Any, windows: Sequence[windows_lib.Window],
                    predictions: Sequence[Any]) -> Any:
    """Predict mode: the prediction of the whole `example` from its windows' predictions (in
    window order, offsets relative to each window), by `flaxnlp.data.windows.merge`'s rule."""
    raise NotImplementedError(f"{type(self).__name__} reads no windows")

  def truncates(self, example: Any) -> bool:
    """Predict mode: True when the model reads only part of `example` (the count is reported)."""
    del example
    return False
