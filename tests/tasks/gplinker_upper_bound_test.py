"""Upper bound of GPLinker's label encoding + decoder + metric on real dev data (pinned numbers).

Perfect logits decode back everything the labels could encode, so any loss is due to the
encoding (truncation at maxlen 128, misaligned spans) or the clique decoder; the counts below
were measured once and are pinned, and they must also be internally consistent (checked here).
"""
import os

import pytest

from flaxnlp import paths
from flaxnlp.data.formats import duee, duie
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.tasks import gplinker_labels as gl

ROOT = str(paths.shared_data_dir())


def _need(path):
  if not os.path.exists(path):
    pytest.skip(f"shared data absent: {path}")
  return path


@pytest.mark.slow
def test_event_upper_bound_duee_dev():
  dev = _need(os.path.join(ROOT, "duee1.0", "dev.json"))
  schema = duee.read_event_schema(os.path.join(ROOT, "duee1.0", "event_schema.json"))
  tokenizer = Tokenizer.from_vocab(paths.chinese_bert_vocab())
  labels = gl.event_label_index(schema.roles, schema.enum_values)
  metrics, breakdown = gl.event_upper_bound(duee.read_duee(dev), tokenizer, labels, maxlen=128)
  ev, arg = metrics["event"], metrics["argument"]
  assert (ev["matched"], ev["predicted"], ev["gold"]) == (1728, 1774, 1790)
  assert (arg["matched"], arg["predicted"], arg["gold"]) == (3471, 3471, 3539)
  assert breakdown == {"truncated": 104, "misaligned": 12, "unknown_label": 0,
                       "lost_dropped_node": 62, "lost_duplicate_node": 0, "lost_merged": 0,
                       "lost_split_other": 0, "spurious_events": 46}
  # Consistency: every lost gold event has a cause; perfect logits never invent an argument.
  lost = sum(v for k, v in breakdown.items() if k.startswith("lost_"))
  assert ev["gold"] - ev["matched"] == lost
  assert ev["predicted"] - ev["matched"] == breakdown["spurious_events"]
  assert arg["precision"] == 1.0


def test_relation_upper_bound_duie_subset():
  d = _need(os.path.join(ROOT, "duie", "duie_v1_subset"))
  tokenizer = Tokenizer.from_vocab(paths.chinese_bert_vocab())
  metrics, breakdown = gl.relation_upper_bound(
      duie.read_duie(os.path.join(d, "dev_data.json")), tokenizer,
      duie.read_duie_schema(os.path.join(d, "all_50_schemas")), maxlen=128)
  assert (metrics["matched"], metrics["predicted"], metrics["gold"]) == (435, 435, 448)
  assert breakdown == {"not_found": 0, "truncated": 13, "misaligned": 0, "spurious": 0}
  assert metrics["gold"] - metrics["matched"] == sum(breakdown.values())


def test_relation_upper_bound_duie_train_subset():
  d = _need(os.path.join(ROOT, "duie", "duie_v1_subset"))
  tokenizer = Tokenizer.from_vocab(paths.chinese_bert_vocab())
  metrics, breakdown = gl.relation_upper_bound(
      duie.read_duie(os.path.join(d, "train_data.json")), tokenizer,
      duie.read_duie_schema(os.path.join(d, "all_50_schemas")), maxlen=128)
  assert (metrics["matched"], metrics["predicted"], metrics["gold"]) == (4265, 4265, 4298)
  # not_found: 10 mixed-case strings ("Java程序设计教程" in the text, lower-cased in spo_list;
  # GPLinker lower-cases the text, we keep it as is).
  assert breakdown == {"not_found": 10, "truncated": 24, "misaligned": 0, "spurious": 0}
  # Dropped triples are counted per spo item, gold per distinct tokenised triple: 34 >= 33.
  assert metrics["gold"] - metrics["matched"] <= sum(breakdown.values())
