"""The input/parameter gradient inequality of an MLP (kexue.fm/archives/8796).

The maths of `experiments/gradient_penalty_inequality.py`: both sides of the inequality that
relates the input-gradient penalty to the parameter-gradient penalty of
`flaxnlp.regularizers`, for a plain MLP given as (W, b) pairs.
"""
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from flaxnlp.regularizers import squared_norm

Activation = Callable[[jax.Array], jax.Array]


def _per_layer(activation: Activation | Sequence[Activation], num_layers: int) -> list[Activation]:
  if callable(activation):
    return [activation] * num_layers
  activation = list(activation)
  if len(activation) != num_layers:
    raise ValueError(f"{len(activation)} activations for {num_layers} layers")
  return activation


def mlp_forward(params: Sequence[tuple[jax.Array, jax.Array]], x: jax.Array,
                activation: Activation | Sequence[Activation]) -> list[jax.Array]:
  """Layer inputs h^(1) = x, …, h^(l+1) of an MLP h^(t+1) = g^(t)(W^(t) h^(t) + b^(t)).

  params: [(W [out, in], b [out])] per layer; x: [in]. `activation` is g^(t) for every layer, or
  one callable per layer (e.g. [tanh, tanh, identity] for a linear read-out layer).
  """
  hs = [x]
  for (w, b), g in zip(params, _per_layer(activation, len(params))):
    hs.append(g(w @ hs[-1] + b))
  return hs


def inequality_sides(params: Sequence[tuple[jax.Array, jax.Array]], x: jax.Array,
                     activation: Activation | Sequence[Activation],
                     f: Callable[[jax.Array], jax.Array]) -> tuple[jax.Array, jax.Array]:
  r"""Both sides of ‖∇_x f‖² Σ_t (1 + ‖h_t‖²)/(‖W_t‖²‖∇_x h_t‖²) ≤ ‖∇_θ f‖² (blog 8796).

  ‖∇_x f‖, ‖∇_θ f‖ (θ = all W_t, b_t) and ‖h_t‖ are Euclidean/Frobenius norms; ‖W_t‖ and the
  Jacobian norm ‖∇_x h_t‖ are spectral norms (`jnp.linalg.norm(ord=2)`; ∇_x h_1 = I; the
  Jacobians come from one `jax.jacfwd`). f is a scalar function of the last layer's output
  h_{l+1}; `params`, `activation` as in `mlp_forward`; x is one input vector [in].

  Derivation (per layer t, δ = ∂f/∂z^(t+1), J = ∂h_t/∂x): ∇_W f = δ h_tᵀ, ∇_b f = δ and
  ∇_x f = (W J)ᵀ δ, so ‖∇_x f‖ ≤ ‖δ‖‖W‖‖J‖; hence ‖∇_x f‖²(1 + ‖h_t‖²)/(‖W‖²‖J‖²) ≤ ‖∇_W f‖² +
  ‖∇_b f‖² = ‖δ‖²(1 + ‖h_t‖²), and summing over t gives the inequality. It is tight exactly when
  every layer's step ‖(WJ)ᵀδ‖ ≤ ‖W‖‖J‖‖δ‖ is an equality, e.g. for one layer (J = I) with δ
  along the top left singular vector of W, or W a scaled orthogonal matrix.

  Returns:
    (lhs, rhs) as scalars.
  """
  def f_of(p, x):
    return f(mlp_forward(p, x, activation)[-1])

  grad_theta, grad_x = jax.grad(f_of, argnums=(0, 1))(params, x)
  hs = mlp_forward(params, x, activation)
  jacobians = [jnp.eye(x.shape[0], dtype=x.dtype)] + list(
      jax.jacfwd(lambda x_: mlp_forward(params, x_, activation)[1:-1])(x))
  total = 0.0
  for (w, _), h, jac in zip(params, hs, jacobians):
    total += (1 + jnp.sum(h ** 2)) / (jnp.linalg.norm(w, 2) ** 2 * jnp.linalg.norm(jac, 2) ** 2)
  return squared_norm(grad_x) * total, squared_norm(grad_theta)
