"""Learning-rate schedules of `config.optimizer.schedule`: constant | linear | piecewise_linear."""
from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import ml_collections
import optax


def piecewise_linear(points: Sequence[tuple[int, float]]) -> optax.Schedule:
  """bert4keras `piecewise_linear`: multiplier at step t from (step, multiplier) points.

  Linear interpolation between consecutive points, constant after the last one; when the first
  point is not at step 0, a point (0, 0.0) is prepended (bert4keras `from_zero=True`). E.g.
  `((1000, 1.0), (2000, 0.1))` ramps 0 → 1 over 1000 steps, then decays to 0.1 and stays there.
  """
  points = sorted((int(s), float(m)) for s, m in points)
  if not points:
    raise ValueError("piecewise_linear needs at least one (step, multiplier) point")
  if points[0][0] != 0:
    points = [(0, 0.0)] + points
  xs = jnp.asarray([p[0] for p in points], jnp.float32)
  ys = jnp.asarray([p[1] for p in points], jnp.float32)
  return lambda count: jnp.interp(jnp.asarray(count, jnp.float32), xs, ys)


def make_schedule(opt: ml_collections.ConfigDict, num_steps: int) -> optax.Schedule:
  """Learning rate per update count (0-based).

  constant: lr · min(1, t / warmup); linear: warmup 0 → lr over `warmup_steps`, then linear decay
  to 0 at `num_steps`; piecewise_linear: lr · piecewise_linear(opt.piecewise)(t).
  """
  lr, warmup = float(opt.learning_rate), int(opt.warmup_steps)
  if opt.schedule == "piecewise_linear":
    multiplier = piecewise_linear(opt.piecewise)
    return lambda count: lr * multiplier(count)
  if opt.schedule == "constant":
    if warmup == 0:
      return optax.constant_schedule(lr)
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup),
                                 optax.constant_schedule(lr)], [warmup])
  if opt.schedule == "linear":
    decay = optax.linear_schedule(lr, 0.0, max(num_steps - warmup, 1))
    if warmup == 0:
      return decay
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), decay], [warmup])
  raise ValueError(f"unknown schedule {opt.schedule!r}; valid: constant | linear | piecewise_linear")
