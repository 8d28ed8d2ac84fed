"""Tiger: a float64 numpy transcription of bojone/tiger's update, and optax-style properties."""
import doctest
import importlib

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optim_testing import (assert_trees_close, check_chain_with_clipping,
                           check_dtypes_and_state_structure, check_masked,
                           check_single_compilation, random_tree, run_updates)

from flaxnlp.optim import TigerState, tiger, tiger_param_kinds

# ---- Reference ---------------------------------------------------------------------------------

# A Flax-named tree with every kind: path → (shape, kind, initial values' centre).
LEAVES = {
    ("embeddings", "word_embeddings", "embedding"): ((6, 4), "embedding", 0.0),
    ("embeddings", "layer_norm", "scale"): ((4,), "norm_scale", 1.0),
    ("embeddings", "layer_norm", "bias"): ((4,), "norm_offset", 0.0),
    ("layer_0", "dense", "kernel"): ((4, 3), "kernel", 0.0),
    ("layer_0", "dense", "bias"): ((3,), "bias", 0.0),
    ("mlm_bias",): ((6,), "bias", 0.0),
}


def _nest(flat):
  tree = {}
  for path, value in flat.items():
    node = tree
    for key in path[:-1]:
      node = node.setdefault(key, {})
    node[path[-1]] = value
  return tree


