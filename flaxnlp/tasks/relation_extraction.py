"""GPLinker relation extraction task "relation_extraction" (ALGORITHMS §5.1) on DuIE files.

Model: BERT + three Efficient GlobalPointer heads — entity (2 types: subject, object; RoPE on,
tril on), head-head and tail-tail (one type per predicate; RoPE off, tril off). Loss: sparse
ZLPR with mask_zero per head, summed over heads, mean over the batch (`reduction="sum_heads"`);
labels are built per batch in `collate` for the padded length N (`gplinker_labels`).
Gold spans: first occurrence of the subject/object string in the text (GPLinker).
task_args: data_dir (folder with train_data.json, dev_data.json, all_50_schemas), vocab,
maxlen, head_size, max_train_examples.
"""
from __future__ import annotations

import os
from typing import Any

import flax.linen as nn
import ml_collections
import numpy as np

from flaxnlp import paths
from flaxnlp.data import spans as spans_lib
from flaxnlp.data.formats import duie
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.decoding.relations import decode_relations
from flaxnlp.layers import global_pointer
from flaxnlp.metrics.extraction import relation_f1
from flaxnlp.models import bert
from flaxnlp.models import encoders
from flaxnlp.tasks import base, gplinker_labels, registry


def re_task_args(**overrides) -> ml_collections.ConfigDict:
  """Default `config.task_args` of "relation_extraction" (see the module docstring)."""
  args = ml_collections.ConfigDict(dict(
      data_dir=os.path.join(paths.shared_data_dir(), "duie", "duie_v1_subset"), vocab="",
      maxlen=128, head_size=64, max_train_examples=0))
  for key, value in overrides.items():
    if key not in args:
      raise KeyError(f"unknown relation_extraction task_args field {key!r}")
    args[key] = value
  return args


class GPLinkerREModel(nn.Module):
  """BERT + entity / head / tail EGP heads; returns three [B, H, N, N] logit arrays."""
  config: bert.BertConfig
  predicates: int
  head_size: int = 64

  @nn.compact
  def __call__(self, token_ids, deterministic: bool = True):
    hidden = encoders.build_encoder(self.config, name="encoder")(token_ids, deterministic=deterministic).last_hidden_state
    mask = token_ids != 0
    egp = global_pointer.EfficientGlobalPointer
    entity = egp(2, self.head_size, use_rope=True, tril_mask=True, name="entity")(hidden, mask)
    head = egp(self.predicates, self.head_size, use_rope=False, tril_mask=False, name="head")(hidden, mask)
    tail = egp(self.predicates, self.head_size, use_rope=False, tril_mask=False, name="tail")(hidden, mask)
    return entity, head, tail


# One sparse label array per head, in the order of the model's outputs.
LABEL_KEYS = ('entity_labels', 'head_labels', 'tail_labels')


