"""Named entity recognition with GlobalPointer / Efficient GlobalPointer (blogs 8373, 8877).

Model: a BERT encoder followed by a GP or EGP head with one head per entity type; the head scores
every token pair (i, j), and s_α(i, j) > 0 means tokens i…j (inclusive) are an entity of type α.
Flat and nested NER are decoded identically (no Viterbi), so nested CMeEE entities just work.
The "crf" head is the baseline of the GP posts (bert4keras's NER CRF example): a Dense layer to
2T + 1 BIO tags per token, a `flaxnlp.layers.ConditionalRandomField` NLL loss over the text tokens,
BIO-constrained Viterbi in `predict` and tag paths → the same spans (`flaxnlp.decoding.bio`); it
refuses data with overlapping (nested) gold entities.

Data flow (kexue.fm/archives/8373):
  * `featurize`: `[CLS] text [SEP]` cut to `maxlen` tokens; for training, each gold character span
    `(start, end, type)` maps to a token span (i, j) through the token offsets. Spans whose first or
    last character is not a token boundary, or that were cut off by truncation, are dropped from the
    training labels, but the example keeps all its gold character spans, so they count as misses
    in evaluation.
  * `collate`: pads to the bucket length N and builds the labels of this batch only: dense
    [B, H, N, N] int8 (`loss="dense"`) or sparse [B, H, K] flattened cells i·N + j padded with 0
    (`loss="sparse"` / `"blockwise"`) with K = N, a width that depends only on the bucket, so
    every process of a multi-host run builds the same shape and no extra shapes are compiled
    (a head can hold at most N − 2 flat entities; more nested ones than N is an error).
  * `loss`: ZLPR over all N² cells of every head, mean over batch × heads (bojone's NER scripts);
    "blockwise" computes the same loss without the [B, H, N, N] logits
    (`flaxnlp.losses.global_pointer_blockwise_loss`).
  * `predict` (on device): the cells with logit > 0, bool [B, H, N, N].
  * `decode` (host): every (α, i, j) hit outside the [CLS] / [SEP] rows and columns becomes the
    inclusive character span (offsets[i].start, offsets[j].end − 1, type α).
  * predict mode (`flaxnlp.train.predict_io`): a text longer than `eval_maxlen` tokens is read
    in overlapping windows whose entities are merged in the text's offsets (`predict_windows`,
    `merge_windows`, `flaxnlp.data.windows`); evaluation keeps the truncation above.
  * `metrics`: entity-level micro P / R / F1 = 2X / (Y + Z) over character spans, plus F1 per type
    (`flaxnlp.metrics.entity_f1`).

Datasets (named ones and your own files, `task_args.dataset` / `files`) and their splits:
`flaxnlp.data.ner_datasets`. The model: `flaxnlp.tasks.ner_model.NerModel`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ml_collections
import numpy as np

from flaxnlp import losses, paths
from flaxnlp.data import spans as spans_lib
from flaxnlp.data import windows as windows_lib
from flaxnlp.data.formats import NerExample
from flaxnlp.data import ner_datasets
from flaxnlp.data.ner_datasets import split_name
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.decoding import bio
from flaxnlp.decoding import global_pointer as gp_cells
from flaxnlp.metrics import ner as ner_metrics
from flaxnlp.models import encoders
from flaxnlp.tasks import base, registry
from flaxnlp.tasks.ner_model import NerModel, span_f1

HEADS = ("gp", "egp", "crf")
LOSSES = ("dense", "sparse", "blockwise")


# ---- Task -------------------------------------------------------------------------------------

@registry.register("ner")
class NerTask(base.Task):
  """Span NER with a GP / EGP head; examples are `NerExample`s (see the module docstring)."""

  data_fields = {"types": ner_datasets.entity_types}  # a named dataset or your training file

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """Every field of `config.task_args` of the "ner" task, with its default.

    Fields:
      dataset: a named dataset "msra" | "cluener" | "cmeee" | "peoples_daily", or with `files` a
        file format "conll" | "jsonl" | "cluener" | "cmeee" (see the module docstring).
      data_dir: folder of the dataset files ("" = the default location, see the module docstring).
      files: `train` / `eval` / `test` file paths of a file format ("" = none; test optional).
      tag_scheme: "conll" tags: "auto" (detected) | "BIO" | "BIOES" | "BMES".
      types: entity types (= heads) of a file format; () = the sorted types of the training file,
        filled in by `resolve_args`. Named datasets use `flaxnlp.data.ner_datasets.DATASET_TYPES`.
      vocab: BERT `vocab.txt` ("" = `paths.chinese_bert_vocab()`, bert-base-chinese's 21,128 tokens).
      maxlen: tokens per training example incl. [CLS]/[SEP] (longer texts are truncated).
      eval_maxlen: the same for evaluation / prediction (0 = `maxlen`); must fit the largest bucket.
      head: "gp" (GlobalPointer) | "egp" (Efficient GlobalPointer) | "crf" (BIO tags + CRF, flat
        entities only; head_size, use_rope, loss, reduction and block_size do not apply).
      crf_lr_multiplier: the CRF transitions' learning-rate multiplier (`ConditionalRandomField`;
        bert4keras's NER example: 1000 with Adam at 2e-5).
      crf_train_overlaps: what the crf head does with overlapping gold entities in the training
        split: "error" | "keep_outer" (train on `flaxnlp.data.spans.outermost`, the longer of
        each overlapping pair, and log how many were dropped). Evaluation gold is never changed:
        overlaps there are an error.
      head_size: d, the q/k size (64 in every published script).
      use_rope: RoPE in the head (off only for the ablation).
      loss: "dense" | "sparse" | "blockwise" (same value, different label format / memory).
      reduction: "mean" (over batch × heads, bojone's NER scripts) | "sum_heads" (GPLinker).
      block_size: query rows per block of the blockwise loss.
      max_train_examples: use only the first N training examples (0 = all).
    """
    return ml_collections.ConfigDict(dict(
        dataset="msra", data_dir="", files=dict(train="", eval="", test=""), tag_scheme="auto",
        types=(), vocab="", maxlen=128, eval_maxlen=0, head="egp", head_size=64,
        use_rope=True, loss="dense", reduction="mean", block_size=64, max_train_examples=0,
        crf_lr_multiplier=1.0, crf_train_overlaps="error"))

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    a = self.args
    if a.head not in HEADS:
      raise ValueError(f"task_args.head={a.head!r}; one of {HEADS}")
    if a.loss not in LOSSES:
      raise ValueError(f"task_args.loss={a.loss!r}; one of {LOSSES}")
    if a.crf_train_overlaps not in ("error", "keep_outer"):
      raise ValueError(f"task_args.crf_train_overlaps={a.crf_train_overlaps!r}; one of "
                       "'error' | 'keep_outer'")
    self._examples: dict[str, list[NerExample]] = {}
    if ner_datasets.reads_files(a):
      base.resolved(a, "types")  # your files' types are read by `resolve_args`, not here
    self.types = ner_datasets.entity_types(a)
    self.type_index = {t: k for k, t in enumerate(self.types)}
    self.maxlen = int(a.maxlen)
    self.eval_maxlen = int(a.eval_maxlen) or self.maxlen
    self.tokenizer = Tokenizer.from_vocab(a.vocab or paths.chinese_bert_vocab())
    if self.tokenizer.vocab_size != config.model.vocab_size:
      raise ValueError(f"config.model.vocab_size={config.model.vocab_size} but the vocabulary "
                       f"has {self.tokenizer.vocab_size} tokens")

  # ---- model ----
  def build_model(self) -> NerModel:
    a = self.args
    return NerModel(encoders.encoder_config(self.config.model), heads=len(self.types),
                    head_size=int(a.head_size), head_type=a.head, use_rope=bool(a.use_rope),
                    crf_lr_multiplier=float(a.crf_lr_multiplier))

  def dummy_batch(self, batch_size: int, length: int):
    ids = np.zeros((batch_size, length), np.int32)
    ids[:, :2] = (self.tokenizer.cls_id, self.tokenizer.sep_id)
    return {"token_ids": ids, "labels": self._labels([np.zeros((0, 3), np.int32)] * batch_size,
                                                     length)}

  # ---- data ----
  def examples(self, split: str) -> list[NerExample]:
    split = split_name(split)
    if split not in self._examples:
      self._examples[split] = ner_datasets.task_examples(self.args, split, self.types,
                                                         flat=self.args.head == "crf")
    return self._examples[split]

  def encode(self, text: str, *, train: bool):
    """`Tokenizer.encode(text, maxlen)` with the training or evaluation maxlen."""
    return self.tokenizer.encode(text, maxlen=self.maxlen if train else self.eval_maxlen)

  def token_spans(self, example: NerExample, offsets) -> np.ndarray:
    """Aligned gold spans of `example` as int32 [M, 3] rows (type index, i, j), inclusive.

    Character spans that do not start and end on token boundaries (or were truncated) are dropped.
    """
    if not example.spans:
      return np.zeros((0, 3), np.int32)
    token = spans_lib.char_spans_to_token_spans(offsets, [(s, e) for s, e, _ in example.spans])
    rows = [(self.type_index[t], i, j) for (_, _, t), (i, j) in zip(example.spans, token)
            if 0 < i <= j]
    return np.asarray(rows, np.int32).reshape(-1, 3)

  def featurize(self, example: NerExample, *, train: bool, rng: np.random.Generator):
    """{"token_ids": int32 [L]} plus, for training, "spans": int32 [M, 3] (type, i, j)."""
    del rng  # featurisation is deterministic
    encoding = self.encode(example.text, train=train)
    features = {"token_ids": np.asarray(encoding.ids, np.int32)}
    if train:
      features["spans"] = self.token_spans(example, encoding.offsets)
    return features

  def _labels(self, spans: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Labels of one batch from per-example (type, i, j) rows: dense or sparse (see module doc)."""
    heads = len(self.types)
    if self.args.head == "crf":  # int32 [B, N] BIO tags
      return np.stack([bio.spans_to_tags(s, length) for s in spans])
    if self.args.loss == "dense":
      return np.stack([gp_cells.spans_to_dense_labels(s, heads, length, np.int8) for s in spans])
    per_head = [[[(i, j) for a, i, j in s if a == h] for h in range(heads)] for s in spans]
    return np.stack([gp_cells.spans_to_sparse_labels(p, length, length) for p in per_head])

  def collate(self, features, length: int):
    """{"token_ids": int32 [B, length]} (+ "labels" when the features carry training spans)."""
    batch = {"token_ids": base.pad([f["token_ids"] for f in features], length)}
    if "spans" in features[0]:
      batch["labels"] = self._labels([f["spans"] for f in features], length)
    return batch

  # ---- loss / predict ----
  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    a = self.args
    kwargs = dict(deterministic=deterministic, perturbations=perturbations)
    if a.head == "crf":  # mean NLL over the batch (bert4keras)
      nll = self.apply(params, batch, rng, method=NerModel.tag_nll,
                       inputs=(batch["token_ids"], batch["labels"]), **kwargs)
      return nll.mean(), {}
    if a.loss == "blockwise":
      factors = self.apply(params, batch, rng, method=NerModel.span_factors, **kwargs)
      loss = losses.global_pointer_blockwise_loss(
          factors, batch["token_ids"] != 0, batch["labels"], reduction=a.reduction,
          block_size=int(a.block_size))
      return loss, {}
    logits = self.apply(params, batch, rng, **kwargs)
    sparse = a.loss == "sparse"
    loss = losses.global_pointer_crossentropy(logits, batch["labels"], sparse=sparse,
                                              reduction=a.reduction)
    return loss, {"span_f1": span_f1(logits, batch["labels"], sparse)}

  def predict(self, params, batch):
    """bool [B, H, N, N]: cells with logit > 0 (masked cells are −1e12, never hits); for the
    crf head, the BIO tag paths int32 [B, N]."""
    out = self.apply(params, batch)
    return out if self.args.head == "crf" else out > 0

  # ---- host side ----
  def decode(self, outputs, batch, examples) -> list[list[tuple[int, int, str]]]:
    """Per example, the sorted predicted (start, end, type) inclusive character spans."""
    hits = (bio.tags_to_spans(outputs) if self.args.head == "crf"
            else gp_cells.decode_spans(np.asarray(outputs), lengths=base.token_lengths(batch)))
    predictions = []
    for cells, example in zip(hits, examples):
      offsets = self.encode(example.text, train=False).offsets
      entities = set()
      for a, i, j in cells:
        span = spans_lib.token_span_to_char_span(offsets, i, j)
        if span is not None:
          entities.add((span[0], span[1], self.types[a]))
      predictions.append(sorted(entities))
    return predictions

  def metrics(self, predictions, examples) -> dict[str, float]:
    return ner_metrics.entity_f1(predictions, [ex.spans for ex in examples], types=self.types)

  def from_json(self, obj: Any) -> NerExample:
    """Predict-mode input: `{"text": ...}` (other keys ignored) or a bare JSON string."""
    text = obj.get("text") if isinstance(obj, dict) else obj
    if not isinstance(text, str):
      raise ValueError(f'expected a JSON string or an object with a string "text", got {obj!r}')
    return NerExample(text, [])

  def predict_windows(self, example: NerExample):
    """Windows of `eval_maxlen` tokens (`flaxnlp.data.windows.text_windows`)."""
    return windows_lib.text_windows(self.tokenizer, example.text, self.eval_maxlen)

  def merge_windows(self, example, windows, predictions) -> list[tuple[int, int, str]]:
    """The windows' entities shifted into the text's offsets, kept by the merge rule of
    `flaxnlp.data.windows` (identical entities once), sorted."""
    del example
    shifted = [[(s + w.start, e + w.start, t) for s, e, t in entities]
               for w, entities in zip(windows, predictions)]
    return sorted(windows_lib.merge(windows, shifted, lambda entity: entity[:2]))

  def to_json(self, example: NerExample, prediction) -> dict:
    """Predict-mode output: the text and its entities with inclusive character offsets."""
    return {"text": example.text,
            "entities": [{"start": s, "end": e, "type": t, "entity": example.text[s:e + 1]}
                         for s, e, t in prediction]}


ner_task_args = NerTask.task_args
