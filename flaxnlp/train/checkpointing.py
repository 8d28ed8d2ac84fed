"""Orbax checkpoints of the train state and the grain iterator; the best eval params.

Layout under the workdir:
  checkpoints/<step>/{state, data}   latest `keep` steps: TrainState + each process's grain
                                     iterator position (exact resume), saved asynchronously
  best/<step>/{params, meta}         the evaluation params of the best eval so far + its metrics

Restores always go through an abstract target carrying shardings, so a checkpoint written on one
mesh or device count restores onto another. A save interrupted by a kill leaves a
`<step>.orbax-checkpoint-tmp` directory that orbax ignores (the previous step stays the latest).
A step that cannot be read (a truncated or corrupt file) is renamed `<step>.unreadable` by
`restore_newest_readable`, which then falls back to the step before it.
"""
from __future__ import annotations

import pathlib
import sys
from collections.abc import Mapping
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp

from flaxnlp.errors import UserError

UNREADABLE_SUFFIX = ".unreadable"


def manager(directory: str | pathlib.Path, keep: int, *, async_save: bool = True
            ) -> ocp.CheckpointManager:
  """A CheckpointManager that keeps the latest `keep` steps; each `save` call writes a step."""
  return ocp.CheckpointManager(
      pathlib.Path(directory).absolute(),
      options=ocp.CheckpointManagerOptions(
          enable_async_checkpointing=async_save, create=True, cleanup_tmp_directories=True,
          preservation_policy=ocp.checkpoint_managers.LatestN(n=max(int(keep), 1))))


def is_write_error(error: BaseException) -> bool:
  """Whether `error` is the file system refusing a write (full disk, no permission): an OSError,
  or tensorstore's ValueError carrying the OS error code (`[os_error_code='28']`)."""
  return isinstance(error, OSError) or (isinstance(error, ValueError)
                                        and "[os_error_code=" in str(error))


def committed_steps(directory: str | pathlib.Path) -> list[int]:
  """The finished steps (`<step>/`) in `directory`, ascending; an interrupted save's tmp dir and
  a step set aside as unreadable are not ones. Unlike a manager's `all_steps`, creates nothing."""
  directory = pathlib.Path(directory)
  if not directory.is_dir():
    return []
  return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit())


def has_checkpoint(directory: str | pathlib.Path) -> bool:
  """Whether `directory` holds a finished step (see `committed_steps`)."""
  return bool(committed_steps(directory))


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


def restore_newest_readable(mngr: ocp.CheckpointManager, target, data_iterator=None):
  """(step, state) of the newest step that restores; unreadable newer steps are set aside.

  Each step that fails to restore is renamed `<step>.unreadable` (kept for inspection; a later
  save of the same step number no longer collides with it) with a warning naming it. A UserError
  when no step restores; (None, None) when there is no step at all.
  """
  for step in sorted(mngr.all_steps(), reverse=True):
    try:
      return step, restore(mngr, step, target, data_iterator)
    except Exception as e:  # pylint: disable=broad-exception-caught  # any reader error
      _set_aside(mngr, step, e)
  if any(pathlib.Path(mngr.directory).glob(f"*{UNREADABLE_SUFFIX}")):
    raise UserError(f"no checkpoint in {mngr.directory} can be read (the unreadable ones are "
                    f"renamed *{UNREADABLE_SUFFIX}); move that directory away to train from scratch")
  return None, None


def _set_aside(mngr: ocp.CheckpointManager, step: int, error: Exception) -> None:
  """Renames step `step` to `<step>.unreadable` (process 0) and makes `mngr` forget it."""
  path = pathlib.Path(mngr.directory) / str(step)
  if jax.process_index() == 0:
    sys.stderr.write(f"warning: checkpoint {path} cannot be read ({type(error).__name__}: "
                     f"{str(error).splitlines()[0][:200]}); skipped, renamed "
                     f"{path.name}{UNREADABLE_SUFFIX}\n")
    path.rename(path.with_name(path.name + UNREADABLE_SUFFIX))
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    multihost_utils.sync_global_devices(f"set aside checkpoint {step}")
  mngr.reload()


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