@registry.register("relation_extraction")
class RelationExtractionTask(base.Task):
  """DuIE relation extraction with GPLinker; examples are `duie.RelationExample`s."""

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    a = config.task_args
    self.predicates = duie.read_duie_schema(os.path.join(a.data_dir, "all_50_schemas"))
    self.p_id = {p: i for i, p in enumerate(self.predicates)}
    self.tokenizer = Tokenizer.from_vocab(a.vocab or paths.chinese_bert_vocab())
    self._examples: dict[str, list] = {}

  def build_model(self) -> GPLinkerREModel:
    return GPLinkerREModel(encoders.encoder_config(self.config.model), len(self.predicates),
                           int(self.config.task_args.head_size))

  def dummy_batch(self, batch_size: int, length: int):
    ids = np.zeros((batch_size, length), np.int32)
    ids[:, :2] = (self.tokenizer.cls_id, self.tokenizer.sep_id)
    return self.collate([{"token_ids": ids[0, :2], "quintuples": np.zeros((0, 5), np.int32)}]
                        * batch_size, length)

  def examples(self, split: str):
    name = {"train": "train_data.json", "eval": "dev_data.json", "dev": "dev_data.json"}[split]
    if split not in self._examples:
      examples = duie.read_duie(os.path.join(self.config.task_args.data_dir, name))
      if split == "train" and self.config.task_args.max_train_examples:
        examples = examples[:int(self.config.task_args.max_train_examples)]
      self._examples[split] = examples
    return self._examples[split]

  def featurize(self, example, *, train: bool, rng: np.random.Generator):
    """{"token_ids": int32 [L], "quintuples": int32 [M, 5] (s_h, s_t, p, o_h, o_t)}."""
    del rng, train
    enc = self.tokenizer.encode(example.text, maxlen=int(self.config.task_args.maxlen))
    rows = []
    for s, p, o in example.triples:
      found = [example.text.find(x) if x else -1 for x in (s, o)]
      if p not in self.p_id or min(found) < 0:
        continue
      sp = spans_lib.char_span_to_token_span(enc.offsets, found[0], found[0] + len(s) - 1)
      op = spans_lib.char_span_to_token_span(enc.offsets, found[1], found[1] + len(o) - 1)
      if sp is not None and op is not None:
        rows.append((sp[0], sp[1], self.p_id[p], op[0], op[1]))
    return {"token_ids": np.asarray(enc.ids, np.int32),
            "quintuples": np.asarray(rows, np.int32).reshape(-1, 5)}

  def collate(self, features, length: int):
    """token_ids [B, N]; sparse labels entity [B, 2, K], head / tail [B, P, K] (indices h·N+t)."""
    ids = np.zeros((len(features), length), np.int32)
    sets = []
    for row, f in enumerate(features):
      ids[row, :len(f["token_ids"])] = f["token_ids"]
      quints = [((sh, st), p, (oh, ot)) for sh, st, p, oh, ot in f["quintuples"].tolist()]
      sets.append(gplinker_labels.relation_pair_sets(quints, len(self.predicates)))
    return {"token_ids": ids, **gplinker_labels.pack_head_labels(sets, LABEL_KEYS, length)}

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    variables = {"params": params}
    if perturbations is not None:
      variables["perturbations"] = perturbations
    logits = self.build_model().apply(variables, batch["token_ids"], deterministic=deterministic,
                                      rngs={"dropout": rng})
    return gplinker_labels.gplinker_loss(logits, batch, LABEL_KEYS), {}

  def predict(self, params, batch):
    """Three float32 logit arrays (entity, head, tail)."""
    return self.build_model().apply({"params": params}, batch["token_ids"])

  def decode(self, outputs, batch, examples):
    """Per example, the set of predicted (subject, predicate, object) strings."""
    entity, head, tail = (np.asarray(x) for x in outputs)
    lengths = (np.asarray(batch["token_ids"]) != 0).sum(axis=1)
    result = []
    for b, ex in enumerate(examples):
      offsets = self.tokenizer.encode(ex.text, maxlen=int(self.config.task_args.maxlen)).offsets
      def text_of(span):
        start, end = spans_lib.token_span_to_char_span(offsets, *span)
        return ex.text[start:end + 1]
      result.append({(text_of(s), self.predicates[p], text_of(o))
                     for s, p, o in decode_relations(entity[b], head[b], tail[b], int(lengths[b]))})
    return result

  def metrics(self, predictions, examples) -> dict[str, float]:
    m = relation_f1(predictions, [ex.triples for ex in examples],
                    normalise=lambda s: tuple(self.tokenizer.tokenize(s)))
    return {"f1": m["f1"], "precision": m["precision"], "recall": m["recall"]}

  def from_json(self, obj: Any):
    """Predict-mode input: `{"text": ...}`."""
    return duie.RelationExample(obj["text"] if isinstance(obj, dict) else obj, ())

  def to_json(self, example, prediction) -> dict:
    return {"text": example.text,
            "spo_list": [{"subject": s, "predicate": p, "object": o} for s, p, o in sorted(prediction)]}
