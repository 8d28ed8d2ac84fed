"""Name → Task class registry; the trainer's only way to reach task code."""
from __future__ import annotations

import copy
import importlib

import ml_collections

_TASKS: dict[str, type] = {}
# Modules that register tasks when imported; imported lazily by `get`.
_MODULES = tuple(f"flaxnlp.tasks.{m}" for m in (
    "classification", "ner", "relation_extraction", "event_extraction", "reading_comprehension",
    "pretraining", "toy"))


def register(name: str):
  """Class decorator: `@register("ner") class NerTask(Task): ...`."""
  def wrap(cls):
    if name in _TASKS and _TASKS[name] is not cls:
      raise ValueError(f"task {name!r} is already registered to {_TASKS[name].__name__}")
    _TASKS[name] = cls
    return cls
  return wrap


def get(name: str) -> type:
  """The Task class registered under `name`; the error lists the valid names."""
  if name not in _TASKS:
    for module in _MODULES:
      try:
        importlib.import_module(module)
      except ModuleNotFoundError as e:
        if e.name != module:
          raise
  if name not in _TASKS:
    raise KeyError(f"unknown task {name!r}; registered tasks: {sorted(_TASKS)}")
  return _TASKS[name]


def resolve(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A copy of `config` whose `task_args` are its task's `resolve_args`: complete, with the label
  sets / schema the dataset's files decide (read here). Locked when `config` is."""
  resolved = copy.deepcopy(config)
  with resolved.unlocked():
    resolved.task_args = get(config.task).resolve_args(config.task_args)
  if config.is_locked:
    resolved.task_args.lock()
  return resolved
