"""Blockwise GlobalPointer loss against the dense path: layer logits → ZLPR loss written here
(blogs 8373, 7359), in value and in gradients wrt the layer parameters and the inputs."""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp import losses
from flaxnlp.losses import global_pointer_blockwise_loss
from flaxnlp.layers.global_pointer import EfficientGlobalPointer, GlobalPointer, SpanFactors

B, N, D, H, d = 2, 13, 10, 3, 8
LENGTHS = np.array([13, 9])
# (example, head, i, j); (1, 0, 10, 11) lies in padding and (0, 2, 6, 4) below the diagonal: the
# dense loss ignores labels on masked cells (and, without tril, (0, 2, 6, 4) is a normal label).
SPANS = [(0, 0, 1, 3), (0, 0, 5, 5), (0, 1, 12, 12), (0, 2, 6, 4), (0, 2, 2, 8),
         (1, 0, 1, 1), (1, 0, 10, 11), (1, 2, 3, 7), (1, 2, 4, 4)]
K = 3


def dense_labels():
  y = np.zeros((B, H, N, N), bool)
  for b, a, i, j in SPANS:
    y[b, a, i, j] = True
  return y


def sparse_labels():
  y = np.zeros((B, H, K), np.int32)
  count = np.zeros((B, H), int)
  for b, a, i, j in SPANS:
    y[b, a, count[b, a]] = i * N + j
    count[b, a] += 1
  return y


def dense_zlpr(logits, labels):
  """[B, H]: log(1 + Σ_pos e^{−s}) + log(1 + Σ_neg e^{s}) over cells with s > −1e11 (unmasked)."""
  valid = logits > -1e11
  flat = lambda x: x.reshape(x.shape[:2] + (-1,))
  zero = jnp.zeros(logits.shape[:2] + (1,))
  pos = jnp.where(labels & valid, -logits, -jnp.inf)
  neg = jnp.where(~labels & valid, logits, -jnp.inf)
  return (jax.nn.logsumexp(jnp.concatenate([zero, flat(pos)], -1), -1)
          + jax.nn.logsumexp(jnp.concatenate([zero, flat(neg)], -1), -1))


def _setup(cls, rope, tril, seed=0):
  rng = np.random.default_rng(seed)
  h = jnp.asarray(rng.normal(size=(B, N, D)), jnp.float32)
  mask = jnp.asarray(np.arange(N)[None, :] < LENGTHS[:, None])
  module = cls(H, d, use_rope=rope, tril_mask=tril)
  params = nn.unbox(module.init(jax.random.PRNGKey(seed), h, mask))["params"]
  # Non-zero biases and a larger scale, so that positives and negatives both matter.
  params = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32) * 0.5, params)
  return module, params, h, mask


def _dense_loss(module, params, h, mask, reduction="mean"):
  per_head = dense_zlpr(module.apply({"params": params}, h, mask), dense_labels())
  reduced = {"none": per_head, "mean": per_head.mean(), "sum_heads": per_head.sum(-1).mean()}
  return reduced[reduction]


def _blockwise_loss(module, params, h, mask, reduction="mean", block_size=4):
  factors = module.apply({"params": params}, h, method="project")
  return global_pointer_blockwise_loss(factors, mask, sparse_labels(), tril_mask=module.tril_mask,
                                       reduction=reduction, block_size=block_size)


def _assert_close(a, b):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rope", [True, False])
@pytest.mark.parametrize("tril", [True, False])
@pytest.mark.parametrize("cls", [GlobalPointer, EfficientGlobalPointer])
def test_value_and_gradients_match_dense(cls, tril, rope):
  module, params, h, mask = _setup(cls, rope, tril)
  grad = lambda f: jax.value_and_grad(functools.partial(f, module), argnums=(0, 1))
  both = jax.jit(lambda *args: (grad(_dense_loss)(*args), grad(_blockwise_loss)(*args)))
  (dense_value, dense_grads), (block_value, block_grads) = both(params, h, mask)
  assert np.isfinite(dense_value) and dense_value > 1.0
  _assert_close(block_value, dense_value)
  _assert_close(block_grads, dense_grads)


def test_reductions():
  module, params, h, mask = _setup(EfficientGlobalPointer, True, True, seed=1)
  per_head = _blockwise_loss(module, params, h, mask, "none")
  assert per_head.shape == (B, H)
  _assert_close(per_head, _dense_loss(module, params, h, mask, "none"))
  _assert_close(_blockwise_loss(module, params, h, mask, "mean"), np.mean(per_head))
  _assert_close(_blockwise_loss(module, params, h, mask, "sum_heads"), np.sum(per_head) / B)


@pytest.mark.parametrize("block_size", [1, 5, 64])
def test_block_size_does_not_change_the_loss(block_size):
  module, params, h, mask = _setup(GlobalPointer, True, True, seed=2)
  _assert_close(_blockwise_loss(module, params, h, mask, "none", block_size),
                _dense_loss(module, params, h, mask, "none"))


def test_repeated_and_padding_indices_are_ignored():
  module, params, h, mask = _setup(EfficientGlobalPointer, True, True, seed=3)
  factors = module.apply({"params": params}, h, method="project")
  labels = sparse_labels()
  noisy = np.concatenate([labels[..., ::-1], labels, np.full((B, H, 2), -1)], -1)  # repeats, -1 pad
  _assert_close(global_pointer_blockwise_loss(factors, mask, noisy, reduction="none"),
                global_pointer_blockwise_loss(factors, mask, labels, reduction="none"))


@pytest.mark.parametrize("reduction", ["mean", "sum_heads"])
def test_agrees_with_flaxnlp_dense_loss(reduction):
  # Integration: the dense-logits loss the tasks use, on the layer's logits and dense labels.
  module, params, h, mask = _setup(GlobalPointer, True, True, seed=4)
  logits = module.apply({"params": params}, h, mask)
  _assert_close(_blockwise_loss(module, params, h, mask, reduction),
                losses.global_pointer_crossentropy(logits, dense_labels(), reduction=reduction))


def test_memory_is_linear_in_length():
  # Forward + backward of the blockwise loss needs far less XLA scratch than one dense logits
  # tensor (the dense path needs about 3 of them).
  n, heads, size, rows = 1024, 2, 8, 64
  factors = (jnp.zeros((1, heads, n, size)), jnp.zeros((1, heads, n, size)))
  mask = jnp.ones((1, n), bool)
  positives = jnp.zeros((1, heads, 4), jnp.int32)

  def loss(q, k):
    return global_pointer_blockwise_loss(SpanFactors(q, k), mask, positives, block_size=rows)

  compiled = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(*factors).compile()
  logits_bytes = heads * n * n * 4
  assert compiled.memory_analysis().temp_size_in_bytes < logits_bytes / 4


def test_bad_arguments():
  module, params, h, mask = _setup(GlobalPointer, True, True)
  factors = module.apply({"params": params}, h, method="project")
  with pytest.raises(ValueError, match="reduction"):
    global_pointer_blockwise_loss(factors, mask, sparse_labels(), reduction="sum")
  with pytest.raises(ValueError, match="positives"):
    global_pointer_blockwise_loss(factors, mask, sparse_labels()[:, :2])
