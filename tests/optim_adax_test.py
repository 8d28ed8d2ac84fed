"""AdaX / AdaX-W: a float64 numpy reference of the paper's equations, and optax-style properties."""
import doctest
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

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
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)


def test_float32_matches_reference():
  """float32 over 1,000 steps: each step rounds at ~6e-8, and the drift accumulates to ~1e-5."""
  grads = random_grads()
  theta0 = np.random.default_rng(1).normal(size=16).astype(np.float32)
  want = numpy_adax(grads, theta0, lr=1e-2)
  got, _ = run_optax(adax(1e-2), grads, theta0)
  np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=1e-5)


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


def test_state_stores_normalised_moment_without_overflow():
  """The paper's v_t overflows float32 near 887k steps; the stored v̂_t stays finite at 1e7."""
  tx = scale_by_adax()
  g = jnp.full(4, 3.0)
  for count in (887_000, 900_000, 10_000_000):
    state = ScaleByAdaxState(count=jnp.asarray(count - 1, jnp.int32), mu=jnp.full(4, 3.0),
                             nu=jnp.full(4, 9.0))
    updates, new = tx.update(g, state)
    assert np.all(np.isfinite(np.asarray(updates))) and np.all(np.isfinite(np.asarray(new.nu)))
    np.testing.assert_allclose(np.asarray(new.nu), 9.0, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(updates), 3.0 / (3.0 + 1e-6), rtol=1e-6)
  # The unnormalised form of the reference really overflows there.
  with np.errstate(over="ignore"):
    assert np.isinf(np.float32(1.0001) ** np.float32(900_000))


def test_first_step_and_long_term_memory():
  """v̂_1 = g_1²; for t ≪ 1/β2, v̂_t ≈ the uniform average of past g² (β̂_t ≈ 1 − 1/t)."""
  tx = scale_by_adax()
  state = tx.init(jnp.zeros(1))
  gs = np.array([1.0, 3.0, 2.0, 5.0, 4.0], np.float32)
  for i, g in enumerate(gs, start=1):
    _, state = tx.update(jnp.array([g]), state)
    np.testing.assert_allclose(float(state.nu[0]), np.mean(gs[:i] ** 2), rtol=1e-3)


# ---- Property suite over a registry (optax contrib style) -------------------------------------
REGISTRY = [
    ("adax", lambda lr: adax(lr)),
    ("adax_l2", lambda lr: adax(lr, weight_decay=1e-4)),
    ("adaxw", lambda lr: adaxw(lr, weight_decay=1e-4)),
    ("adax_schedule", lambda lr: adax(optax.warmup_cosine_decay_schedule(0.0, lr, 10, 2000))),
    ("adax_sqrt_v", lambda lr: adax(lr, eps=1e-12, eps_placement="sqrt_v")),
]
IDS = [name for name, _ in REGISTRY]


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


@pytest.mark.parametrize("make", [m for _, m in REGISTRY], ids=IDS)
def test_converges_on_quadratic(make):
  target = jnp.array([1.0, -2.0, 3.0])
  x = _minimise(make(0.05), lambda x: jnp.sum((x - target) ** 2), jnp.zeros(3), 1500)
  np.testing.assert_allclose(np.asarray(x), np.asarray(target), atol=5e-2)


# Weight decay moves Rosenbrock's optimum and the schedule decays to 0 before the valley is
# crossed, so this check runs on the entries with a fixed learning rate and (almost) no decay.
ROSENBROCK = [(n, m) for n, m in REGISTRY if n in ("adax", "adax_l2", "adax_sqrt_v")]


@pytest.mark.parametrize("make", [m for _, m in ROSENBROCK], ids=[n for n, _ in ROSENBROCK])
def test_converges_on_rosenbrock(make):
  rosen = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
  x = _minimise(make(0.01), rosen, jnp.array([-1.0, 1.5]), 20000)
  np.testing.assert_allclose(np.asarray(x), [1.0, 1.0], atol=1e-3)


def test_inject_hyperparams():
  tx = optax.inject_hyperparams(adax)(learning_rate=0.1)
  params = jnp.ones(3)
  state = tx.init(params)
  updates, state = tx.update(jnp.ones(3), state, params)
  np.testing.assert_allclose(np.asarray(updates), -0.1 * 0.1 / (1 + 1e-6), rtol=1e-5)
  state.hyperparams["learning_rate"] = jnp.asarray(0.01)
  updates2, _ = tx.update(jnp.ones(3), state, params)
  # Second step: m = 0.19, v̂ = 1 → update = −lr·0.19/(1+ε).
  np.testing.assert_allclose(np.asarray(updates2), -0.01 * 0.19 / (1 + 1e-6), rtol=1e-5)


def test_chain_with_clipping_masked_and_multisteps():
  params = {"w": jnp.ones(3), "b": jnp.ones(2)}
  grads = {"w": jnp.full(3, 10.0), "b": jnp.full(2, 10.0)}
  tx = optax.chain(optax.clip_by_global_norm(1.0),
                   optax.masked(adax(0.1), {"w": True, "b": False}))
  state = tx.init(params)
  updates, _ = tx.update(grads, state, params)
  np.testing.assert_allclose(np.asarray(updates["w"]), -0.1 * 0.1, rtol=1e-4)
  # Masked-out leaves pass through (here: the clipped gradient).
  np.testing.assert_allclose(np.asarray(updates["b"]), 10.0 / np.sqrt(500), rtol=1e-5)

  multi = optax.MultiSteps(adax(0.1), every_k_schedule=2)
  state = multi.init(params)
  u1, state = multi.update(grads, state, params)
  assert all(np.all(np.asarray(u) == 0) for u in jax.tree.leaves(u1))
  u2, state = multi.update(grads, state, params)
  np.testing.assert_allclose(np.asarray(u2["w"]), -0.1 * 0.1, rtol=1e-4)


@pytest.mark.parametrize("make", [m for _, m in REGISTRY], ids=IDS)
def test_preserves_dtypes_and_state_structure(make):
  params = {"a": jnp.ones(4, jnp.bfloat16), "b": jnp.ones((2, 2), jnp.float32)}
  tx = make(1e-3)
  state = tx.init(params)
  updates, new_state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
  assert updates["a"].dtype == jnp.bfloat16 and updates["b"].dtype == jnp.float32
  assert (jax.tree.map(lambda x: (x.shape, x.dtype), state)
          == jax.tree.map(lambda x: (x.shape, x.dtype), new_state))


def test_no_recompilation_on_repeated_updates():
  tx = adax(1e-3)
  params = jnp.ones(5)
  state = tx.init(params)
  update = jax.jit(tx.update)
  for _ in range(5):
    _, state = update(jnp.ones(5), state, params)
  assert update._cache_size() == 1  # pylint: disable=protected-access


def test_rejects_unknown_eps_placement():
  with pytest.raises(ValueError, match="eps_placement"):
    scale_by_adax(eps_placement="outside")


def test_docstring_examples_run():
  result = doctest.testmod(importlib.import_module("flaxnlp.optim.adax"))
  assert result.attempted >= 2 and result.failed == 0
