"""Event-extraction task in DuEE-fin mode on the hand-written fixture (tests/fixtures/gplinker/
duee_fin*.json): title + text, the enum role 公司上市/环节, two events sharing the trigger 上市 and
the enum argument 正式上市, which does not occur in the text. Expected values worked out by hand."""
import os
import shutil

import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.data.formats import duee
from flaxnlp.tasks import registry
from flaxnlp.tasks.event_extraction import ee_task_args

FIX = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "gplinker")
TEXT = "甲公司 上市 甲公司和乙公司 今日上市。"
# Tokens: [CLS]=0 甲1 公2 司3 上4 市5 甲6 公7 司8 和9 乙10 公11 司12 今13 日14 上15 市16 。17 [SEP]=18
# (spaces are not tokens). Labels: 0 (公司上市, 触发词), 1 (公司上市, 上市公司), 2..5 the 环节 values
# 筹备上市 暂停上市 正式上市 终止上市, 6 (中标, 触发词), 7 (中标, 中标公司).
TRIGGER, JIA, YI = (4, 5), (1, 3), (10, 12)
ZHENGSHI = 4


def _config(data_dir, **task_args):
  c = configs.base_config()
  c.task = "event_extraction"
  c.task_args = ee_task_args(data_dir=str(data_dir), head_size=8, **task_args)
  c.model = configs.bert_config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32)
  return c


@pytest.fixture()
def task(tmp_path):
  shutil.copy(os.path.join(FIX, "duee_fin_schema.json"), tmp_path / "duee_fin_event_schema.json")
  shutil.copy(os.path.join(FIX, "duee_fin.json"), tmp_path / "duee_fin_train.json")
  shutil.copy(os.path.join(FIX, "duee_fin.json"), tmp_path / "duee_fin_dev.json")
  return registry.get("event_extraction")(registry.resolve(_config(tmp_path, dataset="duee_fin")))


def _perfect(batch, key, heads):
  b = batch[key].shape[0]
  n = batch["token_ids"].shape[1]
  x = -np.ones((b, heads, n * n))
  for i in range(b):
    for h in range(heads):
      x[i, h, batch[key][i, h][batch[key][i, h] > 0]] = 1
  return x.reshape(b, heads, n, n)


def test_fin_files_labels_and_perfect_round_trip(task):
  train, dev = task.examples("train"), task.examples("eval")
  assert len(train) == len(dev) == 2  # duee_fin_train.json / duee_fin_dev.json, num_train unused
  assert dev[0].text == TEXT
  assert task.labels[ZHENGSHI] == ("公司上市", "正式上市")
  f = task.featurize(dev[0], train=False, rng=None)
  # Per event: trigger, 上市公司, and 正式上市 as its own label on the trigger span.
  np.testing.assert_array_equal(f["nodes"], [[0, 0, *TRIGGER], [0, 1, *JIA], [0, ZHENGSHI, *TRIGGER],
                                             [1, 0, *TRIGGER], [1, 1, *YI], [1, ZHENGSHI, *TRIGGER]])
  n = 24
  batch = task.collate([f, task.featurize(dev[1], train=False, rng=None)], n)
  head = batch["head_labels"][0, 0]
  assert sorted(head[head > 0].tolist()) == [1 * n + 4, 4 * n + 4, 4 * n + 10]
  tail = batch["tail_labels"][0, 0]
  assert sorted(tail[tail > 0].tolist()) == [3 * n + 5, 5 * n + 5, 5 * n + 12]
  logits = [_perfect(batch, "argument_labels", len(task.labels)),
            _perfect(batch, "head_labels", 1), _perfect(batch, "tail_labels", 1)]
  preds = task.decode(logits, batch, dev)
  trigger = ("公司上市", "触发词", "上市", 4)
  enum = ("公司上市", "环节", "正式上市", -1)
  assert preds == [[[("公司上市", "上市公司", "甲公司", 0), enum, trigger],
                    [("公司上市", "上市公司", "乙公司", 11), enum, trigger]], []]
  m = task.metrics(preds, dev)
  assert m["f1"] == m["argument_f1"] == 1.0
  assert task.to_json(dev[0], preds[0]) == {"text": TEXT, "event_list": [
      {"event_type": "公司上市", "arguments": [{"role": "上市公司", "argument": "甲公司"},
                                               {"role": "环节", "argument": "正式上市"}]},
      {"event_type": "公司上市", "arguments": [{"role": "上市公司", "argument": "乙公司"},
                                               {"role": "环节", "argument": "正式上市"}]}]}


