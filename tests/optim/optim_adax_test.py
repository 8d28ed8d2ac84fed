"""AdaX / AdaX-W: a float64 numpy reference of the paper's equations, and optax-style properties."""
import doctest
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optim_testing import (assert_trees_close, check_chain_with_clipping,
                           check_dtypes_and_state_structure, check_masked,
                           check_single_compilation, random_tree, run_updates)

from flaxnlp.optim import ScaleByAdaxState, adax, adaxw, scale_by_adax


def numpy_adax(grads, theta0, lr, b1=0.9, b2=1e-4, eps=1e-6, weight_decay=0.0, decoupled=False,
               placement="sqrt_vhat"):
  """The paper's update in float64, with the *unnormalised* v_t = (1+β2) v + β2 g²."""
  theta = theta0.astype(np.float64).copy()
  m = np.zeros_like(theta)
  v = np.zeros_like(theta)
  for t, g in enumerate(grads, start=1):
    g = g.astype(np.float64)
    lr_t = lr(t - 1) if callable(lr) else lr
    if weight_decay and not decoupled:
      g = g + weight_decay * theta
    m = b1 * m + (1 - b1) * g
    v = (1 + b2) * v + b2 * g * g
    c = (1 + b2) ** t - 1
    if placement == "sqrt_vhat":
      step = m / (np.sqrt(v / c) + eps)
    elif placement == "sqrt_v":
      step = np.sqrt(c) * m / (np.sqrt(v) + eps)
    else:
      step = m / np.sqrt(v / c + eps)
    if decoupled:
      theta = theta * (1 - lr_t * weight_decay) - lr_t * step
    else:
      theta = theta - lr_t * step
  return theta


def run_optax(tx, grads, theta0):
  params = jnp.asarray(theta0)
  state = tx.init(params)
  update = jax.jit(tx.update)
  for g in grads:
    updates, state = update(jnp.asarray(g), state, params)
    params = optax.apply_updates(params, updates)
  return params, state


def random_grads(steps=1000, n=16, seed=0, dtype=np.float32):
  rng = np.random.default_rng(seed)
  scales = np.exp(rng.normal(size=n))  # per-coordinate scales over several orders of magnitude
  return [(rng.normal(size=n) * scales).astype(dtype) for _ in range(steps)]


@pytest.mark.parametrize("placement", ["sqrt_vhat", "sqrt_v", "inside_sqrt"])
def test_matches_float64_reference_to_1e6_relative(placement):
  grads = random_grads(dtype=np.float64)
  theta0 = np.random.default_rng(1).normal(size=16)
  eps = 1e-12 if placement == "sqrt_v" else 1e-6
  want = numpy_adax(grads, theta0, lr=1e-2, eps=eps, placement=placement)
  with jax.enable_x64(True):
    got, _ = run_optax(adax(1e-2, eps=eps, eps_placement=placement), grads, theta0)
    got = np.asarray(got)
  assert got.dtype == np.float64
  # Required: 1e-6. Measured ≈ 4e-13 (float64 rounding only), so hold it to 1e-9.
  np.testing.assert_allclose(got, want, rtol=1e-9, atol=0)


def test_float32_matches_reference():
  """float32 over 1,000 steps against the float64 reference.

  The per-step update is exact to a few float32 ulps of itself (|Δθ| ≤ lr·|m|/sqrt(v̂) ≲ 3e-2, so
  ≲ 1e-9 each); what dominates is rounding θ + Δθ to float32 every step: |θ| < 2 here, ulp ≤ 2.4e-7,
  error per step uniform in ±ulp/2, so after T = 1000 steps a random walk with
  σ ≈ sqrt(T)·ulp/sqrt(12) ≈ 2e-6 (measured max 8e-7). Tolerance: absolute 5e-6 (≈ 2.5σ of the
  worst ulp, 6× the measured error); a relative tolerance would be wrong for θ near 0.
  """
  grads = random_grads()
  theta0 = np.random.default_rng(1).normal(size=16).astype(np.float32)
  want = numpy_adax(grads, theta0, lr=1e-2)
  got, _ = run_optax(adax(1e-2), grads, theta0)
  assert np.abs(want).max() < 2
  np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=5e-6)


