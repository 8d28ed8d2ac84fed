"""GPLinker relation extraction task "relation_extraction" (blog 8888) on DuIE-shaped files.

Model (`flaxnlp.tasks.gplinker`): BERT + three Efficient GlobalPointer heads — entity (2 types:
subject, object; RoPE on, tril on), head-head and tail-tail (one type per predicate; RoPE off,
tril off); loss and labels as every GPLinker task.
Gold spans: first occurrence of the subject/object string in the text (GPLinker).
task_args: `RelationExtractionTask.default_args`. Data (the DuIE preset in `data_dir`, or your own
DuIE-shaped JSON lines in `task_args.files` with a schema or predicates, saved in the config) and
splits: `flaxnlp.data.extraction_datasets`.
"""
from __future__ import annotations

import os
from typing import Any

import ml_collections
import numpy as np

from flaxnlp import paths
from flaxnlp.data import extraction_datasets, own_files
from flaxnlp.data import spans as spans_lib
from flaxnlp.data import windows as windows_lib
from flaxnlp.data.formats import duie
from flaxnlp.decoding.relations import decode_relations
from flaxnlp.metrics.extraction import relation_f1
from flaxnlp.tasks import base, gplinker, gplinker_labels, registry


@registry.register("relation_extraction")
class RelationExtractionTask(gplinker.GPLinkerTask):
  """DuIE relation extraction with GPLinker; examples are `duie.RelationExample`s."""

  data_fields = {"predicates": extraction_datasets.predicates}  # schema or training file
  label_keys = ("entity_labels", "head_labels", "tail_labels")

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """dataset ("duie"), data_dir (the preset: train_data.json, dev_data.json, all_50_schemas),
    files (your train / eval / test DuIE JSON lines and schema; "" = none), predicates (() = from
    the schema file, else your training file; filled in by `resolve_args`), vocab ("" =
    bert-base-chinese), maxlen, head_size, max_train_examples (0 = all). See
    `flaxnlp.data.extraction_datasets`."""
    return ml_collections.ConfigDict(dict(
        dataset="duie", data_dir=os.path.join(paths.shared_data_dir(), "duie", "duie_v1_subset"),
        files=dict(train="", eval="", test="", schema=""), predicates=(), vocab="",
        maxlen=128, head_size=64, max_train_examples=0))

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    self.predicates = base.resolved(self.args, "predicates")
    self.p_id = {p: i for i, p in enumerate(self.predicates)}

  def head_specs(self):
    p = len(self.predicates)
    return (gplinker.HeadSpec("entity", 2, use_rope=True, tril_mask=True),
            gplinker.HeadSpec("head", p, use_rope=False, tril_mask=False),
            gplinker.HeadSpec("tail", p, use_rope=False, tril_mask=False))

  def empty_feature(self):
    return {"token_ids": np.array([self.tokenizer.cls_id, self.tokenizer.sep_id], np.int32),
            "quintuples": np.zeros((0, 5), np.int32)}

  def pair_sets(self, feature):
    """entity [subjects, objects], head / tail per predicate (`relation_pair_sets`)."""
    quints = [((sh, st), p, (oh, ot)) for sh, st, p, oh, ot in feature["quintuples"].tolist()]
    return gplinker_labels.relation_pair_sets(quints, len(self.predicates))

  def read_split(self, split: str):
    examples = extraction_datasets.read_re_split(self.args, split)
    if extraction_datasets.re_reads_files(self.args):
      own_files.check_known((p for ex in examples for _, p, _ in ex.triples), self.predicates,
                            "predicates", f"{self.args.files[own_files.split_name(split)]}")
    return examples

  def featurize(self, example, *, train: bool, rng: np.random.Generator):
    """{"token_ids": int32 [L], "quintuples": int32 [M, 5] (s_h, s_t, p, o_h, o_t)}."""
    del rng, train
    enc = self.encode(example.text)
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

  def decode(self, outputs, batch, examples):
    """Per example, the set of predicted (subject, predicate, object) strings."""
    entity, head, tail = (np.asarray(x) for x in outputs)
    lengths = base.token_lengths(batch)
    result = []
    for b, ex in enumerate(examples):
      offsets = self.encode(ex.text).offsets
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
    """Predict-mode input: `{"text": ...}` or a bare JSON string."""
    text = obj["text"] if isinstance(obj, dict) else obj
    if not isinstance(text, str):
      raise ValueError(f'expected a JSON string or an object with a string "text", got {obj!r}')
    return duie.RelationExample(text, ())

  def merge_windows(self, example, windows, predictions) -> set[tuple[str, str, str]]:
    """The windows' (subject, predicate, object) triples kept by the merge rule of
    `flaxnlp.data.windows` (identical triples once). A triple is placed where its subject and
    object first occur in its window's text (the convention of the gold spans, `featurize`): its
    extent runs from the first to the last character of the two."""
    located = []
    for w, triples in zip(windows, predictions):
      text = example.text[w.start:w.end]
      rows = []
      for s, p, o in triples:
        s_at, o_at = text.find(s), text.find(o)
        rows.append(((s, p, o), w.start + min(s_at, o_at),
                     w.start + max(s_at + len(s), o_at + len(o)) - 1))
      located.append(rows)
    return {triple for triple, _, _ in windows_lib.merge(windows, located, lambda row: row[1:])}

  def to_json(self, example, prediction) -> dict:
    return {"text": example.text,
            "spo_list": [{"subject": s, "predicate": p, "object": o} for s, p, o in sorted(prediction)]}


re_task_args = RelationExtractionTask.task_args
