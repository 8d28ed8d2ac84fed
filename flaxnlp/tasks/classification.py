"""Multi-label text classification with the ZLPR loss or sigmoid BCE (task "classification").

Model: BERT → [CLS] hidden state → dropout → dense → one score s_c per label (float32).
Loss (`task_args.loss`), mean over the batch: "zlpr", `multilabel_categorical_crossentropy`
(blog 7359 / 9064), or "bce", `sigmoid_binary_crossentropy` (mean over the labels), the baseline
ZLPR is compared with. With `label_smoothing` ε both train on the soft targets
t = (1 − ε)·y + ε/2.
Prediction: the labels with s_c > `task_args.threshold` (a logit; default 0, ZLPR's fixed
threshold and BCE's probability 0.5); calibrated probability σ(2s) for ZLPR, σ(s) for BCE. A
threshold tuned on held-out training examples: `python -m flaxnlp.train.tune_threshold`.
Metrics: micro / macro F1 over label ids (`flaxnlp.metrics.classification`).

`config.task_args`: see `ClassificationTask.default_args`. Datasets (`task_args.dataset`: the
GoEmotions preset, or your own "tsv" / "jsonl" files in `task_args.files`, labels given or read
from the training file and saved in the config) and their splits "train", "eval", "test":
`flaxnlp.data.classification_datasets`.
"""
from __future__ import annotations

import difflib
import functools
import math
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
# task_args.loss → per-example loss of scores [B, C] and targets [B, C] in [0, 1], shape [B].
LOSSES = {"zlpr": losses.multilabel_categorical_crossentropy,
          "bce": losses.sigmoid_binary_crossentropy}


def check_loss_args(args: ml_collections.ConfigDict) -> None:
  """ValueError for a `loss` not in LOSSES (naming the closest), a non-finite `threshold` or a
  `label_smoothing` outside [0, 1)."""
  if args.loss not in LOSSES:
    close = difflib.get_close_matches(str(args.loss), list(LOSSES), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"config.task_args.loss={args.loss!r}; one of {' | '.join(LOSSES)}{hint}")
  if not math.isfinite(args.threshold):
    raise ValueError(f"config.task_args.threshold={args.threshold}; a finite logit (0 = ZLPR's "
                     f"fixed threshold, BCE's probability 0.5)")
  if not 0.0 <= args.label_smoothing < 1.0:
    raise ValueError(f"config.task_args.label_smoothing={args.label_smoothing}; ε in [0, 1)")


def predicted_labels(scores: np.ndarray, threshold: float) -> list[tuple[int, ...]]:
  """The decision rule: for each row of scores [B, C], the label ids with score > `threshold`
  (compared in float64, so a threshold between two float32 scores separates them)."""
  return [tuple(int(i) for i in np.flatnonzero(row > threshold))
          for row in np.asarray(scores, np.float64)]


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
      loss: "zlpr" | "bce" (`LOSSES`); threshold: the decision threshold on the scores
        (logits), default 0; one tuned on held-out training examples:
        `flaxnlp.train.tune_threshold`; `--mode eval` may override it.
    """
    c = ml_collections.ConfigDict(dict(
        dataset="goemotions", files=dict(train="", eval="", test="", labels=""), labels=(),
        lowercase=True, maxlen=64, label_smoothing=0.0, classifier_dropout=0.1, loss="zlpr",
        threshold=0.0))
    c.data_dir = ml_collections.config_dict.placeholder(str)
    c.vocab = ml_collections.config_dict.placeholder(str)
    return c

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    classification_datasets.check(self.args)
    check_loss_args(self.args)
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
    """Mean `task_args.loss` of the label scores s [B, num_labels] (float32) against the
    (smoothed) targets; aux: the accuracy of the decisions s > threshold over all labels."""
    s = self.apply(params, batch, rng, deterministic=deterministic, perturbations=perturbations)
    eps = float(self.args.label_smoothing)
    targets = batch["labels"] * (1.0 - eps) + 0.5 * eps
    loss = LOSSES[self.args.loss](s, targets).mean()
    decisions = s > float(self.args.threshold)
    return loss, {"label_accuracy": jnp.mean(decisions == (batch["labels"] > 0.5))}

  def predict(self, params, batch):
    """The label scores (logits), float32 [B, num_labels]; `decode` applies the threshold."""
    return self.apply(params, batch)

  def decode(self, outputs, batch, examples):
    del batch, examples
    return predicted_labels(outputs, float(self.args.threshold))

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
