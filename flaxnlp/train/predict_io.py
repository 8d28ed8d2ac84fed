"""Predict mode's inputs and outputs, shared by `--mode predict` and `flaxnlp.load(...).predict`.

* Input records: JSON values (a file's lines, or a Python list), each turned into an example by
  `task.from_json`; a bad record is a UserError naming it (`path:line` for a file).
* All input is read: a text longer than the model is read in overlapping windows
  (`task.predict_windows`, `flaxnlp.data.windows`) whose predictions `task.merge_windows` merges
  into one, in the text's offsets; a task that reads an input in one piece (classification,
  reading comprehension) counts the inputs it cuts (`task.truncates`) and the count is reported.
* Output records: `task.to_json(example, prediction)`, written over the fields of an input
  object (so an input's "id" or other fields come back), one per input, in input order. A file
  is written to a temporary name beside the output and renamed when complete.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import numpy as np

from flaxnlp.data import jsonl
from flaxnlp.errors import UserError


def jsonable(x):
  """json.dumps default: numpy scalars and arrays become plain values, sets sorted lists (json
  then encodes their elements, calling this again for non-JSON ones)."""
  if isinstance(x, (np.integer, np.floating, np.bool_)):
    return x.item()
  if isinstance(x, np.ndarray):
    return x.tolist()
  if isinstance(x, (set, frozenset)):
    return sorted(x, key=str)
  raise TypeError(f"{type(x).__name__} is not JSON serialisable")


def read_records(path: str | os.PathLike) -> list[tuple[str, Any]]:
  """(where, value) of each JSON line of the input file: where = "path:line"."""
  try:
    return [(f"{path}:{line}", value) for line, value in jsonl.read(path)]
  except FileNotFoundError as e:
    raise UserError(f"--input {path} does not exist") from e
  except ValueError as e:
    raise UserError(str(e)) from e


def examples_of(task, task_name: str, records: Iterable[tuple[str, Any]]) -> list[Any]:
  """`task.from_json` of each record's value; a UserError "where: ..." for a bad one."""
  examples = []
  for where, value in records:
    try:
      examples.append(task.from_json(value))
    except KeyError as e:
      raise UserError(f"{where}: the input has no {e.args[0]!r} field, which this task "
                      f"({task_name}) needs; got {value!r:.200}") from e
    except (TypeError, ValueError) as e:
      raise UserError(f"{where}: {e}") from e
  return examples


def predict_whole(trainer, params, examples: Sequence[Any]) -> list[Any]:
  """One prediction per example, reading all of each (see the module docstring), in order.

  Every window of every example goes through one `trainer.predict_examples` call (batched,
  jitted); an example with one window (or None) is read as it is.
  """
  task = trainer.task
  plans = [task.predict_windows(ex) for ex in examples]
  plans = [w if w is not None and len(w) > 1 else None for w in plans]  # None: read whole
  pieces = []
  for ex, windows in zip(examples, plans):
    pieces += ([ex] if windows is None
               else [dataclasses.replace(ex, text=ex.text[w.start:w.end]) for w in windows])
  predictions = trainer.predict_examples(params, pieces) if pieces else []
  merged, k = [], 0
  for ex, windows in zip(examples, plans):
    n = 1 if windows is None else len(windows)
    read = predictions[k:k + n]
    merged.append(read[0] if windows is None else task.merge_windows(ex, windows, read))
    k += n
  return merged


def report_truncated(task, examples: Sequence[Any]) -> int:
  """Counts the examples `task.truncates` and, when there are any, says so on stderr."""
  cut = sum(bool(task.truncates(ex)) for ex in examples)
  if cut and jax.process_index() == 0:
    print(f"predict: {cut} of {len(examples)} inputs are longer than the model reads and were "
          f"truncated (this task reads each input in one piece)", file=sys.stderr)
  return cut


def output_records(task, records: Sequence[tuple[str, Any]], examples: Sequence[Any],
                   predictions: Sequence[Any]) -> list[Any]:
  """`task.to_json(example, prediction)` per input, written over the input's fields when both
  are JSON objects."""
  out = []
  for (_, value), ex, pred in zip(records, examples, predictions):
    result = task.to_json(ex, pred)
    out.append({**value, **result} if isinstance(value, dict) and isinstance(result, dict)
               else result)
  return out


def write_records(path: str | os.PathLike, records: Sequence[Any]) -> None:
  """JSON lines to `path`, through a temporary file beside it renamed when complete."""
  path = pathlib.Path(path)
  tmp = path.with_name(f".{path.name}.tmp")
  try:
    with open(tmp, "w", encoding="utf-8") as f:
      for record in records:
        f.write(json.dumps(record, ensure_ascii=False, default=jsonable) + "\n")
    os.replace(tmp, path)
  finally:
    tmp.unlink(missing_ok=True)


def predict_records(trainer, load_params: Callable[[], Any], records: Sequence[tuple[str, Any]]
                    ) -> tuple[list[Any], list[Any]]:
  """The decoded predictions and the output records of `records` ((where, JSON value) pairs).

  Every record is checked (`examples_of`) before `load_params()` is called. This is what
  `--mode predict` and `flaxnlp.load(...).predict` both run.
  """
  task = trainer.task
  examples = examples_of(task, trainer.config.task, records)
  report_truncated(task, examples)
  predictions = predict_whole(trainer, load_params(), examples)
  return predictions, output_records(task, records, examples, predictions)


def predict_file(trainer, input_path: str | os.PathLike, output_path: str | os.PathLike
                 ) -> list[Any]:
  """`--mode predict`: the JSON lines of `input_path` predicted with the trainer's eval params
  (`Trainer.load_eval_params`), written to `output_path` by process 0; returns the predictions."""
  predictions, outputs = predict_records(trainer, trainer.load_eval_params,
                                         read_records(input_path))
  if jax.process_index() == 0:
    write_records(output_path, outputs)
  return predictions
