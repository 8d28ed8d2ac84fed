"""Predict mode reads all of a long text: `flaxnlp.data.windows` (windows, merge rule), the tasks'
`merge_windows`, and `predict_io.predict_whole` on a 2,000-character text.

The windows and the merge rule are checked on examples worked out by hand (a 9-token text whose
`hel ##lo` word must not be cut); the whole path is checked against brute force: an oracle
"model" that marks every occurrence of a word in the window it is given must, after windowing and
merging, report exactly `str.find`'s occurrences in the whole text.
"""
import json
import random
import re

import pytest

from flaxnlp import configs
from flaxnlp.data import windows
from flaxnlp.data.formats import NerExample, duie
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.tasks import ner, registry
from flaxnlp.tasks.event_extraction import ee_task_args
from flaxnlp.tasks.relation_extraction import re_task_args
from flaxnlp.train import predict_io

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "我", "爱", "北", "京", "天", "安", "门",
         "上", "海", "hel", "##lo", "中", "国", "在"]
TEXT = "我爱北京hello天安门"  # tokens 我 爱 北 京 hel ##lo 天 安 门 at chars 0 1 2 3 4-6 7-8 9 10 11


@pytest.fixture(name="tokenizer")
def fixture_tokenizer():
  return Tokenizer({t: i for i, t in enumerate(VOCAB)})


def _config(tmp_path, task, task_args, vocab_size=len(VOCAB)):
  c = configs.base_config()
  c.task = task
  c.task_args = task_args
  c.model = configs.bert_config(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32)
  return c


@pytest.fixture(name="ner_task")
def fixture_ner_task(tmp_path):
  vocab = tmp_path / "vocab.txt"
  vocab.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
  return registry.get("ner")(_config(tmp_path, "ner", ner.ner_task_args(
      dataset="msra", vocab=str(vocab), head_size=8, maxlen=8)))


# ---- Windows ----------------------------------------------------------------------------------
@pytest.mark.parametrize("maxlen, expected", [
    (11, [(0, 12)]),                            # 9 tokens fit in 11 - 2
    # 4 tokens a window; starts 0, 2 (北), 4 (hel), 6 (天): each half a window after the last.
    (6, [(0, 4), (2, 9), (4, 11), (9, 12)]),
    # 5 tokens: the first window would end inside hello (after hel), so it ends before hel;
    # the second holds tokens 2..6 (北京hello天); the third runs from hel to the end.
    (7, [(0, 4), (2, 10), (4, 12)]),
])
def test_windows_by_hand(tokenizer, maxlen, expected):
  assert windows.text_windows(tokenizer, TEXT, maxlen) == [windows.Window(*w) for w in expected]


def test_windows_cover_the_text_and_hold_every_short_span(tokenizer):
  """Brute force over random texts: each window's text re-tokenizes to at most maxlen − 2
  tokens and starts on a word; every span of ≤ (maxlen − 2) // 2 tokens is inside a window."""
  rng = random.Random(0)
  pieces = ["我", "爱", "北", "京", "hello", "天", " ", "中", "国", "，", "x"]
  for _ in range(200):
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
    maxlen = rng.randint(4, 12)
    found = windows.text_windows(tokenizer, text, maxlen)
    assert found[0].start == 0 and found[-1].end == len(text)
    offsets = tokenizer.encode(text).offsets[1:-1]
    for w in found:
      assert len(tokenizer.tokenize(text[w.start:w.end])) <= maxlen - 2
      assert w.start in {0} | {s for s, _ in offsets}
    width = (maxlen - 2) // 2
    for i in range(len(offsets)):
      for j in range(i, min(i + width, len(offsets))):
        start, end = offsets[i][0], offsets[j][1] - 1
        assert any(w.start <= start and end < w.end for w in found), (text, maxlen, i, j)


# ---- Merge rule -------------------------------------------------------------------------------
def test_merge_rule_by_hand():
  w = [windows.Window(0, 6), windows.Window(3, 10)]
  # (4, 5): margins min(4, 0) = 0 in [0, 6) and min(1, 4) = 1 in [3, 10) -> the second window.
  # (3, 3): margins min(3, 2) = 2 and min(0, 6) = 0 -> the first window.
  # (0, 1): only in the first; (7, 9): only in the second.
  assert windows.best_window(w, 4, 5) == 1
  assert windows.best_window(w, 3, 3) == 0
  assert windows.best_window(w, 0, 1) == 0 and windows.best_window(w, 7, 9) == 1
  assert windows.best_window(w, 2, 7) is None
  # A tie (margin 1 in both) goes to the earlier window.
  assert windows.best_window([windows.Window(0, 6), windows.Window(2, 8)], 3, 4) == 0
  per_window = [[(0, 1, "A"), (3, 3, "B"), (4, 5, "C")],          # (4, 5) seen at the edge
                [(3, 3, "B"), (4, 5, "C"), (7, 9, "D"), (4, 5, "C")]]
  kept = windows.merge(w, per_window, lambda span: span[:2])
  assert kept == [(0, 1, "A"), (3, 3, "B"), (4, 5, "C"), (7, 9, "D")]
  # A span its best window did not predict is not taken from a window that sees it at an edge.
  assert windows.merge(w, [[(4, 5, "C")], []], lambda span: span[:2]) == []
  # Items without a position: every window's, identical ones once.
  assert windows.merge(w, [["x", "y"], ["y", "z"]], lambda item: None) == ["x", "y", "z"]


