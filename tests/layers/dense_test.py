"""The dense matmul with a chosen kernel-gradient order, against numpy and nn.Dense's gradients."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp.layers import dense as dense_lib


def test_the_kernel_gradient_transposes_the_smaller_operand():
  # FFN input kernel: x [4096, 256] (1.0M) vs g [4096, 1024] + dw (4.5M): transpose x.
  assert dense_lib.kernel_grad_transposes_x(4096, 256, 1024)
  # FFN output kernel: x [4096, 1024] (4.2M) vs g [4096, 256] + dw (1.3M): transpose g.
  assert not dense_lib.kernel_grad_transposes_x(4096, 1024, 256)
  # tied MLM projection: x [672, 256] (0.17M) vs g [672, 21128] + dw (19.6M): transpose x.
  assert dense_lib.kernel_grad_transposes_x(672, 256, 21128)


@pytest.mark.parametrize("m,k,n", [(12, 3, 5), (4, 9, 2)])  # dw as x^T g, then as (g^T x)^T
def test_matmul_value_and_gradients_match_numpy(m, k, n):
  rng = np.random.default_rng(0)
  x, w, c = (rng.standard_normal(s).astype(np.float32) for s in ((m, k), (k, n), (m, n)))
  assert dense_lib.kernel_grad_transposes_x(m, k, n) == (m == 12)
  loss = lambda x, w: jnp.sum(dense_lib.matmul(x, w) * c)  # dL/dy = c
  value, (dx, dw) = jax.value_and_grad(loss, argnums=(0, 1))(x, w)
  x64, w64, c64 = (a.astype(np.float64) for a in (x, w, c))
  np.testing.assert_allclose(value, np.sum((x64 @ w64) * c64), rtol=1e-5)
  np.testing.assert_allclose(dx, c64 @ w64.T, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(dw, x64.T @ c64, rtol=1e-5, atol=1e-6)


def test_preferred_element_type_sets_the_output_dtype():
  x = jnp.ones((3, 4), jnp.bfloat16)
  w = jnp.full((4, 2), 0.5, jnp.bfloat16)
  y = dense_lib.dense(x, w, preferred_element_type=jnp.float32)
  assert y.dtype == jnp.float32
  np.testing.assert_array_equal(y, np.full((3, 2), 2.0))
  dx, dw = jax.grad(lambda x, w: dense_lib.dense(x, w, jnp.float32).sum(), argnums=(0, 1))(x, w)
  assert (dx.dtype, dw.dtype) == (jnp.bfloat16, jnp.bfloat16)
  np.testing.assert_array_equal(dw, np.full((4, 2), 3.0))


@pytest.mark.parametrize("module", [
    lambda dot: nn.Dense(5, dot_general=dot),
    lambda dot: nn.DenseGeneral((2, 3), dot_general=dot),
    lambda dot: nn.DenseGeneral(4, axis=(-2, -1), dot_general=dot),
])
def test_flax_layers_give_lax_dot_general_values_and_gradients(module):
  x = jax.random.normal(jax.random.key(0), (2, 7, 3, 6))
  reference, ours = module(jax.lax.dot_general), module(dense_lib.dense_dot_general)
  params = reference.init(jax.random.key(1), x)["params"]
  loss = lambda m: (lambda p, x: jnp.sum(jnp.sin(m.apply({"params": p}, x))))
  want = jax.value_and_grad(loss(reference), argnums=(0, 1))(params, x)
  got = jax.value_and_grad(loss(ours), argnums=(0, 1))(params, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)


def test_other_contractions_go_to_lax_dot_general():
  a, b = jnp.ones((2, 3, 4)), jnp.ones((2, 4, 5))
  batched = (((2,), (1,)), ((0,), (0,)))
  np.testing.assert_array_equal(dense_lib.dense_dot_general(a, b, batched),
                                jax.lax.dot_general(a, b, batched))
