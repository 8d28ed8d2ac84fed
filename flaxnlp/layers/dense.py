"""Dense matmuls whose kernel gradient transposes the smaller operand (faster backward on CPU).

A dense layer computes y [M, N] = x [M, K] @ w [K, N] (the leading axes of x flattened into M).
Its kernel gradient is dw = x^T g, with g = dL/dy [M, N]. Autodiff leaves the choice of layout to
XLA, which on CPU copies the operand contracted over M into a transposed buffer; for the FFN
output kernel (x = the [B·N, 4D] activations) and the tied MLM projection (g = the [B·P, V] logit
gradient) these copies are the largest. The same product is (g^T x)^T, which copies g (M·N
elements) and the [N, K] result (K·N) instead of x (M·K); `matmul` takes whichever moves fewer
elements. Values and gradients are those of `x @ w` up to the summation order of float32 sums.
"""
import functools
import math

import jax
import jax.numpy as jnp


def kernel_grad_transposes_x(m: int, k: int, n: int) -> bool:
  """Whether dw = x^T g (M·K elements transposed) beats (g^T x)^T (M·N + K·N) for x [M, K]."""
  return m * k <= m * n + k * n


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def matmul(x: jax.Array, w: jax.Array, preferred_element_type=None) -> jax.Array:
  """x [M, K] @ w [K, N] -> [M, N] (in `preferred_element_type` if given), see the module doc."""
  return jnp.matmul(x, w, preferred_element_type=preferred_element_type)


def _matmul_fwd(x, w, preferred_element_type):
  return jnp.matmul(x, w, preferred_element_type=preferred_element_type), (x, w)


def _matmul_bwd(preferred_element_type, residuals, g):
  del preferred_element_type
  x, w = residuals
  (m, k), n = x.shape, w.shape[1]
  g = g.astype(jnp.promote_types(x.dtype, w.dtype))
  dw = x.T @ g if kernel_grad_transposes_x(m, k, n) else (g.T @ x).T
  return (g @ w.T).astype(x.dtype), dw.astype(w.dtype)


matmul.defvjp(_matmul_fwd, _matmul_bwd)


def dense_dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
  """`lax.dot_general` for the `dot_general` argument of `nn.Dense` / `nn.DenseGeneral`.

  The dense contraction, lhs [..., K1..Kc] on its last c axes with rhs [K1..Kc, N1..] on its
  first c axes and no batch axes, runs as `matmul` on [M, K] @ [K, N] (K = K1·..·Kc) and is
  reshaped back to [..., N1..]; any other contraction, or an explicit precision, goes to
  `lax.dot_general` unchanged.
  """
  (lhs_axes, rhs_axes), batch = dimension_numbers
  c = len(lhs_axes)
  is_dense = (not any(batch) and tuple(lhs_axes) == tuple(range(lhs.ndim - c, lhs.ndim))
              and tuple(rhs_axes) == tuple(range(c)))
  if not is_dense or precision is not None:
    return jax.lax.dot_general(lhs, rhs, dimension_numbers, precision=precision,
                               preferred_element_type=preferred_element_type)
  k = math.prod(rhs.shape[:c])
  y = dense(lhs.reshape(*lhs.shape[:lhs.ndim - c], k), rhs.reshape(k, -1), preferred_element_type)
  return y.reshape(*y.shape[:-1], *rhs.shape[c:])


def dense(x: jax.Array, w: jax.Array, preferred_element_type=None) -> jax.Array:
  """x [..., K] @ w [K, N] -> [..., N] through `matmul` on the flattened [M, K] rows."""
  y = matmul(x.reshape(-1, x.shape[-1]), w, preferred_element_type)
  return y.reshape(*x.shape[:-1], w.shape[1])
