"""A tiny synthetic task ("toy"): the worked example of the task contract, and the trainer's tests.

Examples are random token sequences (ids 1..V-1, lengths 3..maxlen); label c (of 4) is on when the
sequence contains a token of the c-th quarter of the vocabulary. The model embeds tokens, applies a
ReLU layer, mean-pools over non-padding positions and scores the labels; the loss is ZLPR.
Training featurisation shuffles the token order with the per-record rng (labels are invariant), so
per-epoch random featurisation is exercised.

Everything a task must write is here; the rest (argument merging, params init, `apply`, warm
start, JSON in predict mode) comes from `flaxnlp.tasks.base.Task`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import ml_collections
import numpy as np

from flaxnlp import losses
from flaxnlp.layers import dropout as dropout_lib
from flaxnlp.tasks import base, registry

NUM_LABELS = 4


class ToyModel(nn.Module):
  """Embedding → ReLU dense → masked mean pool → label scores [B, NUM_LABELS] (float32)."""
  vocab_size: int
  hidden: int
  dropout: float

  @nn.compact
  def __call__(self, token_ids, deterministic: bool = True):
    emb = nn.Embed(self.vocab_size, self.hidden, embedding_init=nn.with_logical_partitioning(
        nn.initializers.normal(0.5), ("vocab", "embed")), name="embed")(token_ids)
    emb = self.perturb("token_embeddings", emb)
    h = nn.Dense(2 * self.hidden, kernel_init=nn.with_logical_partitioning(
        nn.initializers.lecun_normal(), ("embed", "mlp")), name="hidden")(emb)
    h = dropout_lib.Dropout(self.dropout)(nn.relu(h), deterministic=deterministic)
    mask = (token_ids > 0)[..., None].astype(h.dtype)
    pooled = (h * mask).sum(1) / jnp.maximum(mask.sum(1), 1.0)
    return nn.Dense(NUM_LABELS, kernel_init=nn.with_logical_partitioning(
        nn.initializers.lecun_normal(), ("mlp", None)), name="out")(pooled)


@registry.register("toy")
class ToyTask(base.Task):
  """Synthetic multi-label task; examples are `{"tokens": [int], "labels": [int]}` dicts."""

  embedding_path = ("embed", "embedding")

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """num_train / num_eval examples, vocab_size, hidden width, maxlen tokens, dropout rate."""
    return ml_collections.ConfigDict(dict(num_train=64, num_eval=32, vocab_size=32, hidden=16,
                                          maxlen=12, dropout=0.1))

  def build_model(self) -> nn.Module:
    return ToyModel(self.args.vocab_size, self.args.hidden, self.args.dropout)

  def dummy_batch(self, batch_size: int, length: int):
    return {"token_ids": np.ones((batch_size, length), np.int32),
            "labels": np.zeros((batch_size, NUM_LABELS), np.float32)}

  def examples(self, split: str) -> Sequence[Any]:
    a = self.args
    n, offset = {"train": (a.num_train, 0), "eval": (a.num_eval, 1)}[split]
    rng = np.random.default_rng(1000 + offset)
    out = []
    quarter = (a.vocab_size - 1) / NUM_LABELS
    for _ in range(n):
      tokens = rng.integers(1, a.vocab_size, size=int(rng.integers(3, a.maxlen + 1))).tolist()
      labels = sorted({int((t - 1) // quarter) for t in tokens})
      out.append({"tokens": tokens, "labels": labels})
    return out

  def featurize(self, example, *, train: bool, rng: np.random.Generator):
    tokens = np.asarray(example["tokens"], np.int32)
    if train:
      tokens = rng.permutation(tokens)
    labels = np.zeros(NUM_LABELS, np.float32)
    labels[example.get("labels", [])] = 1.0
    return {"token_ids": tokens, "labels": labels}

  def collate(self, features, length: int):
    return {"token_ids": base.pad([f["token_ids"] for f in features], length),
            "labels": np.stack([f["labels"] for f in features])}

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    scores = self.apply(params, batch, rng, deterministic=deterministic,
                        perturbations=perturbations)
    loss = losses.multilabel_categorical_crossentropy(scores, batch["labels"]).mean()
    return loss, {"label_accuracy": ((scores > 0) == (batch["labels"] > 0)).mean()}

  def predict(self, params, batch):
    return self.apply(params, batch) > 0

  def decode(self, outputs, batch, examples):
    return [np.flatnonzero(row).tolist() for row in outputs]

  def metrics(self, predictions, examples):
    exact = np.mean([p == ex["labels"] for p, ex in zip(predictions, examples)])
    return {"exact_match": float(exact)}


toy_task_args = ToyTask.task_args
