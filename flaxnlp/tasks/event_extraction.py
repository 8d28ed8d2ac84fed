"""GPLinker event extraction task "event_extraction" (blog 8926) on DuEE 1.0 or DuEE-fin.

Model (`flaxnlp.tasks.gplinker`): BERT + three Efficient GlobalPointer heads — argument head over
the C (event_type, role) labels with the trigger as role 触发词 (RoPE on, tril on), head-link and
tail-link heads with one type each (RoPE off, tril on); loss and labels as every GPLinker task.
Decoding: `flaxnlp.decoding.cliques.decode_events`; metrics: bojone's `evaluate`
(`flaxnlp.metrics.extraction.event_f1`).

Data (`flaxnlp.data.extraction_datasets`): the DuEE shape is `task_args.dataset`: "duee" (DuEE 1.0,
character offsets) or "duee_fin" (title + text, first-occurrence positions, enumerated roles).
Without `files.train` the preset files in `data_dir`: "duee" = `event_schema.json` + `dev.json`
(only dev.json has labels locally: "train" is `num_train` documents drawn by `split_seed`, "eval"
the rest; NOT comparable to the published 81.47); "duee_fin" = `duee_fin_train.json` /
`duee_fin_dev.json` + its schema. With `files.train` / `.eval` / `.test` and `files.schema`, your
own JSON lines in that shape; the schema is saved in `task_args.event_schema`. DuEE-fin: an
enumerated role (schema `enum_items`, e.g. 公司上市/环节) is labelled as (event_type, value) on the
trigger span; such an argument is the node (event_type, role, value, start -1) in the gold (the
reader's convention) and in `decode`, and `{"role": 环节, "argument": 筹备上市}` in `to_json`.
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
from flaxnlp.data.formats import duee
from flaxnlp.decoding.cliques import decode_events, drop_subset_events
from flaxnlp.metrics.extraction import event_f1
from flaxnlp.tasks import base, gplinker, gplinker_labels, registry


FORMATS = extraction_datasets.PRESETS


@registry.register("event_extraction")
class EventExtractionTask(gplinker.GPLinkerTask):
  """DuEE / DuEE-fin event extraction with GPLinker; examples are `duee.EventExample`s."""

  data_fields = {"event_schema": extraction_datasets.event_schema_rows}  # the schema file's
  label_keys = ("argument_labels", "head_labels", "tail_labels")

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """dataset ("duee" | "duee_fin", a `FORMATS` preset), data_dir (its files), files (your
    train / eval / test JSON lines and event schema; "" = none), event_schema (rows (event_type,
    role, *enum_items); () = from the schema file, filled in by `resolve_args`), vocab ("" =
    bert-base-chinese), maxlen, head_size, num_train and split_seed ("duee" preset: how many dev
    documents are trained on, and the seed that draws them), max_train_examples. See
    `flaxnlp.data.extraction_datasets`."""
    return ml_collections.ConfigDict(dict(
        dataset="duee", data_dir=os.path.join(paths.shared_data_dir(), "duee1.0"),
        files=dict(train="", eval="", test="", schema=""), event_schema=(), vocab="",
        maxlen=128, head_size=64, num_train=1000, split_seed=0, max_train_examples=0))

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    self.format = FORMATS[extraction_datasets.ee_shape(self.args)]
    self.schema = extraction_datasets.schema_from_rows(base.resolved(self.args, "event_schema"))
    self.labels = gplinker_labels.event_label_index(self.schema.roles, self.schema.enum_values)
    if len(set(self.labels)) != len(self.labels):
      raise ValueError("event schema: an enum value repeats a role (or value) of its event type: "
                       f"{sorted({l for l in self.labels if self.labels.count(l) > 1})}")
    # Label (event_type, enum value) -> its enumerated role.
    self.enum_role = {(t, v): r for (t, r), values in self.schema.enum_values.items()
                      for v in values}

  def head_specs(self):
    return (gplinker.HeadSpec("argument", len(self.labels), use_rope=True, tril_mask=True),
            gplinker.HeadSpec("head_link", 1, use_rope=False, tril_mask=True),
            gplinker.HeadSpec("tail_link", 1, use_rope=False, tril_mask=True))

  def empty_feature(self):
    return {"token_ids": np.array([self.tokenizer.cls_id, self.tokenizer.sep_id], np.int32),
            "nodes": np.zeros((0, 4), np.int32)}

  def pair_sets(self, feature):
    """argument per label, head_link / tail_link (`event_pair_sets`) of the feature's events."""
    events: dict[int, list] = {}
    for e, label, h, t in feature["nodes"].tolist():
      events.setdefault(e, []).append((label, h, t))
    return gplinker_labels.event_pair_sets(list(events.values()), len(self.labels))

  def read_split(self, split: str):
    examples = extraction_datasets.read_ee_split(self.args, split, self.schema)
    if self.args.files.train:
      own_files.check_known(
          ((e.event_type, x.role) for ex in examples for e in ex.events for x in e.arguments),
          ((t, r) for t, roles in self.schema.roles.items() for r in roles),
          "(event type, role) pairs", f"{self.args.files[own_files.split_name(split)]}")
    return examples

  def featurize(self, example, *, train: bool, rng: np.random.Generator):
    """{"token_ids": int32 [L], "nodes": int32 [M, 4] rows (event index, label, h, t)}."""
    del rng, train
    encoding, events, _ = gplinker_labels.encode_event_example(
        example, self.tokenizer, self.labels, self.schema.enum_values, int(self.args.maxlen))
    rows = [(e, label, h, t) for e, nodes in enumerate(events) for label, h, t in nodes]
    return {"token_ids": np.asarray(encoding.ids, np.int32),
            "nodes": np.asarray(rows, np.int32).reshape(-1, 4)}

  def decode(self, outputs, batch, examples):
    """Per example, events as node lists (type, role, text, char start), trigger filter OFF
    (`event_f1` applies it at event level, as bojone's evaluate). A node of an enum label
    (type, value) becomes (type, its enum role, value, -1), as the reader's gold."""
    args, head, tail = (np.asarray(x) for x in outputs)
    lengths = base.token_lengths(batch)
    result = []
    for b, ex in enumerate(examples):
      offsets = self.encode(ex.text).offsets
      events = []
      for event in decode_events(args[b], head[b, 0], tail[b, 0], self.labels, int(lengths[b]),
                                 require_trigger=False):
        nodes = []
        for event_type, role, h, t in event:
          if (event_type, role) in self.enum_role:
            nodes.append((event_type, self.enum_role[event_type, role], role, -1))
            continue
          start, end = spans_lib.token_span_to_char_span(offsets, h, t)
          nodes.append((event_type, role, ex.text[start:end + 1], start))
        events.append(nodes)
      result.append(events)
    return result

  def metrics(self, predictions, examples) -> dict[str, float]:
    """`event_f1` against gold nodes (type, role, text, start) — start -1 for enum arguments."""
    gold = [[[(e.event_type, a.role, a.text, a.start) for a in (e.trigger,) + tuple(e.arguments)]
             for e in ex.events] for ex in examples]
    m = event_f1(predictions, gold)
    return {"f1": m["event"]["f1"], "event_precision": m["event"]["precision"],
            "event_recall": m["event"]["recall"], "argument_f1": m["argument"]["f1"],
            "argument_precision": m["argument"]["precision"],
            "argument_recall": m["argument"]["recall"]}

  def from_json(self, obj: Any):
    """Predict-mode input: `{"text": ...}` ("duee_fin": also `title`, joined as the reader does)
    or a bare string."""
    if not isinstance(obj, dict):
      return duee.EventExample(obj, ())
    text = duee.duee_fin_text(obj.get("title"), obj["text"]) if self.format.fin else obj["text"]
    return duee.EventExample(text, ())

  def merge_windows(self, example, windows, predictions):
    """The windows' events, node starts shifted into the text's offsets (an enum node keeps -1),
    kept by the merge rule of `flaxnlp.data.windows` over each event's extent (its first to its
    last located character; identical events once)."""
    del example

    def shifted(event, offset):
      return tuple((t, r, s, st + offset if st >= 0 else st) for t, r, s, st in event)

    def extent(event):
      located = [(st, st + len(s) - 1) for _, _, s, st in event if st >= 0]
      return (min(a for a, _ in located), max(b for _, b in located)) if located else None

    events = [[shifted(e, w.start) for e in p] for w, p in zip(windows, predictions)]
    return [list(e) for e in windows_lib.merge(windows, events, extent)]

  def to_json(self, example, prediction) -> dict:
    """Events with a trigger, subset-deduplicated (`predict_to_file`), arguments without trigger:
    `{"role", "argument", "start"}` ("duee"), `{"role", "argument"}` ("duee_fin": the DuEE-fin
    format has no offsets; an enum argument is `{"role": 环节, "argument": 筹备上市}`)."""
    def argument(role, text, start):
      return {"role": role, "argument": text} if self.format.fin else {
          "role": role, "argument": text, "start": start}
    events = [(e[0][0], [argument(r, s, st) for _, r, s, st in e if r != "触发词"])
              for e in prediction if any(n[1] == "触发词" for n in e)]
    return {"text": example.text, "event_list": [{"event_type": t, "arguments": a}
                                                  for t, a in drop_subset_events(events)]}


ee_task_args = EventExtractionTask.task_args