def _flat(tree):
  return {tuple(k.key for k in path): np.asarray(x)
          for path, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


def make_params(seed=0):
  rng = np.random.default_rng(seed)
  return {path: centre + 0.5 * rng.normal(size=shape)
          for path, (shape, _, centre) in LEAVES.items()}


def make_grads(steps, seed=1, nan_at=()):
  """`steps` gradient dicts; (step, path) pairs in `nan_at` get one NaN entry."""
  rng = np.random.default_rng(seed)
  grads = [{path: rng.normal(size=shape) for path, (shape, _, _) in LEAVES.items()}
           for _ in range(steps)]
  for step, path in nan_at:
    grads[step][path].flat[1] = np.nan
  return grads


def numpy_tiger(theta0, grads, lr, beta=0.965, wd=0.01, shrink=0.99, k=1):
  """bojone/tiger in float64, one micro-step t per gradient dict (0-based).

  b1 = β at the first micro-step of a cycle (t mod k = 0) else 1; m ← b1·m + (1−β)/k·g; at the
  cycle's last micro-step θ ← θ − η·(sign(m) + λθ), η = lr·RMS(θ) (kernels), lr·row-RMS
  (embeddings), lr/2 with λ = 0 (biases, norm scales/offsets). A NaN in a leaf's gradient: m kept,
  θ ← c + s·(θ − c), c = 1 for norm scales else 0. `lr(u)` is the schedule at update u = t // k.
  """
  theta = {p: v.astype(np.float64).copy() for p, v in theta0.items()}
  m = {p: np.zeros_like(v) for p, v in theta.items()}
  for t, g_t in enumerate(grads):
    rate = lr(t // k) if callable(lr) else lr
    for path, (_, kind, _) in LEAVES.items():
      g = g_t[path].astype(np.float64)
      if np.isnan(g).any():
        c = 1.0 if kind == "norm_scale" else 0.0
        theta[path] = c + shrink * (theta[path] - c)
        continue
      m[path] = (beta if t % k == 0 else 1.0) * m[path] + (1 - beta) / k * g
      if (t + 1) % k != 0:
        continue
      th = theta[path]
      if kind == "kernel":
        eta, decay = rate * np.sqrt(np.mean(th ** 2)), wd
      elif kind == "embedding":
        eta, decay = rate * np.sqrt(np.mean(th ** 2, axis=-1, keepdims=True)), wd
      else:
        eta, decay = rate / 2, 0.0
      theta[path] = th - eta * (np.sign(m[path]) + decay * th)
  return theta, m


def run_tiger(tx, theta0, grads, dtype=np.float64):
  """All steps through one jitted update; returns (flat params, state, per-step flat updates)."""
  params = _nest({p: jnp.asarray(v, dtype) for p, v in theta0.items()})
  state = tx.init(params)
  update = jax.jit(tx.update)
  steps = []
  for g in grads:
    u, state = update(_nest({p: jnp.asarray(v, dtype) for p, v in g.items()}), state, params)
    params = optax.apply_updates(params, u)
    steps.append(_flat(u))
  assert update._cache_size() == 1  # pylint: disable=protected-access
  return _flat(params), state, steps


def _assert_tree_close(got, want, **tol):
  assert got.keys() == want.keys()
  for path in want:
    np.testing.assert_allclose(got[path], want[path], err_msg=str(path), **tol)


# ---- Against the reference ---------------------------------------------------------------------

def test_default_kinds_of_a_flax_tree():
  params = _nest(make_params())
  kinds = {path: kind for path, (_, kind, _) in LEAVES.items()}
  assert _flat(tiger_param_kinds(params)) == {p: np.asarray(k) for p, k in kinds.items()}


def test_bert_parameter_kinds():
  """Every leaf of flaxnlp's BERT (with the MLM head) gets the kind its role calls for."""
  from flaxnlp import configs  # pylint: disable=import-outside-toplevel
  from flaxnlp.models import bert  # pylint: disable=import-outside-toplevel
  cfg = bert.BertConfig.from_dict(configs.bert_config(
      vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
      intermediate_size=16))
  ids = jnp.ones((1, 4), jnp.int32)
  shapes = jax.eval_shape(lambda: bert.Bert(cfg, mlm_head=True).init(jax.random.key(0), ids))
  params = nn.unbox(shapes["params"])  # the trainer's optimizer sees unboxed params
  kinds = jax.tree_util.tree_flatten_with_path(tiger_param_kinds(params))[0]
  by_name = {"/".join(str(k.key) for k in path): kind for path, kind in kinds}
  for name, kind in by_name.items():
    leaf, parent = name.split("/")[-1], name.split("/")[-2] if "/" in name else ""
    if leaf == "embedding":
      want = "embedding"
    elif "norm" in parent:
      want = {"scale": "norm_scale", "bias": "norm_offset"}[leaf]
    elif leaf in ("bias", "mlm_bias"):
      want = "bias"
    else:
      assert leaf == "kernel", name
      want = "kernel"
    assert kind == want, name
  assert {"embedding", "kernel", "bias", "norm_scale", "norm_offset"} == set(by_name.values())


@pytest.mark.parametrize("k", [1, 3])
def test_matches_float64_reference(k):
  theta0 = make_params()
  grads = make_grads(6 * k)
  schedule = lambda u: 0.02 - 0.015 * jnp.minimum(u, 6) / 6  # linear 0.02 → 0.005 over 6 updates
  with jax.enable_x64(True):
    want, want_m = numpy_tiger(theta0, grads, lr=lambda u: float(schedule(u)), k=k)
    got, state, steps = run_tiger(tiger(schedule, grad_accum_steps=k), theta0, grads)
  # float64 through the same formula: only summation order in the RMS differs.
  _assert_tree_close(got, want, rtol=1e-12, atol=1e-14)
  _assert_tree_close(_flat(state.m), want_m, rtol=1e-12, atol=1e-15)
  assert int(state.count) == 6 * k
  for t, u in enumerate(steps):  # zero update except at each cycle's last micro-step
    assert all(np.all(x == 0) for x in u.values()) == ((t + 1) % k != 0)
  assert max(np.abs(want[p] - theta0[p]).max() for p in want) > 0.05  # it really moved


@pytest.mark.parametrize("k", [1, 3])
def test_nan_gradient_keeps_momentum_and_shrinks(k):
  """A NaN in a kernel and a norm scale at micro-step 4: those two shrink (toward 0 and 1); the
  others update normally; the two momenta keep their value across the step."""
  theta0 = make_params()
  nan_leaves = [("layer_0", "dense", "kernel"), ("embeddings", "layer_norm", "scale")]
  grads = make_grads(2 * k + 3, nan_at=[(4, p) for p in nan_leaves])
  want, _ = numpy_tiger(theta0, grads, lr=0.02, k=k)
  _, m_before = numpy_tiger(theta0, grads[:4], lr=0.02, k=k)
  with jax.enable_x64(True):
    tx = tiger(0.02, grad_accum_steps=k)
    got, _, steps = run_tiger(tx, theta0, grads)
    _, state4, _ = run_tiger(tx, theta0, grads[:4])
    _, state5, _ = run_tiger(tx, theta0, grads[:5])
  _assert_tree_close(got, want, rtol=1e-12, atol=1e-14)
  assert all(np.isfinite(v).all() for v in got.values())
  for path in nan_leaves:
    np.testing.assert_array_equal(_flat(state5.m)[path], _flat(state4.m)[path])
    np.testing.assert_allclose(_flat(state4.m)[path], m_before[path], rtol=1e-12)
  # The shrink step itself, written out: θ4 + u4 = c + 0.99·(θ4 − c).
  theta4, _ = numpy_tiger(theta0, grads[:4], lr=0.02, k=k)
  scale = ("embeddings", "layer_norm", "scale")
  np.testing.assert_allclose(theta4[scale] + steps[4][scale], 1 + 0.99 * (theta4[scale] - 1),
                             rtol=1e-12)


def test_float32_matches_reference():
  """float32 params: 20 steps against float64. A sign flip would move a coordinate by 2η ≈ 0.02;
  none occurs (|m| stays far above float32 rounding), so the error is θ's rounding, ≲ 1e-6."""
  theta0 = make_params()
  grads = make_grads(20)
  want, _ = numpy_tiger(theta0, grads, lr=0.01)
  got, _, _ = run_tiger(tiger(0.01), theta0, grads, dtype=np.float32)
  _assert_tree_close(got, want, rtol=0, atol=2e-6)


def test_zero_kernel_stays_put_unless_given_the_bias_kind():
  """No RMS floor (as published): a zero kernel has η = 0; as kind "bias" it moves by lr/2."""
  params = {"dense": {"kernel": jnp.zeros((2, 2)), "bias": jnp.zeros(2)}}
  grads = jax.tree.map(jnp.ones_like, params)
  u, _ = tiger(0.1).update(grads, tiger(0.1).init(params), params)
  np.testing.assert_array_equal(np.asarray(u["dense"]["kernel"]), 0.0)
  kinds = {"dense": {"kernel": "bias", "bias": "bias"}}
  tx = tiger(0.1, param_kinds=kinds)
  u, _ = tx.update(grads, tx.init(params), params)
  np.testing.assert_allclose(np.asarray(u["dense"]["kernel"]), -0.05)


def test_rejects_unknown_kind_and_missing_params():
  params = {"w": jnp.ones(2)}
  tx = tiger(0.1, param_kinds={"w": "gain"})
  with pytest.raises(ValueError, match="unknown tiger param kind 'gain'"):
    tx.update(params, tx.init(params), params)
  with pytest.raises(ValueError, match="needs params"):
    tiger(0.1).update(params, tiger(0.1).init(params))
  with pytest.raises(ValueError, match="grad_accum_steps"):
    tiger(0.1, grad_accum_steps=0)


def test_internal_accumulation_equals_multisteps_on_the_mean():
  """Accumulating in the momentum = optax.MultiSteps(k) averaging gradients for a k = 1 Tiger."""
  theta0 = make_params()
  grads = make_grads(9)
  with jax.enable_x64(True):
    inner, _, _ = run_tiger(tiger(0.02, grad_accum_steps=3), theta0, grads)
    multi, _, _ = run_tiger(optax.MultiSteps(tiger(0.02), every_k_schedule=3), theta0, grads)
  _assert_tree_close(inner, multi, rtol=1e-12, atol=1e-14)


# ---- Properties (as tests/optim_adax_test.py) -------------------------------------------------
# (id, kwargs, scheduled): the learning rate is wrapped in a warm-up + cosine schedule when
# `scheduled`.
REGISTRY = [
    ("tiger", {"weight_decay": 0.0}, False),
    ("tiger_decay", {}, False),
    ("tiger_schedule", {}, True),
]
IDS = [entry[0] for entry in REGISTRY]


def _lr(lr, scheduled):
  return optax.warmup_cosine_decay_schedule(0.0, lr, 10, 2000) if scheduled else lr


def make(entry, lr):
  _, kwargs, scheduled = entry
  return tiger(learning_rate=_lr(lr, scheduled), **kwargs)





@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_converges_on_quadratic(entry):
  """From x0 = 1 (a zero kernel would never move: η ∝ RMS(x)); steps are lr·RMS(x) ≈ 0.006.

  Sign momentum with β = 0.965 circles the optimum with an amplitude of many steps: measured
  ≤ 0.03 over the last 200 of 1,500 steps (≤ 0.1 at lr = 0.01), hence lr = 0.003.
  """
  target = jnp.array([1.0, -2.0, 3.0])
  tx = make(entry, 0.003)
  loss = lambda x: jnp.sum((x - target) ** 2)

  def body(carry, _):
    x, state = carry
    updates, state = tx.update(jax.grad(loss)(x), state, x)
    return (optax.apply_updates(x, updates), state), None

  x0 = jnp.ones(3)
  (x, _), _ = jax.jit(lambda x, s: jax.lax.scan(body, (x, s), None, length=1500))(x0, tx.init(x0))
  np.testing.assert_allclose(np.asarray(x), np.asarray(target), atol=5e-2)


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_inject_hyperparams(entry):
  """inject_hyperparams(tiger) gives the same updates; a new lr rescales them (linear in lr)."""
  _, kwargs, scheduled = entry
  params = random_tree(0)
  grads = [random_tree(s) for s in (1, 2, 3)]
  injected = optax.inject_hyperparams(tiger)(learning_rate=_lr(0.1, scheduled), **kwargs)
  assert_trees_close(run_updates(injected, grads, params), run_updates(make(entry, 0.1), grads, params))
  if not scheduled:
    state = injected.init(params)
    _, state = injected.update(grads[0], state, params)
    state.hyperparams["learning_rate"] = jnp.asarray(0.01)
    u2, _ = injected.update(grads[1], state, params)
    want = run_updates(make(entry, 0.1), grads[:2], params)[1]
    assert all(np.abs(np.asarray(x)).min() > 0 for x in jax.tree.leaves(want))
    assert_trees_close(u2, jax.tree.map(lambda u: u / 10, want))


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_chain_with_clipping(entry):
  check_chain_with_clipping(lambda lr: make(entry, lr))


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_masked(entry):
  check_masked(lambda lr: make(entry, lr))


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_preserves_dtypes_and_state_structure(entry):
  tx = make(entry, 1e-3)
  assert isinstance(tx.init(random_tree(0)), TigerState)
  check_dtypes_and_state_structure(tx)


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_no_recompilation_on_repeated_updates(entry):
  check_single_compilation(make(entry, 1e-3))


def test_docstring_examples_run():
  result = doctest.testmod(importlib.import_module("flaxnlp.optim.tiger"))
  assert result.attempted >= 5 and result.failed == 0
