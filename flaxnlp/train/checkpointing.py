"""Orbax checkpoints of the train state and the grain iterator; the best eval params; warm starts.

Layout under the workdir:
  checkpoints/<step>/{state, data}   latest `keep` steps: TrainState + each process's grain
                                     iterator position (exact resume), saved asynchronously
  best/<step>/{params, meta}         the evaluation params of the best eval so far + its metrics

Restores always go through an abstract target carrying shardings, so a checkpoint written on one
mesh or device count restores onto another. A save interrupted by a kill leaves a
`<step>.orbax-checkpoint-tmp` directory that orbax ignores (the previous step stays the latest).
"""
from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import grain
import jax
import numpy as np
import orbax.checkpoint as ocp

from flaxnlp.errors import UserError


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


def _flatten(tree, prefix=()) -> dict[tuple[str, ...], Any]:
  if isinstance(tree, Mapping):
    out = {}
    for k, v in tree.items():
      out.update(_flatten(v, prefix + (str(k),)))
    return out
  return {prefix: tree}


@dataclasses.dataclass(frozen=True)
class WarmStartReport:
  """What a warm start loaded: model leaf paths, their parameter count, and what did not match."""
  loaded: tuple[str, ...]       # model leaves replaced by the checkpoint
  num_params: int               # parameters in `loaded`
  kept_init: tuple[str, ...]    # model leaves under the key the checkpoint lacks (left at init)
  unused: tuple[str, ...]       # checkpoint leaves the model does not have (e.g. an MLM head)

  def summary(self, limit: int = 8) -> str:
    """One line: counts, then the leaves left at init and the unused ones (the first `limit`)."""
    def names(paths):
      return ", ".join(paths[:limit]) + (f", ... ({len(paths)} in all)" if len(paths) > limit
                                         else "")
    return (f"loaded {len(self.loaded)} leaves ({self.num_params:,} parameters); "
            f"left at init: {names(self.kept_init) or 'none'}; "
            f"unused checkpoint leaves: {names(self.unused) or 'none'}")


def merge_pretrained(params, shardings, pretrained, key: Sequence[str], *,
                     allow_partial: bool = False) -> tuple[Any, WarmStartReport]:
  """Replaces the subtree `params[key...]` leaf by leaf with `pretrained` (a strict warm start).

  Pretrained leaves the model does not have (e.g. an MLM head) are reported as unused. Raises a
  UserError naming the leaf on a shape mismatch, when nothing matches, and, unless
  `allow_partial`, when some leaf of the subtree is missing from `pretrained` (e.g. a 6-layer
  checkpoint for a 12-layer encoder). Returns `(params, report)`; loaded leaves are placed with
  the leaf's sharding.
  """
  key = tuple(key)
  source = _flatten(pretrained)
  loaded, kept, used, sizes = [], [], set(), []

  def replace(path, leaf, sharding):
    names = tuple(str(getattr(p, "key", getattr(p, "name", p))) for p in path)
    if names[:len(key)] != key:
      return leaf
    if names[len(key):] not in source:
      kept.append("/".join(names))
      return leaf
    value = np.asarray(source[names[len(key):]])
    if value.shape != leaf.shape:
      raise UserError(f"warm start: {'/'.join(names)} has shape {leaf.shape} in the model but "
                      f"{value.shape} in the checkpoint (does config.model match it?)")
    loaded.append("/".join(names))
    used.add(names[len(key):])
    sizes.append(value.size)
    return jax.device_put(value.astype(leaf.dtype), sharding)

  params = jax.tree_util.tree_map_with_path(replace, params, shardings)
  where = "/".join(key) or "the model's top level"
  if not loaded:
    raise UserError(f"warm start: no checkpoint leaf matches the model's params under {where} "
                    f"(model: {kept[:4]}..., checkpoint: "
                    f"{['/'.join(p) for p in list(source)[:4]]}...)")
  report = WarmStartReport(
      loaded=tuple(loaded), num_params=int(sum(sizes)),
      kept_init=tuple(kept),
      unused=tuple("/".join(p) for p in source if p not in used))
  if kept and not allow_partial:
    raise UserError(f"warm start: the checkpoint covers only part of {where}: "
                    f"{report.summary()}. Set --config.init_checkpoint_allow_partial=True "
                    f"if that is intended")
  return params, report
