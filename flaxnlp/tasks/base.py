"""The task protocol: everything the trainer knows about a task.

A task turns original files into examples, examples into features, features into padded batches,
and owns its model, loss, on-device prediction, host-side decoding and metrics. The trainer
(`flaxnlp.train`) only ever talks to this interface, through `flaxnlp.tasks.registry`.

Conventions:
  * examples are plain Python objects produced by `flaxnlp.data.formats` readers;
  * `featurize` returns unpadded numpy arrays for one example; `collate` pads a list of them to a
    fixed `length` (one of the trainer's sequence-length buckets) and adds per-batch labels (sparse
    GlobalPointer labels depend on the padded length, so they are built here, per batch);
  * `loss` and `predict` are pure and jit-able; `decode` and `metrics` run on the host.
"""
from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import ml_collections
import numpy as np

Batch = Mapping[str, np.ndarray]
Features = Mapping[str, np.ndarray]


class Task(abc.ABC):
  """Base class of every task. Subclasses are registered with `flaxnlp.tasks.registry.register`."""

  def __init__(self, config: ml_collections.ConfigDict):
    self.config = config

  @abc.abstractmethod
  def build_model(self) -> nn.Module:
    """The Linen module whose params the trainer initialises, shards and optimises."""

  @abc.abstractmethod
  def dummy_batch(self, batch_size: int, length: int) -> Batch:
    """A batch of the right structure (used to initialise params and compile steps)."""

  @abc.abstractmethod
  def examples(self, split: str) -> Sequence[Any]:
    """All examples of `split` ("train", "eval", "test", ...), read from the original files."""

  @abc.abstractmethod
  def featurize(self, example: Any, *, train: bool, rng: np.random.Generator) -> Features:
    """Unpadded arrays for one example; must contain "token_ids" (its length drives bucketing)."""

  @abc.abstractmethod
  def collate(self, features: Sequence[Features], length: int) -> Batch:
    """Pads `features` to `length` tokens and stacks them into a batch with leading axis B."""

  @abc.abstractmethod
  def loss(self, params, batch: Batch, rng: jax.Array, *, deterministic: bool,
           perturbations=None) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Scalar training loss and auxiliary scalars for one batch (pure, jit-able).

    `perturbations` (optional) is a Flax "perturbations" collection added to intermediate values
    (the token embeddings), used by the input-gradient penalty.
    """

  @abc.abstractmethod
  def predict(self, params, batch: Batch) -> Any:
    """On-device predictions for one batch (pure, jit-able): a pytree of arrays with axis 0 = B."""

  @abc.abstractmethod
  def decode(self, outputs: Any, batch: Batch, examples: Sequence[Any]) -> list[Any]:
    """Host-side: turns `predict` outputs (numpy) for a batch into one prediction per example."""

  @abc.abstractmethod
  def metrics(self, predictions: Sequence[Any], examples: Sequence[Any]) -> dict[str, float]:
    """Dataset-level metrics of `predictions` against the gold `examples`."""
