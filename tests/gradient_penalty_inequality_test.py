"""The input/parameter gradient inequality (kexue.fm/archives/8796) of
`gradient_inequality.inequality_sides`.

Tight case (derivation): per layer t the proof uses ‖∇_x f‖ = ‖(W_t J_t)ᵀ δ_t‖ ≤ ‖δ_t‖‖W_t‖‖J_t‖
(δ_t = ∂f/∂z^(t+1), J_t = ∂h_t/∂x) and ‖∇_{W_t} f‖² + ‖∇_{b_t} f‖² = ‖δ_t‖²(1 + ‖h_t‖²) exactly.
So lhs = rhs iff every layer's Cauchy–Schwarz/spectral step is an equality:
  * one layer (J = I) whose W = c·Q is a scaled orthogonal matrix: ‖Qᵀδ‖ = ‖δ‖ for every δ, so the
    ratio is 1 for ANY activation and any f;
  * a deep linear network with scaled orthogonal W_t: W_t J_t = (Π c_s)·orthogonal for every t;
  * one linear layer with a general W and f = u·z, u the top left singular vector of W (δ = u).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp import gradient_inequality

ACTS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu, "sigmoid": jax.nn.sigmoid,
        "identity": lambda z: z}


def random_mlp(rng, sizes, scale=1.0):
  return [(jnp.asarray(rng.normal(size=(o, i)) * scale / np.sqrt(i)),
           jnp.asarray(rng.normal(size=o) * 0.1)) for i, o in zip(sizes[:-1], sizes[1:])]


@pytest.mark.parametrize("linear_readout", [False, True])
def test_numpy_reference_two_layer_tanh(linear_readout):
  """lhs and rhs of a 2-layer tanh net (or tanh + linear read-out) from hand-derived gradients."""
  rng = np.random.default_rng(0)
  x, u = rng.normal(size=5), rng.normal(size=3)
  w1, b1 = rng.normal(size=(4, 5)), rng.normal(size=4)
  w2, b2 = rng.normal(size=(3, 4)), rng.normal(size=3)
  h2 = np.tanh(w1 @ x + b1)
  h3 = w2 @ h2 + b2 if linear_readout else np.tanh(w2 @ h2 + b2)
  d2 = u if linear_readout else u * (1 - h3 ** 2)
  d1 = (w2.T @ d2) * (1 - h2 ** 2)
  grad_x = w1.T @ d1
  rhs = (np.sum(np.outer(d2, h2) ** 2) + np.sum(d2 ** 2) + np.sum(np.outer(d1, x) ** 2)
         + np.sum(d1 ** 2))
  j2 = (1 - h2 ** 2)[:, None] * w1
  lhs = np.sum(grad_x ** 2) * ((1 + x @ x) / np.linalg.norm(w1, 2) ** 2
                               + (1 + h2 @ h2) / (np.linalg.norm(w2, 2) ** 2
                                                  * np.linalg.norm(j2, 2) ** 2))
  acts = [jnp.tanh, ACTS["identity"]] if linear_readout else jnp.tanh
  with jax.enable_x64(True):
    got = gradient_inequality.inequality_sides([(w1, b1), (w2, b2)], jnp.asarray(x), acts,
                                        lambda h: jnp.asarray(u) @ h)
  np.testing.assert_allclose([float(got[0]), float(got[1])], [lhs, rhs], rtol=1e-10)
  assert lhs < rhs


def test_activation_list_must_match_depth():
  params = [(jnp.eye(2), jnp.zeros(2))] * 2
  with pytest.raises(ValueError, match="1 activations for 2 layers"):
    gradient_inequality.mlp_forward(params, jnp.ones(2), [jnp.tanh])


def test_holds_on_120_random_mlps():
  """Depth 1–4, random widths 2–12, five activations, f = random read-out or softmax CE.

  One compiled, vmapped check per depth over 30 nets; the activation (a one-hot selection of
  the five) and the kind of f are chosen by data, so only four programs compile.
  """
  rng = np.random.default_rng(1)
  fns = list(ACTS.values())
  ratios = []
  for depth in range(1, 5):
    n = 30
    sizes = list(rng.integers(2, 13, size=depth + 1))
    nets = [random_mlp(rng, sizes, scale=float(rng.uniform(0.3, 3.0))) for _ in range(n)]
    params = jax.tree.map(lambda *leaves: jnp.stack(leaves), *nets)
    xs = jnp.asarray(rng.normal(size=(n, sizes[0])) * rng.uniform(0.1, 3.0, size=(n, 1)))
    us = jnp.asarray(rng.normal(size=(n, sizes[-1])))
    labels = jnp.asarray(rng.integers(0, sizes[-1], size=n))
    which = jax.nn.one_hot(jnp.arange(n) % 5, 5)
    use_ce = (jnp.arange(n) // 5) % 2 == 0

    def sides(p, x, u, label, onehot, ce):
      act = lambda z: sum(onehot[k] * fn(z) for k, fn in enumerate(fns))
      f = lambda h: jnp.where(ce, -jax.nn.log_softmax(h)[label], u @ h)
      return gradient_inequality.inequality_sides(p, x, act, f)

    lhs, rhs = jax.jit(jax.vmap(sides))(params, xs, us, labels, which, use_ce)
    lhs, rhs = np.asarray(lhs, np.float64), np.asarray(rhs, np.float64)
    assert np.all(np.isfinite(lhs)) and np.all(rhs >= 0)
    assert np.all(lhs[rhs == 0] == 0), depth  # dead ReLU nets: f is constant, both sides 0
    ratios += list(lhs[rhs > 0] / rhs[rhs > 0])
  ratios = np.array(ratios)
  assert len(ratios) >= 100
  assert np.all(ratios <= 1 + 1e-5), ratios.max()
  assert ratios.min() > 0  # the left side is not trivially 0


def _scaled_orthogonal(rng, n, c):
  q, _ = np.linalg.qr(rng.normal(size=(n, n)))
  return jnp.asarray(c * q)


@pytest.mark.parametrize("act", list(ACTS))
def test_tight_for_one_scaled_orthogonal_layer(act):
  rng = np.random.default_rng(2)
  with jax.enable_x64(True):
    params = [(_scaled_orthogonal(rng, 6, 1.7), jnp.asarray(rng.normal(size=6)))]
    u = jnp.asarray(rng.normal(size=6))
    lhs, rhs = gradient_inequality.inequality_sides(params, jnp.asarray(rng.normal(size=6)), ACTS[act],
                                             lambda h: jnp.sum(jnp.sin(u * h)))
  np.testing.assert_allclose(float(lhs) / float(rhs), 1.0, rtol=1e-5)


def test_tight_for_deep_linear_scaled_orthogonal_and_top_singular_readout():
  rng = np.random.default_rng(3)
  identity = ACTS["identity"]
  with jax.enable_x64(True):
    deep = [(_scaled_orthogonal(rng, 5, c), jnp.asarray(rng.normal(size=5)))
            for c in (0.5, 2.0, 1.3)]
    u = jnp.asarray(rng.normal(size=5))
    lhs, rhs = gradient_inequality.inequality_sides(deep, jnp.asarray(rng.normal(size=5)), identity,
                                             lambda h: u @ h)
    np.testing.assert_allclose(float(lhs) / float(rhs), 1.0, rtol=1e-5)

    w = rng.normal(size=(4, 6))
    top = jnp.asarray(np.linalg.svd(w)[0][:, 0])
    one = [(jnp.asarray(w), jnp.zeros(4))]
    x = jnp.asarray(rng.normal(size=6))
    lhs, rhs = gradient_inequality.inequality_sides(one, x, identity, lambda h: top @ h)
    np.testing.assert_allclose(float(lhs) / float(rhs), 1.0, rtol=1e-5)
    # Any other read-out direction is strictly below (W has distinct singular values).
    lhs, rhs = gradient_inequality.inequality_sides(one, x, identity, lambda h: jnp.ones(4) @ h)
    assert float(lhs) / float(rhs) < 0.999
