"""Multi-label text classification with the ZLPR loss (task "classification").

Model: BERT → [CLS] hidden state → dropout → dense → one score s_c per label (float32).
Loss: ZLPR `multilabel_categorical_crossentropy` (blog 7359 / 9064), mean over the batch; with
`label_smoothing` ε the binary targets become t = (1 − ε)·y + ε/2 (soft-label ZLPR).
Prediction: labels with s_c > 0 (the fixed threshold class); calibrated probability σ(2s).
Metrics: micro / macro F1 over label ids (`flaxnlp.metrics.classification`).

`config.task_args`: see `ClassificationTask.default_args`. Datasets (`task_args.dataset`: the
GoEmotions preset, or your own "tsv" / "jsonl" files in `task_args.files`, labels given or read
from the training file and saved in the config) and their splits "train", "eval", "test":
`flaxnlp.data.classification_datasets`.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp
import ml_collections
import numpy as np

from flaxnlp import losses
from flaxnlp.data import classification_datasets
from flaxnlp.data.formats import goemotions
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.layers import dropout as dropout_lib
from flaxnlp.metrics import classification as cls_metrics
from flaxnlp.models import bert
from flaxnlp.models import encoders
from flaxnlp.tasks import base, registry

SPLIT_FILES = classification_datasets.SPLIT_FILES


class BertMultiLabel(nn.Module):
  """BERT encoder ("encoder") + a dense label scorer ("classifier") on the [CLS] state."""
  config: bert.BertConfig
  num_labels: int
  dropout: float = 0.1

  @nn.compact
  def __call__(self, token_ids, segment_ids=None, deterministic: bool = True):
    """int [B, N] tokens (0 = padding) → float32 scores [B, num_labels]."""
    out = encoders.build_encoder(self.config, name="encoder")(token_ids, segment_ids,
                                                 deterministic=deterministic)
    h = dropout_lib.Dropout(self.dropout)(out.last_hidden_state[:, 0], deterministic=deterministic)
    dense = nn.Dense(self.num_labels, dtype=jnp.float32, name="classifier",
                     kernel_init=nn.with_logical_partitioning(
                         nn.initializers.normal(self.config.initializer_range), ("embed", None)))
    return dense(h.astype(jnp.float32))


@registry.register("classification")
class ClassificationTask(base.Task):
  """Multi-label classification of single texts; examples are `MultiLabelExample`s."""

  data_fields = {"labels": classification_datasets.label_names}

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """Every field of `config.task_args` of the "classification" task, with its default.

    Fields:
      dataset: "goemotions" (the preset in `data_dir`) | "tsv" | "jsonl" (your `files`).
      data_dir: the preset's train.tsv / dev.tsv / test.tsv + labels.txt (GoEmotions format).
      files: `train` / `eval` / `test` paths of a file format ("" = none; test optional) and
        `labels`, an optional file of label names, one per line.
      labels: the label names in id order; () = those of labels.txt (the preset) or
        `files.labels`, else the sorted labels of the training file, filled in by `resolve_args`.
      vocab: BERT vocab.txt; lowercase; maxlen: tokens incl. [CLS]/[SEP]; label_smoothing ε;
      classifier_dropout.
    """
    c = ml_collections.ConfigDict(dict(
        dataset="goemotions", files=dict(train="", eval="", test="", labels=""), labels=(),
        lowercase=True, maxlen=64, label_smoothing=0.0, classifier_dropout=0.1))
    c.data_dir = ml_collections.config_dict.placeholder(str)
    c.vocab = ml_collections.config_dict.placeholder(str)
    return c

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    classification_datasets.check(self.args)
    self.label_names = base.resolved(self.args, "labels")
    self.num_labels = len(self.label_names)
    self._examples: dict[str, list[goemotions.MultiLabelExample]] = {}

  @functools.cached_property
  def tokenizer(self):
    """The WordPiece tokenizer of `task_args.vocab` (built on first use)."""
    if not self.args.vocab:
      raise ValueError("config.task_args.vocab is not set (path of a BERT vocab.txt)")
    return Tokenizer.from_vocab(self.args.vocab, lowercase=self.args.lowercase)

  def build_model(self) -> nn.Module:
    return BertMultiLabel(encoders.encoder_config(self.config.model), self.num_labels,
                          float(self.args.classifier_dropout))

  def dummy_batch(self, batch_size: int, length: int):
    return {"token_ids": np.ones((batch_size, length), np.int32),
            "segment_ids": np.zeros((batch_size, length), np.int32),
            "labels": np.zeros((batch_size, self.num_labels), np.float32)}

  def examples(self, split: str) -> Sequence[goemotions.MultiLabelExample]:
    if split not in self._examples:
      self._examples[split] = classification_datasets.read_split(self.args, split,
                                                                 self.label_names)
    return self._examples[split]

  def featurize(self, example, *, train: bool, rng: np.random.Generator):
    del train, rng  # deterministic featurisation
    enc = self.tokenizer.encode(example.text, maxlen=int(self.args.maxlen))
    labels = np.zeros(self.num_labels, np.float32)
    labels[list(example.labels)] = 1.0
    return {"token_ids": np.asarray(enc.ids, np.int32),
            "segment_ids": np.asarray(enc.segment_ids, np.int32), "labels": labels}

  def collate(self, features, length: int):
    return {"token_ids": base.pad([f["token_ids"] for f in features], length),
            "segment_ids": base.pad([f["segment_ids"] for f in features], length),
            "labels": np.stack([f["labels"] for f in features])}

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    """Mean ZLPR of the label scores s [B, num_labels] (float32); aux: label accuracy."""
    s = self.apply(params, batch, rng, deterministic=deterministic, perturbations=perturbations)
    eps = float(self.args.label_smoothing)
    targets = batch["labels"] * (1.0 - eps) + 0.5 * eps
    loss = losses.multilabel_categorical_crossentropy(s, targets).mean()
    return loss, {"label_accuracy": jnp.mean((s > 0) == (batch["labels"] > 0.5))}

  def predict(self, params, batch):
    return self.apply(params, batch) > 0

  def decode(self, outputs, batch, examples):
    del batch, examples
    return [tuple(int(i) for i in np.flatnonzero(row)) for row in np.asarray(outputs)]

  def metrics(self, predictions, examples):
    return cls_metrics.multilabel_f1(predictions, [ex.labels for ex in examples],
                                     self.num_labels)

  def from_json(self, obj) -> goemotions.MultiLabelExample:
    """Predict-mode input `{"text": ..., ["labels": [ids]], ["id": ...]}` or a bare string."""
    if isinstance(obj, str):
      return goemotions.MultiLabelExample(obj, ())
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
      raise ValueError('expected a JSON string or an object with a string "text", got '
                       f"{obj!r:.200}")
    return goemotions.MultiLabelExample(obj["text"], tuple(obj.get("labels", ())), obj.get("id"))

  def truncates(self, example) -> bool:
    """True when the text has more than `maxlen` tokens with [CLS]/[SEP] (the model reads the
    first ones: a label depends on the whole text, so windows would not do)."""
    return len(self.tokenizer.tokenize(example.text)) + 2 > int(self.args.maxlen)

  def to_json(self, example, prediction):
    """Predict-mode output: the text, its id and the predicted label ids and names."""
    return {"id": example.id, "text": example.text, "labels": list(prediction),
            "label_names": [self.label_names[i] for i in prediction]}



def task_args(data_dir: str | None = None, vocab: str | None = None, **overrides
              ) -> ml_collections.ConfigDict:
  """`ClassificationTask.task_args` with `data_dir` and `vocab` positional."""
  return ClassificationTask.task_args(data_dir=data_dir, vocab=vocab, **overrides)
