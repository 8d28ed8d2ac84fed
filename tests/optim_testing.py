"""Helpers shared by the optimizer property tests (optim_adax_test.py, optim_tiger_test.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax


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


def check_chain_with_clipping(make_tx):
  """chain(clip_by_global_norm(1), tx) = tx on gradients rescaled to norm 1 by hand.

  `make_tx(learning_rate)` builds the transformation under test.
  """
  params = random_tree(0)
  grads = [random_tree(s, scale=10.0) for s in (1, 2, 3)]
  norm = lambda g: np.sqrt(sum(np.sum(np.square(np.asarray(x, np.float64)))
                               for x in jax.tree.leaves(g)))
  clipped = [jax.tree.map(lambda x, g=g: x / norm(g), g) for g in grads]
  got = run_updates(optax.chain(optax.clip_by_global_norm(1.0), make_tx(0.1)), grads, params)
  assert_trees_close(got, run_updates(make_tx(0.1), clipped, params), rtol=1e-5)


def check_masked(make_tx):
  """optax.masked: masked-in leaves follow tx on their own subtree, the rest pass through."""
  params = random_tree(0)
  grads = [random_tree(s) for s in (1, 2, 3)]
  got = run_updates(optax.masked(make_tx(0.1), {"kernel": True, "bias": False}), grads, params)
  only = run_updates(make_tx(0.1), [{"kernel": g["kernel"]} for g in grads],
                     {"kernel": params["kernel"]})
  for u, uk, g in zip(got, only, grads):
    assert_trees_close(u["kernel"], uk["kernel"])
    np.testing.assert_array_equal(np.asarray(u["bias"]), np.asarray(g["bias"]))


def check_dtypes_and_state_structure(tx):
  """Two updates keep every leaf's shape and dtype in updates, params (bf16 stays bf16), state."""
  params = {"bias": jnp.ones(4, jnp.bfloat16), "kernel": jnp.ones((2, 2), jnp.float32)}
  state = tx.init(params)
  spec = lambda tree: jax.tree.map(lambda x: (x.shape, x.dtype), tree)
  for _ in range(2):
    updates, new_state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
    assert spec(updates) == spec(params)
    new_params = optax.apply_updates(params, updates)
    assert spec(new_params) == spec(params)
    assert spec(new_state) == spec(state)
    params, state = new_params, new_state


def check_single_compilation(tx):
  """Five jitted updates with new gradients compile once."""
  params = random_tree(0)
  state = tx.init(params)
  update = jax.jit(tx.update)
  for s in range(5):
    _, state = update(random_tree(s), state, params)
  assert update._cache_size() == 1  # pylint: disable=protected-access
