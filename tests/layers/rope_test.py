"""Interleaved RoPE (kexue.fm/archives/8373) against a numpy implementation."""
import numpy as np
import pytest

from flaxnlp.layers.rope import apply_rope, sinusoidal_positions


def numpy_rope(x, positions, base=10000.0):
  """Loop-per-pair reference: pair (2m, 2m+1) at position p rotated by p·base^{-2m/d}."""
  x = np.asarray(x, np.float64)
  out = np.empty_like(x)
  d = x.shape[-1]
  for idx in np.ndindex(*x.shape[:-1]):
    p = positions[idx[-1]]
    for m in range(d // 2):
      angle = p * base ** (-2.0 * m / d)
      a, b = x[idx + (2 * m,)], x[idx + (2 * m + 1,)]
      out[idx + (2 * m,)] = a * np.cos(angle) - b * np.sin(angle)
      out[idx + (2 * m + 1,)] = b * np.cos(angle) + a * np.sin(angle)
  return out


def test_sinusoidal_positions_layout():
  table = np.asarray(sinusoidal_positions(7, 6))
  p, m = np.arange(7)[:, None], np.arange(3)[None, :]
  angle = p * 10000.0 ** (-2.0 * m / 6)
  np.testing.assert_allclose(table[:, 0::2], np.sin(angle), atol=1e-6)
  np.testing.assert_allclose(table[:, 1::2], np.cos(angle), atol=1e-6)


def test_apply_rope_matches_numpy():
  x = np.random.default_rng(0).normal(size=(2, 3, 9, 8)).astype(np.float32)
  np.testing.assert_allclose(np.asarray(apply_rope(x)), numpy_rope(x, np.arange(9)),
                             rtol=1e-5, atol=1e-5)


def test_apply_rope_explicit_positions():
  x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
  positions = np.array([3, 0, 7, 100, 2])
  np.testing.assert_allclose(np.asarray(apply_rope(x, positions)), numpy_rope(x, positions),
                             rtol=1e-5, atol=1e-4)


def test_pairs_are_interleaved_not_rotate_half():
  # A unit vector on channel 0 at position 1 moves into channel 1 (its pair), not channel d/2.
  x = np.zeros((2, 8), np.float32)
  x[:, 0] = 1.0
  out = np.asarray(apply_rope(x))
  np.testing.assert_allclose(out[1], [np.cos(1.0), np.sin(1.0), 0, 0, 0, 0, 0, 0], atol=1e-6)
  np.testing.assert_allclose(out[0], x[0])  # position 0 ([CLS]) is not rotated


def test_scores_depend_on_relative_position_only():
  rng = np.random.default_rng(2)
  q, k = rng.normal(size=(2, 16)).astype(np.float32)
  n = 12
  qs = np.asarray(apply_rope(np.tile(q, (n, 1))))
  ks = np.asarray(apply_rope(np.tile(k, (n, 1))))
  scores = qs @ ks.T                                   # scores[i, j] = (R_i q)·(R_j k)
  for offset in range(-n + 1, n):
    diagonal = np.diagonal(scores, offset)
    np.testing.assert_allclose(diagonal, diagonal[0], rtol=1e-4, atol=1e-4)
  assert abs(scores[0, 1] - scores[0, 2]) > 1e-3     # and they do depend on j − i


def test_odd_dim_rejected():
  with pytest.raises(ValueError, match="even"):
    apply_rope(np.zeros((3, 5), np.float32))
