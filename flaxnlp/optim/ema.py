"""Exponential moving average of params for evaluation (`config.optimizer.ema`, bert4keras)."""
import jax
import jax.numpy as jnp


def ema_update(ema, params, decay: float):
  """One EMA step, ema ← decay · ema + (1 − decay) · params (ema starts at zeros)."""
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema, params)


def ema_debiased(ema, step: jax.Array, decay: float):
  """bert4keras evaluation weights: ema / (1 − decay^step) (zero-initialised EMA after `step` updates)."""
  correction = 1.0 - jnp.power(jnp.float32(decay), jnp.asarray(step, jnp.float32))
  return jax.tree.map(lambda e: e / jnp.maximum(correction, 1e-12).astype(e.dtype), ema)
