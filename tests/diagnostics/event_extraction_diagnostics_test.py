"""`flaxnlp.diagnostics.event_extraction.loss_breakdown` on a hand-worked document, and the CLI's
user error."""
import pytest

from flaxnlp import configs
from flaxnlp.data.formats.duee import TRIGGER_ROLE, Argument, Event, EventExample
from flaxnlp.diagnostics import event_extraction as ee_diagnostics

T = TRIGGER_ROLE
# Gold: A triggered by 被捕@2 with r1 张三@0 and r2 昨天@9; B triggered by 获奖@6 with r3 李四@4.
GOLD = EventExample("张三被捕，李四获奖，昨天", (
    Event("A", Argument(T, "被捕", 2), (Argument("r1", "张三", 0), Argument("r2", "昨天", 9))),
    Event("B", Argument(T, "获奖", 6), (Argument("r3", "李四", 4),))))
# Predicted: A's trigger with r1 right and r2 on the wrong span; 获奖 under the wrong type C, its
# argument 李四@4 under the wrong role r4; an argument-only event (no trigger) holding 昨天@9 as r2
# of type C.
PREDICTED = [[
    [("A", T, "被捕", 2), ("A", "r1", "张三", 0), ("A", "r2", "今天", 12)],
    [("C", T, "获奖", 6), ("C", "r4", "李四", 4)],
    [("C", "r2", "昨天", 9)],
]]


def test_loss_breakdown_hand_worked():
  report = ee_diagnostics.loss_breakdown([GOLD], PREDICTED)
  assert report == pytest.approx({
      "trigger_precision": 1 / 2, "trigger_recall": 1 / 2, "trigger_f1": 1 / 2,
      # A's trigger found: gold {r1 张三, r2 昨天} against predicted {r1 张三, r2 今天}
      "found_event_argument_recall": 1 / 2, "found_event_argument_precision": 1 / 2,
      # 张三@0, 昨天@9 (as C's r2), 李四@4 (as C's r4) are all predicted spans
      "argument_span_any_label": 3 / 3,
      # right role name: r1 张三 and r2 昨天 (type C), not r3 李四 (predicted r4)
      "argument_span_right_role": 2 / 3,
      "gold_events": 2, "gold_arguments": 3})


def test_nothing_predicted_scores_zero_without_dividing_by_zero():
  report = ee_diagnostics.loss_breakdown([GOLD], [[]])
  assert report["trigger_f1"] == report["found_event_argument_precision"] == 0.0
  assert report["argument_span_any_label"] == 0.0 and report["gold_arguments"] == 3


def test_missing_workdir_is_a_user_error(tmp_path, capsys):
  assert ee_diagnostics.main(["--workdir", str(tmp_path / "nope")]) == 2
  assert "config.json does not exist" in capsys.readouterr().err


def test_a_workdir_of_another_task_is_a_user_error(tmp_path, capsys):
  config = configs.base_config()
  config.task = "ner"
  (tmp_path / "config.json").write_text(configs.to_json(config), encoding="utf-8")
  assert ee_diagnostics.main(["--workdir", str(tmp_path)]) == 2
  assert "trained task 'ner', not event_extraction" in capsys.readouterr().err
