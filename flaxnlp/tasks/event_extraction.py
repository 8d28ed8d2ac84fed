"""GPLinker event extraction task "event_extraction" (ALGORITHMS §5.2) on DuEE 1.0 files.

Model: BERT + three Efficient GlobalPointer heads — argument head over the C (event_type, role)
labels with the trigger as role 触发词 (RoPE on, tril on), head-link and tail-link heads with one
type each (RoPE off, tril on). Loss: sparse ZLPR, mask_zero, summed over heads, mean over the
batch. Decoding: `flaxnlp.decoding.cliques.decode_events`; metrics: bojone's `evaluate`
(`flaxnlp.metrics.extraction.event_f1`). Only DuEE dev.json has labels locally, so "train" is its
first `num_train` documents and "eval" the rest (NOT comparable to the published 81.47).
"""
from __future__ import annotations

import os
from typing import Any

import flax.linen as nn
import ml_collections
import numpy as np

from flaxnlp import paths
from flaxnlp.data import spans as spans_lib
from flaxnlp.data.formats import duee
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.decoding.cliques import decode_events, drop_subset_events
from flaxnlp.layers import global_pointer
from flaxnlp.metrics.extraction import event_f1
from flaxnlp.models import bert
from flaxnlp.tasks import base, gplinker_labels, registry


def ee_task_args(**overrides) -> ml_collections.ConfigDict:
  """Default `config.task_args` of "event_extraction": data_dir (dev.json + event_schema.json),
  vocab, maxlen, head_size, num_train (dev documents used for training), max_train_examples."""
  args = ml_collections.ConfigDict(dict(
      data_dir=os.path.join(paths.shared_data_dir(), "duee1.0"), vocab="", maxlen=128,
      head_size=64, num_train=1000, max_train_examples=0))
  for key, value in overrides.items():
    if key not in args:
      raise KeyError(f"unknown event_extraction task_args field {key!r}")
    args[key] = value
  return args


class GPLinkerEEModel(nn.Module):
  """BERT + argument / head-link / tail-link EGP heads; returns three [B, H, N, N] arrays."""
  config: bert.BertConfig
  labels: int
  head_size: int = 64

  @nn.compact
  def __call__(self, token_ids, deterministic: bool = True):
    hidden = bert.Bert(self.config, name="encoder")(token_ids, deterministic=deterministic).last_hidden_state
    mask = token_ids != 0
    egp = global_pointer.EfficientGlobalPointer
    args = egp(self.labels, self.head_size, use_rope=True, tril_mask=True, name="argument")(hidden, mask)
    head = egp(1, self.head_size, use_rope=False, tril_mask=True, name="head_link")(hidden, mask)
    tail = egp(1, self.head_size, use_rope=False, tril_mask=True, name="tail_link")(hidden, mask)
    return args, head, tail


# One sparse label array per head, in the order of the model's outputs.
LABEL_KEYS = ('argument_labels', 'head_labels', 'tail_labels')


