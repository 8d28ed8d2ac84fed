"""Strict warm starts: pretrained encoder leaves replace a subtree of a model's (sharded) params.

`merge_pretrained` is what `flaxnlp.tasks.base.Task.warm_start` runs on the params of
`flaxnlp.models.checkpoints.load_pretrained`; its `WarmStartReport` is the log line of a warm start.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np

from flaxnlp.errors import UserError


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
