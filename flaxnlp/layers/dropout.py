"""Dropout whose masks cost half the random bits: two 16-bit draws from every 32-bit word.

`jax.random.bernoulli` spends one 32-bit threefry word per element. On CPU that is the expensive
part of dropout (≈ 12 ns per element, ten times an erf GELU; `benchmarks/train_step_breakdown.py`),
and BERT-base draws 170M mask elements per B4×S512 train step, mostly on the attention
probabilities. Here each word gives two elements, which halves the generator's work.

Convention: with t = round(rate · 2¹⁶), an element is kept when its 16-bit draw u satisfies
u ≥ t and is then scaled by 2¹⁶ / (2¹⁶ − t). The realised rate t / 2¹⁶ is within 2⁻¹⁷ of `rate`
(0.1 → 0.100006) and the output is exactly unbiased for it, E[dropout(x)] = x. Masks are drawn
along the last axis in pairs, so the leading axes keep their sharding.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

_LEVELS = 1 << 16


def keep_threshold(rate: float) -> int:
  """16-bit threshold t: elements whose draw is ≥ t are kept (realised rate t / 2¹⁶)."""
  return int(round(rate * _LEVELS))


def uint16_draws(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
  """uint16 random draws of `shape`, two per 32-bit word of `jax.random.bits` along the last axis.

  Element [..., j] is the low (j even) or high (j odd) half of word [..., j // 2] in the little-
  endian bitcast order of `lax.bitcast_convert_type`.
  """
  *lead, last = shape
  words = jax.random.bits(key, (*lead, (last + 1) // 2), jnp.uint32)
  halves = jax.lax.bitcast_convert_type(words, jnp.uint16)  # [..., ceil(last / 2), 2]
  return halves.reshape(*lead, -1)[..., :last]


def dropout(x: jax.Array, rate: float, key: jax.Array) -> jax.Array:
  """Inverted dropout of `x` (see the module docstring for the exact convention)."""
  threshold = keep_threshold(rate)
  if threshold == 0:
    return x
  if threshold == _LEVELS:
    return jnp.zeros_like(x)
  keep = uint16_draws(key, x.shape) >= threshold
  scale = jnp.asarray(_LEVELS / (_LEVELS - threshold), x.dtype)
  return jnp.where(keep, x * scale, jnp.zeros((), x.dtype))


class Dropout(nn.Module):
  """`nn.Dropout` with half-cost masks; draws its key from the "dropout" rng collection."""
  rate: float

  @nn.compact
  def __call__(self, x: jax.Array, deterministic: bool) -> jax.Array:
    if deterministic or keep_threshold(self.rate) == 0:
      return x
    return dropout(x, self.rate, self.make_rng("dropout"))
