"""A tiny synthetic task ("toy") for trainer tests and as a minimal example of the Task protocol.

Examples are random token sequences (ids 1..V-1, lengths 3..maxlen); label c (of 4) is on when the
sequence contains a token of the c-th quarter of the vocabulary. The model embeds tokens, applies a
ReLU layer, mean-pools over non-padding positions and scores the labels; the loss is ZLPR.
Training featurisation shuffles the token order with the per-record rng (labels are invariant), so
per-epoch random featurisation is exercised. Importing this module registers the task.
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


def toy_task_args(num_train: int = 64, num_eval: int = 32, vocab_size: int = 32,
                  hidden: int = 16, maxlen: int = 12, dropout: float = 0.1
                  ) -> ml_collections.ConfigDict:
  """Default `config.task_args` of the toy task."""
  return ml_collections.ConfigDict(dict(num_train=num_train, num_eval=num_eval,
                                        vocab_size=vocab_size, hidden=hidden, maxlen=maxlen,
                                        dropout=dropout))


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

  def build_model(self) -> nn.Module:
    a = self.config.task_args
    return ToyModel(a.vocab_size, a.hidden, a.dropout)

  def dummy_batch(self, batch_size: int, length: int):
    return {"token_ids": np.ones((batch_size, length), np.int32),
            "labels": np.zeros((batch_size, NUM_LABELS), np.float32)}

  def examples(self, split: str) -> Sequence[Any]:
    a = self.config.task_args
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
    ids = np.zeros((len(features), length), np.int32)
    for i, f in enumerate(features):
      ids[i, :len(f["token_ids"])] = f["token_ids"]
    return {"token_ids": ids, "labels": np.stack([f["labels"] for f in features])}

  def _scores(self, params, batch, rng=None, deterministic=True, perturbations=None):
    variables = {"params": params}
    if perturbations is not None:
      variables["perturbations"] = perturbations
    return self.build_model().apply(variables, batch["token_ids"], deterministic=deterministic,
                                    rngs=None if rng is None else {"dropout": rng})

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    scores = self._scores(params, batch, rng, deterministic, perturbations)
    loss = losses.multilabel_categorical_crossentropy(scores, batch["labels"]).mean()
    return loss, {"label_accuracy": ((scores > 0) == (batch["labels"] > 0)).mean()}

  def predict(self, params, batch):
    return self._scores(params, batch) > 0

  def decode(self, outputs, batch, examples):
    return [np.flatnonzero(row).tolist() for row in outputs]

  def metrics(self, predictions, examples):
    exact = np.mean([p == ex["labels"] for p, ex in zip(predictions, examples)])
    return {"exact_match": float(exact)}
