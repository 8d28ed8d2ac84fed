"""Packed 16-bit dropout against a numpy transcription of its convention, and its statistics."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from flaxnlp.layers import dropout as dropout_lib


def numpy_draws(key, shape):
  """Reference: the 32-bit words of `jax.random.bits`, each read as two little-endian uint16."""
  *lead, last = shape
  words = np.asarray(jax.random.bits(key, (*lead, (last + 1) // 2), jnp.uint32))
  return words.astype("<u4").view("<u2").reshape(*lead, -1)[..., :last]


@pytest.mark.parametrize("shape", [(3, 8), (2, 5, 7), (1,)])
def test_draws_are_the_halves_of_the_random_words(shape):
  key = jax.random.key(3)
  np.testing.assert_array_equal(dropout_lib.uint16_draws(key, shape), numpy_draws(key, shape))


def test_dropout_matches_the_numpy_formula():
  key, rate = jax.random.key(7), 0.1
  x = np.random.default_rng(0).standard_normal((4, 6, 33)).astype(np.float32)
  t = round(rate * 65536)
  assert t == 6554
  expected = np.where(numpy_draws(key, x.shape) >= t, x * np.float32(65536 / (65536 - t)), 0)
  np.testing.assert_allclose(dropout_lib.dropout(jnp.asarray(x), rate, key), expected, rtol=1e-7)


def test_rate_and_unbiasedness_statistics():
  n, rate = 1 << 21, 0.1
  out = np.asarray(dropout_lib.dropout(jnp.ones((64, n // 64)), rate, jax.random.key(0)))
  dropped = out == 0
  p = 6554 / 65536
  assert abs(dropped.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
  assert abs(out.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)  # E = 1, sd of one element √(p/(1-p))
  # The two halves of a word are independent: their masks are uncorrelated.
  pairs = dropped.reshape(-1, 2).astype(np.float64)
  assert abs(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]) < 5 / np.sqrt(n / 2)


def test_module_identity_zeros_and_rng():
  x = jnp.arange(1.0, 9.0).reshape(2, 4)
  layer = dropout_lib.Dropout(0.5)
  np.testing.assert_array_equal(layer.apply({}, x, deterministic=True), x)
  np.testing.assert_array_equal(dropout_lib.Dropout(0.0).apply({}, x, deterministic=False), x)
  np.testing.assert_array_equal(dropout_lib.Dropout(1.0).apply(
      {}, x, deterministic=False, rngs={"dropout": jax.random.key(0)}), np.zeros((2, 4)))
  key = jax.random.key(1)
  got = layer.apply({}, x, deterministic=False, rngs={"dropout": key})
  kept = np.asarray(got) != 0
  np.testing.assert_array_equal(np.asarray(got)[kept], 2 * np.asarray(x)[kept])
  with pytest.raises(Exception, match="dropout"):
    layer.apply({}, x, deterministic=False)


def test_masks_do_not_depend_on_the_batch_sharding():
  mesh = jax.make_mesh((8,), ("data",), devices=jax.devices()[:8])
  sharded = NamedSharding(mesh, P("data"))
  x, key = jnp.ones((16, 4, 10)), jax.random.key(5)
  fn = lambda x, k: dropout_lib.dropout(x, 0.3, k)  # noqa: E731
  got = jax.jit(fn, in_shardings=(sharded, None), out_shardings=sharded)(x, key)
  np.testing.assert_array_equal(got, jax.jit(fn)(x, key))
