"""Rotary position embedding (RoPE) with interleaved channel pairs, as used by GlobalPointer.

Channel pairs are (2m, 2m+1) — bert4keras' `SinusoidalPositionEmbedding` + `apply_rotary_position_
embeddings` layout — not the "rotate-half" layout of GPT-NeoX / HF Llama. Frequencies are
θ_m = base^{−2m/d}, m = 0…d/2−1 (base 10000), and positions start at 0 (the [CLS] token).
Rotating q_i by angle i·θ and k_j by j·θ makes (R_i q)·(R_j k) = q·R_{j−i} k depend on j − i only.
"""
from typing import Optional

import jax.numpy as jnp


def _angles(positions: jnp.ndarray, dim: int, base: float) -> jnp.ndarray:
  """Rotation angles p·θ_m, float32 [..., dim // 2] for integer or float positions [...]."""
  if dim % 2:
    raise ValueError(f"RoPE needs an even channel count, got {dim}")
  inv_freq = base ** (-jnp.arange(0, dim, 2, dtype=jnp.float32) / dim)  # θ_m = base^{-2m/d}
  return jnp.asarray(positions, jnp.float32)[..., None] * inv_freq


def sinusoidal_positions(length: int, dim: int, base: float = 10000.0) -> jnp.ndarray:
  """Interleaved sinusoidal table, float32 [length, dim].

  Entry [p, 2m] = sin(p·θ_m) and [p, 2m+1] = cos(p·θ_m), θ_m = base^{−2m/dim}, p = 0…length−1
  (the layout of bert4keras' `SinusoidalPositionEmbedding(merge_mode='zero')`).
  """
  angles = _angles(jnp.arange(length), dim, base)
  return jnp.stack([jnp.sin(angles), jnp.cos(angles)], axis=-1).reshape(length, dim)


def apply_rope(x: jnp.ndarray, positions: Optional[jnp.ndarray] = None,
               base: float = 10000.0) -> jnp.ndarray:
  """Rotates channel pairs (2m, 2m+1) of `x` [..., N, d] by angle p·θ_m.

  (x_{2m}, x_{2m+1}) → (x_{2m} cos − x_{2m+1} sin, x_{2m+1} cos + x_{2m} sin), θ_m = base^{−2m/d}.

  Args:
    x: [..., N, d] with d even.
    positions: positions broadcastable to x.shape[:-1]; default arange(N) (position 0 = [CLS]).
    base: frequency base (10000).

  Returns:
    Rotated array, same shape and dtype as `x` (angles and products are computed in float32).
  """
  n, d = x.shape[-2:]
  if positions is None:
    positions = jnp.arange(n)
  angles = _angles(positions, d, base)                   # [..., N, d/2]
  sin, cos = jnp.sin(angles), jnp.cos(angles)
  pairs = x.astype(jnp.float32).reshape(*x.shape[:-1], d // 2, 2)
  even, odd = pairs[..., 0], pairs[..., 1]
  rotated = jnp.stack([even * cos - odd * sin, odd * cos + even * sin], axis=-1)
  return rotated.reshape(x.shape).astype(x.dtype)