def test_decode_maps_enum_label_back(task):
  # Only the trigger and the 暂停上市 label (3) at tokens 4..5, linked to each other.
  n = 20
  args, head, tail = (-np.ones((1, c, n, n)) for c in (len(task.labels), 1, 1))
  args[0, 0, 4, 5] = args[0, 3, 4, 5] = 1
  head[0, 0, 4, 4] = tail[0, 0, 5, 5] = 1
  ex = duee.EventExample(TEXT, ())
  batch = {"token_ids": np.pad(np.asarray(task.featurize(ex, train=False, rng=None)["token_ids"]),
                               (0, 1))[None]}
  (pred,) = task.decode([args, head, tail], batch, [ex])
  assert pred == [[("公司上市", "环节", "暂停上市", -1), ("公司上市", "触发词", "上市", 4)]]
  assert task.to_json(ex, pred)["event_list"] == [
      {"event_type": "公司上市", "arguments": [{"role": "环节", "argument": "暂停上市"}]}]
  # Unlinked, the enum node is its own (trigger-less) event: argument-level only.
  head[0, 0, 4, 4] = -1
  (pred,) = task.decode([args, head, tail], batch, [ex])
  assert sorted(pred) == [[("公司上市", "环节", "暂停上市", -1)], [("公司上市", "触发词", "上市", 4)]]


def test_enum_value_occurring_in_text_is_still_enum(task, tmp_path):
  path = tmp_path / "occurs.json"
  path.write_text('{"title": "乙公司正式上市", "text": "", "event_list": [{"event_type": "公司上市", '
                  '"trigger": "上市", "arguments": [{"role": "环节", "argument": "正式上市"}]}]}\n',
                  encoding="utf-8")
  assert duee.read_duee_fin(path)[0].events[0].arguments[0].start == 3  # no schema: first occurrence
  (ex,) = duee.read_duee_fin(path, task.schema)
  assert ex.text == "乙公司正式上市 " and ex.events[0].arguments == (duee.Argument("环节", "正式上市", -1),)
  # 上 of 上市 is token 6; the enum label sits on the trigger span.
  np.testing.assert_array_equal(task.featurize(ex, train=False, rng=None)["nodes"],
                                [[0, 0, 6, 7], [0, ZHENGSHI, 6, 7]])


def test_fin_from_json_joins_title(task):
  ex = task.from_json({"title": "甲公司  上市", "text": "甲公司和乙公司\t今日上市。"})
  assert ex == duee.EventExample(TEXT, ())


def test_bad_format_lists_valid_ones(tmp_path):
  with pytest.raises(ValueError, match=r"unknown event_extraction task_args.dataset 'ace'; "
                                       r"one of duee, duee_fin"):
    registry.get("event_extraction")(registry.resolve(_config(tmp_path, dataset="ace")))


def test_enum_value_colliding_with_a_role_is_rejected(tmp_path):
  (tmp_path / "duee_fin_event_schema.json").write_text(
      '{"event_type": "X", "role_list": [{"role": "A"}, {"role": "B", "enum_items": ["A", "C"]}]}\n',
      encoding="utf-8")
  with pytest.raises(ValueError, match=r"enum value repeats .*\[\('X', 'A'\)\]"):
    registry.get("event_extraction")(registry.resolve(_config(tmp_path, dataset="duee_fin")))
