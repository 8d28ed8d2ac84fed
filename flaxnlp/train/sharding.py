"""Device mesh, parameter/optimizer-state shardings from logical axis names, and global batches.

The mesh has the axes ("data", "fsdp", "tensor") with `AxisType.Auto` (GSPMD propagation; stock
Linen layers fail on an Explicit FSDP mesh). Parameters carry logical axis
names (`nn.with_logical_partitioning`); `config.sharding_rules` maps them to mesh axes. Leaves
without names, and dimensions that a mesh axis does not divide, are replicated.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import flax.linen as nn
import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

MESH_AXES = ("data", "fsdp", "tensor")


def make_mesh(mesh_config: Mapping[str, int], devices: Sequence[jax.Device] | None = None
              ) -> jax.sharding.Mesh:
  """A ("data", "fsdp", "tensor") Auto mesh; at most one axis may be -1 (= the remaining devices).

  Args:
    mesh_config: axis name -> size, e.g. `{"data": -1, "fsdp": 1, "tensor": 1}`.
    devices: devices to use (default: all global devices).
  Raises:
    ValueError: if the sizes do not multiply to the device count.
  """
  devices = list(jax.devices() if devices is None else devices)
  unknown = set(mesh_config) - set(MESH_AXES)
  if unknown:
    raise ValueError(f"unknown mesh axes {sorted(unknown)}; valid axes: {MESH_AXES}")
  sizes = [int(mesh_config.get(a, 1)) for a in MESH_AXES]
  if sizes.count(-1) > 1:
    raise ValueError(f"at most one mesh axis may be -1, got {dict(zip(MESH_AXES, sizes))}")
  known = math.prod(s for s in sizes if s != -1)
  if -1 in sizes:
    if len(devices) % known:
      raise ValueError(f"mesh {dict(zip(MESH_AXES, sizes))}: {len(devices)} devices are not "
                       f"divisible by {known}")
    sizes[sizes.index(-1)] = len(devices) // known
  if math.prod(sizes) != len(devices):
    raise ValueError(f"mesh {dict(zip(MESH_AXES, sizes))} needs {math.prod(sizes)} devices, "
                     f"but {len(devices)} are available")
  return jax.make_mesh(tuple(sizes), MESH_AXES, axis_types=(AxisType.Auto,) * len(MESH_AXES),
                       devices=devices)


def _fit_spec(spec: P, shape: Sequence[int], mesh: jax.sharding.Mesh) -> P:
  """Drops the mesh axes of every dimension they do not divide evenly (that dim is replicated)."""
  entries = []
  for dim, axes in zip(shape, tuple(spec) + (None,) * (len(shape) - len(spec))):
    names = (axes,) if isinstance(axes, str) else (axes or ())
    size = math.prod(mesh.shape[a] for a in names)
    entries.append(axes if dim % size == 0 else None)
  return P(*entries)


def logical_shardings(abstract_tree, mesh: jax.sharding.Mesh, rules) -> object:
  """NamedShardings for a (boxed) abstract pytree, e.g. `jax.eval_shape(init, rng)`.

  The logical partition specs of the boxed leaves (`nn.get_partition_spec`) are mapped to the
  mesh through `rules` ((logical, mesh axes) pairs; `nn.logical_to_mesh_sharding`); a mesh axis
  that does not divide its dimension is dropped (that dimension is replicated). Unboxed leaves,
  and boxed ones whose rank differs from their names (e.g. Adafactor's factored row / column
  statistics, boxed with the names of the param they were computed from), are replicated. The
  result has the structure of `nn.unbox(abstract_tree)`; an optimizer state initialised from
  boxed params (`tx.init`) gets the shardings of the params its moments mirror.
  """
  rules = tuple((name, tuple(a) if isinstance(a, list) else a) for name, a in rules)
  boxed = lambda x: isinstance(x, nn.LogicallyPartitioned)
  tree = jax.tree.map(lambda x: x.value if boxed(x) and len(x.names) != x.value.ndim else x,
                      abstract_tree, is_leaf=boxed)
  mesh_shardings = nn.logical_to_mesh_sharding(nn.get_partition_spec(tree), mesh, rules)
  return jax.tree.map(
      lambda sh, x: NamedSharding(mesh, _fit_spec(sh.spec, x.shape, mesh) if sh.spec else P()),
      mesh_shardings, nn.unbox(tree))


def batch_sharding(mesh: jax.sharding.Mesh, rules) -> NamedSharding:
  """Sharding of the leading (batch) axis, from the rule for the logical name "batch"."""
  axes = dict((name, a) for name, a in rules).get("batch", ("data", "fsdp"))
  axes = tuple(axes) if isinstance(axes, list) else axes
  return NamedSharding(mesh, P(axes))


def batch_divisor(mesh: jax.sharding.Mesh, sharding: NamedSharding) -> int:
  """Number of shards of the batch axis (the global batch size must be a multiple of it)."""
  axes = sharding.spec[0]
  names = (axes,) if isinstance(axes, str) else (axes or ())
  return math.prod(mesh.shape[a] for a in names)


def global_batch(local_batch: Mapping[str, np.ndarray], sharding: NamedSharding,
                 num_processes: int | None = None) -> dict[str, jax.Array]:
  """Assembles process-local rows (B / num_processes, ...) into global arrays (B, ...).

  Correct for one or many processes (`jax.make_array_from_process_local_data`).
  """
  n = jax.process_count() if num_processes is None else num_processes
  return {k: jax.make_array_from_process_local_data(
      sharding, np.asarray(v), (v.shape[0] * n,) + tuple(v.shape[1:]))
          for k, v in local_batch.items()}


def local_rows(sharding: NamedSharding, batch_size: int) -> slice:
  """The contiguous block of global batch rows held by this process's devices.

  `global_batch` places a process's local rows there, so host-side code that builds the whole
  global batch (evaluation) slices its own rows with this.
  """
  index_map = sharding.addressable_devices_indices_map((batch_size,))
  starts = [idx[0].start or 0 for idx in index_map.values()]
  stops = [batch_size if idx[0].stop is None else idx[0].stop for idx in index_map.values()]
  rows = slice(min(starts), max(stops))
  if rows.stop - rows.start != batch_size // jax.process_count():
    raise ValueError(f"this process's devices hold rows {rows} of a batch of {batch_size}, "
                     "not a contiguous block of batch_size / process_count rows")
  return rows