def test_coupled_l2_matches_reference():
  grads = random_grads(steps=300)
  theta0 = np.random.default_rng(2).normal(size=16)
  want = numpy_adax(grads, theta0, lr=1.5e-3, weight_decay=5e-4)
  with jax.enable_x64(True):
    got, _ = run_optax(adax(1.5e-3, weight_decay=5e-4), grads, theta0)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_adaxw_decays_with_scheduled_lr_and_pre_update_params():
  grads = random_grads(steps=300)
  theta0 = np.random.default_rng(3).normal(size=16)
  schedule = optax.linear_schedule(5e-3, 1e-4, transition_steps=300)
  want = numpy_adax(grads, theta0, lr=lambda s: float(schedule(s)), weight_decay=5e-2,
                    decoupled=True)
  with jax.enable_x64(True):
    got, _ = run_optax(adaxw(schedule, weight_decay=5e-2), grads, theta0)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
  # A constant-lr reference differs: the decay really follows the schedule.
  const = numpy_adax(grads, theta0, lr=5e-3, weight_decay=5e-2, decoupled=True)
  assert np.abs(const - want).max() > 1e-3


def _np_memory_weight(t, b2=1e-4):
  """w_t = 1 − β̂_t = β2 / ((1+β2)^t − 1) in float64 (0 once (1+β2)^t overflows float64)."""
  with np.errstate(over="ignore"):
    return b2 / np.expm1(t * np.log1p(b2))


@pytest.mark.parametrize("count", [2, 1000, 100_000, 887_266, 900_000, 9_999_990])
def test_long_runs_stay_finite_and_match_the_ema_form(count):
  """The paper's v_t overflows float32 near 887k steps; the stored v̂_t stays finite to 1e7.

  The state is set to step `count`, then 10 compiled steps run; the float64 reference uses
  the EMA form v̂_t = v̂_{t−1} + w_t (g² − v̂_{t−1}), w_t = β2/((1+β2)^t − 1). From 887,266 the
  10 steps cross the step (887,273) where (1+β2)^t − 1 itself becomes +inf in float32.
  """
  tx = scale_by_adax()
  rng = np.random.default_rng(count)
  mu, nu = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4)
  grads = rng.normal(size=(10, 4)) * 3
  state = ScaleByAdaxState(count=jnp.asarray(count, jnp.int32),
                           mu=jnp.asarray(mu, jnp.float32), nu=jnp.asarray(nu, jnp.float32))

  def body(state, g):
    u, state = tx.update(g, state)
    return state, u

  state, updates = jax.jit(lambda s, g: jax.lax.scan(body, s, g))(
      state, jnp.asarray(grads, jnp.float32))
  for t, g in enumerate(grads, start=count + 1):
    mu = 0.9 * mu + 0.1 * g
    nu = nu + _np_memory_weight(t) * (g * g - nu)
  assert int(state.count) == count + 10
  assert np.all(np.isfinite(np.asarray(updates))) and np.all(np.isfinite(np.asarray(state.nu)))
  np.testing.assert_allclose(np.asarray(state.nu), nu, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(updates[-1]), mu / (np.sqrt(nu) + 1e-6), rtol=1e-5)
  if count >= 887_266:
    # The normaliser of the paper's form really overflows float32 within these steps.
    assert np.isinf(np.asarray(jnp.expm1(jnp.float32(count + 10) * jnp.log1p(jnp.float32(1e-4)))))


def test_first_step_and_long_term_memory():
  """v̂_1 = g_1²; for t ≪ 1/β2, v̂_t ≈ the uniform average of past g² (β̂_t ≈ 1 − 1/t)."""
  tx = scale_by_adax()
  state = tx.init(jnp.zeros(1))
  gs = np.array([1.0, 3.0, 2.0, 5.0, 4.0], np.float32)
  for i, g in enumerate(gs, start=1):
    _, state = tx.update(jnp.array([g]), state)
    np.testing.assert_allclose(float(state.nu[0]), np.mean(gs[:i] ** 2), rtol=1e-3)


# ---- Property suite over a registry (optax contrib style) -------------------------------------
# (id, factory, kwargs, scheduled): the learning rate is passed as `learning_rate`, wrapped in a
# warm-up + cosine schedule when `scheduled`.
REGISTRY = [
    ("adax", adax, {}, False),
    ("adax_l2", adax, {"weight_decay": 1e-4}, False),
    ("adaxw", adaxw, {"weight_decay": 1e-4}, False),
    ("adaxw_schedule", adaxw, {"weight_decay": 1e-4}, True),
    ("adax_sqrt_v", adax, {"eps": 1e-12, "eps_placement": "sqrt_v"}, False),
]
IDS = [entry[0] for entry in REGISTRY]


def _lr(lr, scheduled):
  return optax.warmup_cosine_decay_schedule(0.0, lr, 10, 2000) if scheduled else lr


def make(entry, lr):
  _, factory, kwargs, scheduled = entry
  return factory(learning_rate=_lr(lr, scheduled), **kwargs)


