"""The optimizer registry: `config.optimizer.name` → a factory returning an optax transform.

Chain: [clip_by_global_norm(clip_norm)] → optimizer(schedule) → [× encoder_lr_multiplier on the
pretrained encoder's updates], the optimizer looked up by name in `OPTIMIZERS`, the schedule from
`flaxnlp.optim.schedules`. Weight decay is applied to parameters with ndim ≥ 2 only (kernels and
embeddings, not biases or LayerNorm scales); Tiger selects them by parameter kind.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable

import jax
import ml_collections
import optax

from flaxnlp.errors import UserError
from flaxnlp.optim.adax import adax, adaxw
from flaxnlp.optim.tiger import tiger
from flaxnlp.optim.schedules import make_schedule


def _decay_mask(params):
  """True for leaves that receive weight decay (ndim ≥ 2)."""
  return jax.tree.map(lambda p: p.ndim >= 2, params)


def _l2(wd: float) -> optax.GradientTransformation:
  """Coupled L2 on the ndim ≥ 2 leaves (g ← g + wd·θ), for optimizers without their own decay."""
  return optax.add_decayed_weights(wd, _decay_mask) if wd else optax.identity()


OptimizerFactory = Callable[[ml_collections.ConfigDict, optax.Schedule],
                            optax.GradientTransformation]
# Name → factory(config.optimizer, schedule) returning the optax transform (without clipping).
OPTIMIZERS: dict[str, OptimizerFactory] = {}


def register_optimizer(name: str):
  """Function decorator: `@register_optimizer("adam") def _adam(opt, schedule): ...`."""
  def wrap(factory: OptimizerFactory) -> OptimizerFactory:
    if name in OPTIMIZERS and OPTIMIZERS[name] is not factory:
      raise ValueError(f"optimizer {name!r} is already registered")
    OPTIMIZERS[name] = factory
    return factory
  return wrap


# Weight decay `opt.weight_decay` always reaches the ndim ≥ 2 leaves only (kernels and embeddings,
# not biases or LayerNorm scales); Tiger picks its leaves by kind
# (`flaxnlp.optim.tiger_param_kinds`).

@register_optimizer("adamw")
def _adamw(opt, schedule):
  """Bias-corrected Adam, ε outside the sqrt (bert4keras Adam with ε = 1e-6) + decoupled decay."""
  return optax.adamw(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps,
                     weight_decay=float(opt.weight_decay), mask=_decay_mask)


@register_optimizer("adam")
def _adam(opt, schedule):
  """Adam (b1, b2, eps) with coupled L2 (`weight_decay` added to the gradient, as torch's Adam)."""
  return optax.chain(_l2(float(opt.weight_decay)),
                     optax.adam(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps))


@register_optimizer("sgd")
def _sgd(opt, schedule):
  """SGD with heavy-ball `momentum` (0 = none) and coupled L2 `weight_decay`."""
  return optax.chain(_l2(float(opt.weight_decay)),
                     optax.sgd(schedule, momentum=float(opt.momentum) or None))


@register_optimizer("lamb")
def _lamb(opt, schedule):
  """LAMB (b1, b2, eps; decoupled `weight_decay` inside the trust ratio)."""
  return optax.lamb(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps,
                    weight_decay=float(opt.weight_decay), mask=_decay_mask)


@register_optimizer("lion")
def _lion(opt, schedule):
  """Lion (b1, b2; the paper's defaults are 0.9, 0.99) with decoupled `weight_decay`."""
  return optax.lion(schedule, b1=opt.b1, b2=opt.b2, weight_decay=float(opt.weight_decay),
                    mask=_decay_mask)


@register_optimizer("adafactor")
def _adafactor(opt, schedule):
  """optax's Adafactor with its own defaults; `weight_decay` is its (lr-free) decay rate."""
  wd = float(opt.weight_decay)
  return optax.adafactor(schedule, weight_decay_rate=wd or None, weight_decay_mask=_decay_mask)


def _check_adax_b2(opt):
  if opt.b2 > 0.1:
    raise UserError(f"config.optimizer.b2={opt.b2} looks like Adam's β2; AdaX's β2 is the growth "
                     "rate of its second moment (paper default 1e-4)")


@register_optimizer("adax")
def _adax(opt, schedule):
  """AdaX (`flaxnlp.optim`; b2 is AdaX's β2, e.g. 1e-4) with coupled L2 `weight_decay`."""
  _check_adax_b2(opt)
  return adax(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps,
                    weight_decay=float(opt.weight_decay), mask=_decay_mask)


@register_optimizer("adaxw")
def _adaxw(opt, schedule):
  """AdaX-W (`flaxnlp.optim`): AdaX with decoupled `weight_decay`."""
  _check_adax_b2(opt)
  return adaxw(schedule, b1=opt.b1, b2=opt.b2, eps=opt.eps,
                     weight_decay=float(opt.weight_decay), mask=_decay_mask)


@register_optimizer("tiger")
def _tiger(opt, schedule):
  """Tiger (`flaxnlp.optim`; `beta`, `shrink_ratio`, `weight_decay`; published decay 0.01).

  The trainer averages the micro-batch gradients itself, so Tiger's own accumulation stays at 1.
  """
  return tiger(schedule, beta=float(opt.beta), weight_decay=float(opt.weight_decay),
                     shrink_ratio=float(opt.shrink_ratio))


def scale_subtree(key: tuple[str, ...], multiplier: float) -> optax.GradientTransformation:
  """Multiplies the updates of the params subtree at dict path `key` (() = every leaf) by
  `multiplier`. After an optimizer whose update is lr × direction (all of `OPTIMIZERS`), this is
  that subtree's learning rate — and its decoupled decay — times `multiplier`."""
  def in_subtree(params):
    def prefix(path):
      return tuple(getattr(k, "key", None) for k in path[:len(key)])
    return jax.tree_util.tree_map_with_path(lambda path, _: prefix(path) == key, params)
  return optax.masked(optax.scale(multiplier), in_subtree)


def make_optimizer(opt: ml_collections.ConfigDict, num_steps: int,
                   encoder_key: tuple[str, ...] = ("encoder",)
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optax transformation and its learning-rate schedule for `config.optimizer`.

  `opt.name` is a key of `OPTIMIZERS`: adamw, adam, sgd, lamb, lion, adafactor, adax, adaxw,
  tiger (each factory's docstring says which config fields it reads). `clip_norm` > 0 prepends
  `clip_by_global_norm`. `encoder_lr_multiplier` ≠ 1 scales the learning rate of the params
  subtree `encoder_key` (the task's pretrained encoder, `Task.encoder_key`) against the freshly
  initialised heads' — discriminative fine-tuning.
  """
  if opt.name not in OPTIMIZERS:
    close = difflib.get_close_matches(str(opt.name), OPTIMIZERS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UserError(f"unknown optimizer {opt.name!r}{hint}; valid: {' | '.join(OPTIMIZERS)}")
  schedule = make_schedule(opt, num_steps)
  tx = OPTIMIZERS[opt.name](opt, schedule)
  if opt.clip_norm:
    tx = optax.chain(optax.clip_by_global_norm(float(opt.clip_norm)), tx)
  multiplier = float(opt.get("encoder_lr_multiplier", 1.0))  # absent in older workdirs' configs
  if multiplier != 1:
    tx = optax.chain(tx, scale_subtree(tuple(encoder_key), multiplier))
  return tx, schedule