def test_ner_merge_shifts_into_the_text(ner_task):
  w = [windows.Window(0, 4), windows.Window(2, 9)]
  # Window 2 reads "北京hello": 北京 at its (0, 1) is the text's (2, 3), margin 0 there and
  # min(2, 0) = 0 in window 1 -> tie, the first window's copy; "hello" (2, 6) -> (4, 8).
  merged = ner_task.merge_windows(None, w, [[(2, 3, "LOC")], [(0, 1, "LOC"), (2, 6, "ORG")]])
  assert merged == [(2, 3, "LOC"), (4, 8, "ORG")]


def test_event_merge_shifts_located_nodes_only(tmp_path):
  (tmp_path / "event_schema.json").write_text(
      '{"event_type": "入狱", "role_list": [{"role": "入狱者"}]}\n', encoding="utf-8")
  (tmp_path / "dev.json").write_text(json.dumps({"id": "1", "text": "张三入狱", "event_list": []},
                                                ensure_ascii=False) + "\n", encoding="utf-8")
  config = _config(tmp_path, "event_extraction", ee_task_args(
      data_dir=str(tmp_path), head_size=8, num_train=1), vocab_size=21128)
  task = registry.get("event_extraction")(registry.resolve(config))
  w = [windows.Window(0, 10), windows.Window(5, 15)]
  event = [("入狱", "触发词", "入狱", 3), ("入狱", "入狱者", "张三", 1)]  # extent (1, 4)
  shifted = [("入狱", "触发词", "入狱", 8), ("入狱", "入狱者", "张三", 6)]  # text (6, 9)
  enum_only = [("入狱", "环节", "筹备", -1)]  # no located node: kept once
  merged = task.merge_windows(None, w, [[event, enum_only], [event, enum_only]])
  # Window 1's event is the text's (1, 4) (margin 1; not in window 2); window 2's is (6, 9):
  # margin min(1, 0) = 0 in window 1, min(1, 5) = 1 in window 2 -> kept from window 2.
  assert merged == [event, enum_only, shifted]


def test_relation_merge_places_triples_in_their_window(tmp_path):
  (tmp_path / "all_50_schemas").write_text(json.dumps(
      {"subject_type": "人物", "predicate": "妻子", "object_type": "人物"},
      ensure_ascii=False) + "\n", encoding="utf-8")
  config = _config(tmp_path, "relation_extraction", re_task_args(
      data_dir=str(tmp_path), head_size=8), vocab_size=21128)
  task = registry.get("relation_extraction")(registry.resolve(config))
  text = "甲妻乙，丙妻丁，戊妻己"
  w = [windows.Window(0, 7), windows.Window(3, 11)]  # "甲妻乙，丙妻丁" and "，丙妻丁，戊妻己"
  a, b, c = ("甲", "妻子", "乙"), ("丙", "妻子", "丁"), ("戊", "妻子", "己")
  # b spans the text's (4, 6): margin min(4, 0) = 0 in the first window, min(1, 4) = 1 in the
  # second, so it is the second window's to report; a is only in the first, c in the second.
  example = duie.RelationExample(text, ())
  assert task.merge_windows(example, w, [{a, b}, {b, c}]) == {a, b, c}
  assert task.merge_windows(example, w, [{a, b}, {c}]) == {a, c}


# ---- The whole path: a 2,000-character text ------------------------------------------------------
class _OracleTrainer:
  """A stand-in trainer whose "model" marks every 北京 (LOC) and 天安门 (ORG) of the example it
  reads, as long as the example fits the model (the real model would not see the rest)."""

  def __init__(self, task):
    self.task = task
    self.config = task.config
    self.read = []

  def predict_examples(self, params, examples):
    del params
    predictions = []
    for ex in examples:
      assert len(self.task.tokenizer.tokenize(ex.text)) + 2 <= self.task.eval_maxlen
      self.read.append(ex.text)
      predictions.append(sorted(_occurrences(ex.text)))
    return predictions


def _occurrences(text):
  return {(m.start(), m.end() - 1, t) for word, t in (("北京", "LOC"), ("天安门", "ORG"))
          for m in re.finditer(word, text)}


def test_a_2000_character_text_is_predicted_completely(ner_task):
  rng = random.Random(1)
  filler = "".join(rng.choice("我爱中国在上海") for _ in range(1990))
  text = "北京" + filler[:995] + "天安门" + filler[995:] + "北京天安门"
  assert len(text) >= 2000
  trainer = _OracleTrainer(ner_task)
  short = NerExample("我在天安门", [])
  predictions = predict_io.predict_whole(trainer, None, [short, NerExample(text, []), short])
  expected = sorted(_occurrences(text))
  assert expected[0] == (0, 1, "LOC") and expected[-1] == (len(text) - 3, len(text) - 1, "ORG")
  assert predictions == [[(2, 4, "ORG")], expected, [(2, 4, "ORG")]]
  assert len(trainer.read) == 2 + len(windows.text_windows(ner_task.tokenizer, text, 8))
