"""Orbax checkpoints of the train state and the grain iterator; the best eval params.

Layout under the workdir:
  checkpoints/<step>/{state, data}   latest `keep` steps: TrainState + each process's grain
                                     iterator position (exact resume), saved asynchronously
  best/<step>/{params, meta}         the evaluation params of the best eval so far + its metrics

Restores always go through an abstract target carrying shardings, so a checkpoint written on one
mesh or device count restores onto another. A save interrupted by a kill leaves a
`<step>.orbax-checkpoint-tmp` directory that orbax ignores (the previous step stays the latest).
"""
from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp


def manager(directory: str | pathlib.Path, keep: int, *, async_save: bool = True
            ) -> ocp.CheckpointManager:
  """A CheckpointManager that keeps the latest `keep` steps; each `save` call writes a step."""
  return ocp.CheckpointManager(
      pathlib.Path(directory).absolute(),
      options=ocp.CheckpointManagerOptions(
          enable_async_checkpointing=async_save, create=True, cleanup_tmp_directories=True,
          preservation_policy=ocp.checkpoint_managers.LatestN(n=max(int(keep), 1))))


def has_checkpoint(directory: str | pathlib.Path) -> bool:
  """Whether `directory` holds a finished step (`<step>/`; an interrupted save's tmp dir is not one).

  Unlike `manager(directory).latest_step()`, it creates nothing.
  """
  directory = pathlib.Path(directory)
  return directory.is_dir() and any(p.is_dir() and p.name.isdigit() for p in directory.iterdir())


def abstract_target(abstract_tree, shardings):
  """`ShapeDtypeStruct`s with shardings: what to restore into (any mesh / device count)."""
  return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                      abstract_tree, shardings)


def save(mngr: ocp.CheckpointManager, step: int, state, data_iterator=None) -> None:
  """Starts an (async) save of `state` and, if given, the grain iterator position at `step`."""
  items = {"state": ocp.args.StandardSave(state)}
  if data_iterator is not None:
    items["data"] = grain.checkpoint.CheckpointSave(data_iterator)
  mngr.save(step, args=ocp.args.Composite(**items), force=True)


def restore(mngr: ocp.CheckpointManager, step: int, target, data_iterator=None):
  """Restores the state at `step` onto `target` (see `abstract_target`) and the iterator in place."""
  items = {"state": ocp.args.StandardRestore(target)}
  if data_iterator is not None:
    items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
  return mngr.restore(step, args=ocp.args.Composite(**items))["state"]


def save_best(mngr: ocp.CheckpointManager, step: int, params, meta: Mapping[str, Any]) -> None:
  """Saves evaluation params and a JSON `meta` (step, metric name/value, all eval metrics)."""
  mngr.save(step, args=ocp.args.Composite(params=ocp.args.StandardSave(params),
                                          meta=ocp.args.JsonSave(dict(meta))), force=True)


def best_meta(mngr: ocp.CheckpointManager) -> dict[str, Any] | None:
  """The JSON meta of the best checkpoint, or None if there is none."""
  step = mngr.latest_step()
  if step is None:
    return None
  return mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]


def restore_best_params(mngr: ocp.CheckpointManager, target):
  """The params of the best checkpoint restored onto `target`, or None if there is none."""
  step = mngr.latest_step()
  if step is None:
    return None
  return mngr.restore(step, args=ocp.args.Composite(
      params=ocp.args.StandardRestore(target)))["params"]
