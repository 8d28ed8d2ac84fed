"""GPLinker (blogs 8888, 8926): the model and task machinery of relation and event extraction.

Model: an encoder and three Efficient GlobalPointer heads, each given by a `HeadSpec` (name,
types, RoPE, tril mask); it returns their [B, H_i, N, N] logits in order. Labels: sparse pair
sets per head (`gplinker_labels`), built per batch in `collate` for the padded length N, under
the keys `label_keys` (one per head, in the model's order); loss: sparse ZLPR with mask_zero per
head, summed over heads, mean over the batch (`gplinker_labels.gplinker_loss`).

Predict mode reads a text longer than `task_args.maxlen` tokens in overlapping windows
(`predict_windows`; each task's `merge_windows` merges their predictions).

A task subclasses `GPLinkerTask` and supplies `head_specs()`, `empty_feature()` and
`pair_sets(feature)` (the per-head pair sets of one featurised example).
"""
from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import NamedTuple

import flax.linen as nn
import numpy as np

from flaxnlp import paths
from flaxnlp.data import windows as windows_lib
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.layers import global_pointer
from flaxnlp.models import bert, encoders
from flaxnlp.tasks import base, gplinker_labels


class HeadSpec(NamedTuple):
  """One Efficient GlobalPointer head: param name, number of types, RoPE, tril mask."""
  name: str
  types: int
  use_rope: bool
  tril_mask: bool


class GPLinkerModel(nn.Module):
  """Encoder ("encoder") + one EGP head per `HeadSpec`; returns their [B, H, N, N] logits."""
  config: bert.BertConfig
  heads: tuple[HeadSpec, ...]
  head_size: int = 64

  @nn.compact
  def __call__(self, token_ids, deterministic: bool = True):
    hidden = encoders.build_encoder(self.config, name="encoder")(
        token_ids, deterministic=deterministic).last_hidden_state
    mask = token_ids != 0
    return tuple(global_pointer.EfficientGlobalPointer(
        h.types, self.head_size, use_rope=h.use_rope, tril_mask=h.tril_mask, name=h.name)(
            hidden, mask) for h in self.heads)


class GPLinkerTask(base.Task):
  """Shared parts of the GPLinker tasks: tokenizer, cached examples, model, collate, loss,
  predict."""

  label_keys: tuple[str, ...]  # batch key of each head's sparse labels, in the model's order

  def __init__(self, config):
    super().__init__(config)
    self.tokenizer = Tokenizer.from_vocab(self.args.vocab or paths.chinese_bert_vocab())
    self._examples: dict[str, list] = {}

  @abc.abstractmethod
  def read_split(self, split: str) -> list:
    """The examples of `split` as read from the data, checked against the task's labels."""

  def examples(self, split: str) -> list:
    """`read_split(split)` read once; "train" cut to `task_args.max_train_examples` (0 = all)."""
    if split not in self._examples:
      examples = self.read_split(split)
      if split == "train" and self.args.max_train_examples:
        examples = examples[:int(self.args.max_train_examples)]
      self._examples[split] = examples
    return self._examples[split]

  @abc.abstractmethod
  def head_specs(self) -> tuple[HeadSpec, ...]:
    """The heads, in the order of `label_keys`."""

  @abc.abstractmethod
  def empty_feature(self) -> dict[str, np.ndarray]:
    """A featurised example with no labels (the rows of `dummy_batch`)."""

  @abc.abstractmethod
  def pair_sets(self, feature) -> Sequence[Sequence[set]]:
    """Per head, its per-type sets of token pairs (h, t) for one featurised example."""

  def build_model(self) -> GPLinkerModel:
    return GPLinkerModel(encoders.encoder_config(self.config.model), self.head_specs(),
                         int(self.args.head_size))

  def encode(self, text: str):
    """`Tokenizer.encode(text, maxlen=task_args.maxlen)`."""
    return self.tokenizer.encode(text, maxlen=int(self.args.maxlen))

  def predict_windows(self, example):
    """Windows of `task_args.maxlen` tokens (`flaxnlp.data.windows.text_windows`)."""
    return windows_lib.text_windows(self.tokenizer, example.text, int(self.args.maxlen))

  def dummy_batch(self, batch_size: int, length: int):
    return self.collate([self.empty_feature()] * batch_size, length)

  def collate(self, features, length: int):
    """token_ids [B, N]; per head, sparse labels [B, H, K] of pair indices h·N + t."""
    sets = [self.pair_sets(f) for f in features]
    return {"token_ids": base.pad([f["token_ids"] for f in features], length),
            **gplinker_labels.pack_head_labels(sets, self.label_keys, length)}

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    logits = self.apply(params, batch, rng, deterministic=deterministic,
                        perturbations=perturbations)
    return gplinker_labels.gplinker_loss(logits, batch, self.label_keys), {}

  def predict(self, params, batch):
    """The heads' float32 logits, in the order of `label_keys`."""
    return self.apply(params, batch)
