"""Helpers shared by the optimizer property tests (optim_adax_test.py, optim_tiger_test.py)."""
import jax
import jax.numpy as jnp
import numpy as np


def random_tree(seed, scale=1.0):
  """A two-leaf params/gradient tree: "kernel" float32 [3, 2] and "bias" [2], N(0, scale²)."""
  rng = np.random.default_rng(seed)
  return {"kernel": jnp.asarray(rng.normal(size=(3, 2)) * scale, jnp.float32),
          "bias": jnp.asarray(rng.normal(size=2) * scale, jnp.float32)}


def run_updates(tx, grads_seq, params):
  """Updates of `tx` for each gradient tree in `grads_seq` (params fixed)."""
  state = tx.init(params)
  out = []
  for g in grads_seq:
    u, state = tx.update(g, state, params)
    out.append(u)
  return out


def assert_trees_close(a, b, rtol=1e-6, atol=1e-7):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol,
                                                       atol=atol), a, b)