@registry.register("event_extraction")
class EventExtractionTask(base.Task):
  """DuEE event extraction with GPLinker; examples are `duee.EventExample`s."""

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    a = config.task_args
    self.schema = duee.read_event_schema(os.path.join(a.data_dir, "event_schema.json"))
    self.labels = gplinker_labels.event_label_index(self.schema.roles, self.schema.enum_values)
    self.tokenizer = Tokenizer.from_vocab(a.vocab or paths.chinese_bert_vocab())
    self._all = None

  def build_model(self) -> GPLinkerEEModel:
    return GPLinkerEEModel(bert.BertConfig.from_dict(self.config.model), len(self.labels),
                           int(self.config.task_args.head_size))

  def dummy_batch(self, batch_size: int, length: int):
    ids = np.array([self.tokenizer.cls_id, self.tokenizer.sep_id], np.int32)
    return self.collate([{"token_ids": ids, "nodes": np.zeros((0, 4), np.int32)}] * batch_size,
                        length)

  def examples(self, split: str):
    a = self.config.task_args
    if self._all is None:
      self._all = duee.read_duee(os.path.join(a.data_dir, "dev.json"))
    if split == "train":
      train = self._all[:int(a.num_train)]
      return train[:int(a.max_train_examples)] if a.max_train_examples else train
    if split in ("eval", "dev"):
      return self._all[int(a.num_train):]
    raise ValueError(f"unknown split {split!r}; train | eval")

  def featurize(self, example, *, train: bool, rng: np.random.Generator):
    """{"token_ids": int32 [L], "nodes": int32 [M, 4] rows (event index, label, h, t)}."""
    del rng, train
    encoding, events, _ = gplinker_labels.encode_event_example(
        example, self.tokenizer, self.labels, self.schema.enum_values,
        int(self.config.task_args.maxlen))
    rows = [(e, label, h, t) for e, nodes in enumerate(events) for label, h, t in nodes]
    return {"token_ids": np.asarray(encoding.ids, np.int32),
            "nodes": np.asarray(rows, np.int32).reshape(-1, 4)}

  def collate(self, features, length: int):
    """token_ids [B, N]; sparse argument [B, C, K], head_link / tail_link [B, 1, K] labels."""
    ids = np.zeros((len(features), length), np.int32)
    sets = []
    for row, f in enumerate(features):
      ids[row, :len(f["token_ids"])] = f["token_ids"]
      events: dict[int, list] = {}
      for e, label, h, t in f["nodes"].tolist():
        events.setdefault(e, []).append((label, h, t))
      sets.append(gplinker_labels.event_pair_sets(list(events.values()), len(self.labels)))
    return {"token_ids": ids, **gplinker_labels.pack_head_labels(sets, LABEL_KEYS, length)}

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    variables = {"params": params}
    if perturbations is not None:
      variables["perturbations"] = perturbations
    logits = self.build_model().apply(variables, batch["token_ids"], deterministic=deterministic,
                                      rngs={"dropout": rng})
    return gplinker_labels.gplinker_loss(logits, batch, LABEL_KEYS), {}

  def predict(self, params, batch):
    """Three float32 logit arrays (argument, head_link, tail_link)."""
    return self.build_model().apply({"params": params}, batch["token_ids"])

  def decode(self, outputs, batch, examples):
    """Per example, events as node lists (type, role, text, char start), trigger filter OFF
    (`event_f1` applies it at event level, as bojone's evaluate)."""
    args, head, tail = (np.asarray(x) for x in outputs)
    lengths = (np.asarray(batch["token_ids"]) != 0).sum(axis=1)
    result = []
    for b, ex in enumerate(examples):
      offsets = self.tokenizer.encode(ex.text, maxlen=int(self.config.task_args.maxlen)).offsets
      events = []
      for event in decode_events(args[b], head[b, 0], tail[b, 0], self.labels, int(lengths[b]),
                                 require_trigger=False):
        nodes = []
        for event_type, role, h, t in event:
          start, end = spans_lib.token_span_to_char_span(offsets, h, t)
          nodes.append((event_type, role, ex.text[start:end + 1], start))
        events.append(nodes)
      result.append(events)
    return result

  def metrics(self, predictions, examples) -> dict[str, float]:
    gold = [[[(e.event_type, a.role, a.text, a.start) for a in (e.trigger,) + tuple(e.arguments)]
             for e in ex.events] for ex in examples]
    m = event_f1(predictions, gold)
    return {"f1": m["event"]["f1"], "event_precision": m["event"]["precision"],
            "event_recall": m["event"]["recall"], "argument_f1": m["argument"]["f1"],
            "argument_precision": m["argument"]["precision"],
            "argument_recall": m["argument"]["recall"]}

  def from_json(self, obj: Any):
    """Predict-mode input: `{"text": ...}`."""
    return duee.EventExample(obj["text"] if isinstance(obj, dict) else obj, ())

  def to_json(self, example, prediction) -> dict:
    """Events with a trigger, subset-deduplicated (`predict_to_file`), arguments without trigger."""
    events = [(e[0][0], [{"role": r, "argument": s, "start": st} for _, r, s, st in e
                         if r != "触发词"])
              for e in prediction if any(n[1] == "触发词" for n in e)]
    return {"text": example.text, "event_list": [{"event_type": t, "arguments": a}
                                                  for t, a in drop_subset_events(events)]}
