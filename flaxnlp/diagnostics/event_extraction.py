"""Where event extraction loses its events: at the triggers, or at the arguments?

Event-level F1 needs an event's trigger and every argument right, so it cannot say which part
fails. For a split this reports, against the gold events:
  * triggers: precision, recall and F1 of (event type, trigger text, start);
  * arguments of the gold events whose trigger was predicted: their recall among the arguments
    the predicted events with that trigger carry, and the precision of those;
  * all gold arguments: the fraction whose span (text, start) is predicted under any label, and
    under the right role name of any event type.
Triggers that score well beside argument spans that are never predicted point at argument
detection (one label per (type, role), few examples each), not at trigger finding or decoding.

  python -m flaxnlp.diagnostics.event_extraction --workdir runs/ee_duee [--split holdout] [--latest]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from flaxnlp.data.formats.duee import TRIGGER_ROLE, EventExample
from flaxnlp.errors import UserError
from flaxnlp.train import trainer as trainer_lib

Node = tuple[str, str, str, int]  # (event type, role, text, char start; -1 for enum values)


def _ratio(num: int, den: int) -> float:
  return num / den if den else 0.0


def loss_breakdown(examples: Sequence[EventExample],
                   predictions: Sequence[Sequence[Sequence[Node]]]) -> dict[str, float]:
  """The report above. `predictions[i]` is example i's events as node lists, the form
  `EventExtractionTask.decode` returns."""
  pred_triggers = gold_triggers = right_triggers = 0
  found_gold_args = found_pred_args = found_right_args = 0
  gold_args = spans_any_label = spans_right_role = 0
  for example, events in zip(examples, predictions):
    args_by_trigger: dict[tuple[str, str, int], set[Node]] = {}
    for nodes in events:
      for etype, role, text, start in nodes:
        if role == TRIGGER_ROLE:
          args_by_trigger.setdefault((etype, text, start), set()).update(
              n for n in nodes if n[1] != TRIGGER_ROLE)
    pred_args = {n for nodes in events for n in nodes if n[1] != TRIGGER_ROLE}
    pred_spans = {(text, start) for _, _, text, start in pred_args}
    pred_roles = {(role, text, start) for _, role, text, start in pred_args}
    pred_triggers += len(args_by_trigger)
    for event in example.events:
      gold_triggers += 1
      trigger = (event.event_type, event.trigger.text, event.trigger.start)
      gold = {(event.event_type, a.role, a.text, a.start) for a in event.arguments}
      if trigger in args_by_trigger:
        right_triggers += 1
        found_gold_args += len(gold)
        found_pred_args += len(args_by_trigger[trigger])
        found_right_args += len(gold & args_by_trigger[trigger])
      gold_args += len(gold)
      spans_any_label += sum((text, start) in pred_spans for _, _, text, start in gold)
      spans_right_role += sum((role, text, start) in pred_roles for _, role, text, start in gold)
  precision = _ratio(right_triggers, pred_triggers)
  recall = _ratio(right_triggers, gold_triggers)
  return {"trigger_precision": precision, "trigger_recall": recall,
          "trigger_f1": _ratio(2 * precision * recall, precision + recall),
          "found_event_argument_recall": _ratio(found_right_args, found_gold_args),
          "found_event_argument_precision": _ratio(found_right_args, found_pred_args),
          "argument_span_any_label": _ratio(spans_any_label, gold_args),
          "argument_span_right_role": _ratio(spans_right_role, gold_args),
          "gold_events": gold_triggers, "gold_arguments": gold_args}


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True, help="a trained event-extraction workdir")
  parser.add_argument("--split", default="", help="default: the split the run evaluated on")
  parser.add_argument("--latest", action="store_true", help="the latest checkpoint, not the best")
  args = parser.parse_args(argv)
  try:
    trainer = trainer_lib.from_workdir(args.workdir, "event_extraction")
    examples = list(trainer.examples(args.split or trainer.eval_split))
    predictions = trainer.predict_examples(trainer.load_eval_params(args.latest), examples)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps(loss_breakdown(examples, predictions), indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
