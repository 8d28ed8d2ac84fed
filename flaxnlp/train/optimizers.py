"""Optax chains and learning-rate schedules built from `config.optimizer`.

Chain: [clip_by_global_norm(clip_norm)] → optimizer(schedule). Weight decay (AdamW, AdaX-W) is
applied to parameters with ndim ≥ 2 only (kernels and embeddings, not biases or LayerNorm scales).
"""
from __future__ import annotations

from collections.abc import Sequence

import jax
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


def _decay_mask(params):
  """True for leaves that receive weight decay (ndim ≥ 2)."""
  return jax.tree.map(lambda p: p.ndim >= 2, params)


def make_optimizer(opt: ml_collections.ConfigDict, num_steps: int
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optax transformation and its learning-rate schedule for `config.optimizer`.

  Names: adamw (bias-corrected Adam, eps outside the sqrt = bert4keras Adam with eps 1e-6, plus
  decoupled weight decay), adax / adaxw (`flaxnlp.optim`; b2 is AdaX's β2, e.g. 1e-4), sgd
  (with `momentum`).
  """
  schedule = make_schedule(opt, num_steps)
  wd = float(opt.weight_decay)
  if opt.name in ("adax", "adaxw") and opt.b2 > 0.1:
    raise ValueError(f"config.optimizer.b2={opt.b2} looks like Adam's β2; AdaX's β2 is the growth "
                     "rate of its second moment (paper default 1e-4)")
  if opt.name == "adamw":
    tx = optax.adamw(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps, weight_decay=wd,
                     mask=_decay_mask)
  elif opt.name == "adax":
    from flaxnlp import optim  # pylint: disable=import-outside-toplevel
    tx = optim.adax(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps, weight_decay=wd)
  elif opt.name == "adaxw":
    from flaxnlp import optim  # pylint: disable=import-outside-toplevel
    tx = optim.adaxw(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps, weight_decay=wd,
                     mask=_decay_mask)
  elif opt.name == "sgd":
    tx = optax.sgd(schedule, momentum=float(opt.momentum) or None)
  else:
    raise ValueError(f"unknown optimizer {opt.name!r}; valid: adamw | adax | adaxw | sgd")
  if opt.clip_norm:
    tx = optax.chain(optax.clip_by_global_norm(float(opt.clip_norm)), tx)
  return tx, schedule


def ema_update(ema, params, decay: float):
  """One EMA step, ema ← decay · ema + (1 − decay) · params (ema starts at zeros)."""
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema, params)


def ema_debiased(ema, step: jax.Array, decay: float):
  """bert4keras evaluation weights: ema / (1 − decay^step) (zero-initialised EMA after `step` updates)."""
  correction = 1.0 - jnp.power(jnp.float32(decay), jnp.asarray(step, jnp.float32))
  return jax.tree.map(lambda e: e / jnp.maximum(correction, 1e-12).astype(e.dtype), ema)