def _minimise(tx, loss, x0, steps):
  """`steps` updates of `tx` on `loss` from `x0`, as one compiled scan."""
  def body(carry, _):
    x, state = carry
    updates, state = tx.update(jax.grad(loss)(x), state, x)
    return (optax.apply_updates(x, updates), state), None

  x = jnp.asarray(x0, jnp.float32)
  (x, _), _ = jax.jit(lambda x, s: jax.lax.scan(body, (x, s), None, length=steps))(
      x, tx.init(x))
  return x





@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_converges_on_quadratic(entry):
  target = jnp.array([1.0, -2.0, 3.0])
  x = _minimise(make(entry, 0.05), lambda x: jnp.sum((x - target) ** 2), jnp.zeros(3), 1500)
  np.testing.assert_allclose(np.asarray(x), np.asarray(target), atol=5e-2)


# Weight decay moves Rosenbrock's optimum and the schedule decays to 0 before the valley is
# crossed, so this check runs on the entries with a fixed learning rate and (almost) no decay.
ROSENBROCK = [e for e in REGISTRY if e[0] in ("adax", "adax_l2", "adax_sqrt_v")]


@pytest.mark.parametrize("entry", ROSENBROCK, ids=[e[0] for e in ROSENBROCK])
def test_converges_on_rosenbrock(entry):
  rosen = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
  x = _minimise(make(entry, 0.01), rosen, jnp.array([-1.0, 1.5]), 20000)
  np.testing.assert_allclose(np.asarray(x), [1.0, 1.0], atol=1e-3)


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_inject_hyperparams(entry):
  """inject_hyperparams(factory) gives the same updates; a new lr rescales them."""
  _, factory, kwargs, scheduled = entry
  params = random_tree(0)
  grads = [random_tree(s) for s in (1, 2, 3)]
  injected = optax.inject_hyperparams(factory)(learning_rate=_lr(0.1, scheduled), **kwargs)
  assert_trees_close(run_updates(injected, grads, params), run_updates(make(entry, 0.1), grads, params))
  if not scheduled:
    state = injected.init(params)
    u1, state = injected.update(grads[0], state, params)
    state.hyperparams["learning_rate"] = jnp.asarray(0.01)
    u2, _ = injected.update(grads[1], state, params)
    # Every update here (AdaX step and decoupled decay) is linear in the learning rate.
    want = run_updates(make(entry, 0.1), grads[:2], params)[1]
    assert_trees_close(u2, jax.tree.map(lambda u: u / 10, want))


def test_inject_hyperparams_hand_worked():
  tx = optax.inject_hyperparams(adax)(learning_rate=0.1)
  params = jnp.ones(3)
  state = tx.init(params)
  updates, state = tx.update(jnp.ones(3), state, params)
  np.testing.assert_allclose(np.asarray(updates), -0.1 * 0.1 / (1 + 1e-6), rtol=1e-5)
  state.hyperparams["learning_rate"] = jnp.asarray(0.01)
  updates2, _ = tx.update(jnp.ones(3), state, params)
  # Second step: m = 0.19, v̂ = 1 → update = −lr·0.19/(1+ε).
  np.testing.assert_allclose(np.asarray(updates2), -0.01 * 0.19 / (1 + 1e-6), rtol=1e-5)


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_chain_with_clipping(entry):
  check_chain_with_clipping(lambda lr: make(entry, lr))


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_masked(entry):
  check_masked(lambda lr: make(entry, lr))


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_multisteps(entry):
  """MultiSteps(k=2): zero update, then one tx update on the mean of the two gradients."""
  params = random_tree(0)
  grads = [random_tree(s) for s in (1, 2, 3, 4)]
  multi = optax.MultiSteps(make(entry, 0.1), every_k_schedule=2)
  got = run_updates(multi, grads, params)
  for u in got[0::2]:
    assert all(np.all(np.asarray(x) == 0) for x in jax.tree.leaves(u))
  means = [jax.tree.map(lambda a, b: (a + b) / 2, grads[i], grads[i + 1]) for i in (0, 2)]
  assert_trees_close(got[1::2], run_updates(make(entry, 0.1), means, params), rtol=1e-5)


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_preserves_dtypes_and_state_structure(entry):
  tx = make(entry, 1e-3)
  check_dtypes_and_state_structure(tx)


@pytest.mark.parametrize("entry", REGISTRY, ids=IDS)
def test_no_recompilation_on_repeated_updates(entry):
  check_single_compilation(make(entry, 1e-3))


def test_rejects_unknown_eps_placement():
  with pytest.raises(ValueError, match="eps_placement"):
    scale_by_adax(eps_placement="outside")


def test_docstring_examples_run():
  result = doctest.testmod(importlib.import_module("flaxnlp.optim.adax"))
  assert result.attempted >= 2 and result.failed == 0
