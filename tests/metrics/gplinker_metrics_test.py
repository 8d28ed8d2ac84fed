"""GPLinker metrics (kexue.fm/archives/8888, kexue.fm/archives/8926) on hand-computed cases."""
import pytest

from flaxnlp.metrics import extraction


def test_micro_prf_hand_computed():
  # doc 1: R = {a, b} (duplicate a counts once), T = {a, c}; doc 2: R = {}, T = {d}.
  m = extraction.micro_prf([["a", "b", "a"], []], [["a", "c"], ["d"]])
  assert (m["matched"], m["predicted"], m["gold"]) == (1, 2, 3)
  assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((1 / 2, 1 / 3, 2 / 5))
  # A match must be in the same document.
  assert extraction.micro_prf([["a"], []], [[], ["a"]])["matched"] == 0
  assert extraction.micro_prf([], [])["f1"] == 0.0


def test_relation_f1_hand_computed():
  pred = [[("a", "p", "b"), ("a", "q", "b")], [("X", "p", "y")]]
  gold = [[("a", "p", "b")], [("x", "p", "y"), ("z", "p", "y")]]
  m = extraction.relation_f1(pred, gold)  # 1 match / 3 pred / 3 gold
  assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
  m = extraction.relation_f1(pred, gold, normalise=str.lower)  # "X" == "x" now
  assert m["matched"] == 2 and m["f1"] == pytest.approx(2 * 2 / 6)
  assert extraction.relation_f1([[]], [[]])["f1"] == 0.0  # no crash on empty


def test_event_f1_hand_computed():
  t = ("E", "触发词", "判处", 5)
  a1, a2, a3 = ("E", "r", "甲", 0), ("E", "r", "乙", 1), ("E", "s", "丙", 2)
  gold = [[[t, a1, a3], [t, a2]]]
  # pred: exact gold event 1 (reordered), a duplicate of it, an event without trigger [a2],
  # and a wrong event [t, a3, ("E","s","丁",3)].
  pred = [[[a3, t, a1], [t, a1, a3], [a2], [t, a3, ("E", "s", "丁", 3)]]]
  m = extraction.event_f1(pred, gold)
  # events: R = {[t,a1,a3] sorted, [t,a3,丁]} -> 1 match / 2 pred / 2 gold.
  assert (m["event"]["matched"], m["event"]["predicted"], m["event"]["gold"]) == (1, 2, 2)
  # arguments: R = {a3, a1, a2, 丁} (deduped, trigger filter off), T = {a1, a3, a2} -> 3/4/3.
  assert (m["argument"]["matched"], m["argument"]["predicted"], m["argument"]["gold"]) == (3, 4, 3)
  assert m["argument"]["f1"] == pytest.approx(6 / 7)
