"""GlobalPointer / Efficient GlobalPointer against numpy implementations of blogs 8373 and 8877,
plus the host-side decoding and label helpers."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from flaxnlp.decoding.global_pointer import (decode_spans, spans_to_dense_labels,
                                             spans_to_sparse_labels)
from flaxnlp.layers.global_pointer import MASK_VALUE, EfficientGlobalPointer, GlobalPointer

B, N, D, H, d = 2, 7, 12, 3, 8
LENGTHS = np.array([7, 5])


def numpy_rope(x):
  """Rotate pairs (2m, 2m+1) of x [..., N, d] at position p = row index by p·10000^{-2m/d}."""
  n, dim = x.shape[-2:]
  angle = np.arange(n)[:, None] * 10000.0 ** (-np.arange(0, dim, 2) / dim)[None, :]
  even, odd = x[..., 0::2], x[..., 1::2]
  out = np.empty_like(x)
  out[..., 0::2] = even * np.cos(angle) - odd * np.sin(angle)
  out[..., 1::2] = odd * np.cos(angle) + even * np.sin(angle)
  return out


def numpy_mask(scores, lengths, tril):
  """Set padding rows/cols and (tril) j < i of scores [B, H, N, N] to MASK_VALUE."""
  n = scores.shape[-1]
  keep = np.arange(n)[None, :] < lengths[:, None]
  valid = keep[:, None, :, None] & keep[:, None, None, :]
  if tril:
    valid = valid & (np.arange(n)[None, :] >= np.arange(n)[:, None])
  return np.where(valid, scores, MASK_VALUE)


def numpy_gp(params, h, lengths, rope, tril):
  """Blog 8373: u = hW + b; head α = channels [α·2d, (α+1)·2d) = [q | k]; s = q̃·k̃ / sqrt(d)."""
  u = h.astype(np.float64) @ params["dense"]["kernel"] + params["dense"]["bias"]
  scores = np.zeros((h.shape[0], H, h.shape[1], h.shape[1]))
  for b in range(h.shape[0]):
    for a in range(H):
      q, k = u[b, :, a * 2 * d:a * 2 * d + d], u[b, :, a * 2 * d + d:(a + 1) * 2 * d]
      if rope:
        q, k = numpy_rope(q), numpy_rope(k)
      scores[b, a] = q @ k.T / np.sqrt(d)
  return numpy_mask(scores, lengths, tril)


def numpy_egp(params, h, lengths, rope, tril):
  """Blog 8877: u = p_dense(h); q = u[0::2], k = u[1::2]; c = q_dense(u);
  s_α(i, j) = q̃_i·k̃_j / sqrt(d) + c_j[2α] / 2 + c_i[2α+1] / 2."""
  u = h.astype(np.float64) @ params["p_dense"]["kernel"] + params["p_dense"]["bias"]
  c = u @ params["q_dense"]["kernel"] + params["q_dense"]["bias"]
  q, k = u[..., 0::2], u[..., 1::2]
  if rope:
    q, k = numpy_rope(q), numpy_rope(k)
  scores = np.zeros((h.shape[0], H, h.shape[1], h.shape[1]))
  for b in range(h.shape[0]):
    for a in range(H):
      scores[b, a] = (q[b] @ k[b].T / np.sqrt(d) + c[b, None, :, 2 * a] / 2
                      + c[b, :, None, 2 * a + 1] / 2)
  return numpy_mask(scores, lengths, tril)


def _inputs(seed=0):
  h = np.random.default_rng(seed).normal(size=(B, N, D)).astype(np.float32)
  mask = np.arange(N)[None, :] < LENGTHS[:, None]
  return h, mask


def _random_params(module, h, mask, seed=0):
  """Params with non-zero biases (zero-initialised by default), as float64 numpy and as jax."""
  params = nn.unbox(module.init(jax.random.PRNGKey(seed), h, mask))["params"]
  rng = np.random.default_rng(seed + 1)
  params = jax.tree.map(lambda p: rng.normal(size=p.shape) * 0.3, params)
  return params, jax.tree.map(lambda p: jnp.asarray(p, jnp.float32), params)


@pytest.mark.parametrize("rope", [True, False])
@pytest.mark.parametrize("tril", [True, False])
@pytest.mark.parametrize("cls,reference", [(GlobalPointer, numpy_gp),
                                           (EfficientGlobalPointer, numpy_egp)])
def test_logits_match_numpy(cls, reference, rope, tril):
  h, mask = _inputs()
  module = cls(H, d, use_rope=rope, tril_mask=tril)
  np_params, params = _random_params(module, h, mask)
  logits = module.apply({"params": params}, h, mask)
  assert logits.shape == (B, H, N, N) and logits.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(logits), reference(np_params, h, LENGTHS, rope, tril),
                             rtol=1e-4, atol=1e-4)


def test_masks():
  h, mask = _inputs()
  module = GlobalPointer(H, d)
  logits = np.asarray(module.apply(module.init(jax.random.PRNGKey(0), h, mask), h, mask))
  i, j = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
  assert (logits[:, :, i > j] == MASK_VALUE).all()                       # strictly lower triangle
  assert (logits[1, :, 5:, :] == MASK_VALUE).all() and (logits[1, :, :, 5:] == MASK_VALUE).all()
  kept = (i <= j)[None, None] & (np.arange(N) < LENGTHS[:, None])[:, None, :, None] & (
      np.arange(N) < LENGTHS[:, None])[:, None, None, :]
  assert (np.broadcast_to(kept, logits.shape) == (logits > MASK_VALUE)).all()


def test_bfloat16_inputs_give_float32_logits():
  h, mask = _inputs()
  module = EfficientGlobalPointer(H, d)
  variables = module.init(jax.random.PRNGKey(0), h, mask)
  logits16 = module.apply(variables, jnp.asarray(h, jnp.bfloat16), mask)
  logits32 = module.apply(variables, jnp.asarray(h, jnp.bfloat16).astype(jnp.float32), mask)
  assert logits16.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(logits16), np.asarray(logits32), rtol=1e-6)


@pytest.mark.parametrize("heads,gp_count,egp_count", [(3, 295_296, 99_206), (9, 885_888, 100_754),
                                                      (10, 984_320, 101_012)])
def test_parameter_counts(heads, gp_count, egp_count):
  h = jnp.zeros((1, 4, 768))
  mask = jnp.ones((1, 4), bool)
  for cls, count in ((GlobalPointer, gp_count), (EfficientGlobalPointer, egp_count)):
    shapes = jax.eval_shape(cls(heads, 64).init, jax.random.PRNGKey(0), h, mask)
    assert sum(np.prod(x.shape) for x in jax.tree.leaves(shapes)) == count


def test_parameter_names_and_logical_axes():
  h, mask = _inputs()
  gp = GlobalPointer(H, d).init(jax.random.PRNGKey(0), h, mask)["params"]
  egp = EfficientGlobalPointer(H, d).init(jax.random.PRNGKey(0), h, mask)["params"]
  assert nn.unbox(gp)["dense"]["kernel"].shape == (D, H * 2 * d)
  assert nn.unbox(egp)["p_dense"]["kernel"].shape == (D, 2 * d)
  assert nn.unbox(egp)["q_dense"]["kernel"].shape == (2 * d, 2 * H)
  assert nn.get_partition_spec(gp)["dense"]["kernel"] == P("embed", "mlp")
  assert nn.get_partition_spec(egp)["p_dense"]["kernel"] == P("embed", "kv")


def test_egp_interleaving():
  # With the bias head zeroed, swapping each (even, odd) column pair of p_dense swaps q and k, so
  # s(i, j) = R_i q_i · R_j k_j becomes R_i k_i · R_j q_j = s(j, i): the logits transpose. A
  # contiguous [q | k] split would instead mix channels of q with channels of k.
  h, mask = _inputs()
  module = EfficientGlobalPointer(H, d, tril_mask=False)
  _, params = _random_params(module, h, mask)
  params["q_dense"] = jax.tree.map(jnp.zeros_like, params["q_dense"])
  swap = np.arange(2 * d).reshape(d, 2)[:, ::-1].reshape(-1)
  swapped = dict(params, p_dense={"kernel": params["p_dense"]["kernel"][:, swap],
                                  "bias": params["p_dense"]["bias"][swap]})
  logits = np.asarray(module.apply({"params": params}, h, mask))
  logits_swapped = np.asarray(module.apply({"params": swapped}, h, mask))
  np.testing.assert_allclose(logits_swapped, logits.transpose(0, 1, 3, 2), rtol=1e-5, atol=1e-5)
  assert np.abs(logits - logits.transpose(0, 1, 3, 2)).max() > 1e-2


def test_project_factors_rebuild_logits():
  h, mask = _inputs()
  module = EfficientGlobalPointer(H, d)
  variables = module.init(jax.random.PRNGKey(0), h, mask)
  q, k, start, end = module.apply(variables, h, method="project")
  assert q.shape == k.shape == (B, 1, N, d) and start.shape == end.shape == (B, H, N)
  rebuilt = (np.einsum("bid,bjd->bij", q[:, 0], k[:, 0])[:, None] + start[..., None]
             + end[..., None, :])
  logits = np.asarray(module.apply(variables, h, mask))
  np.testing.assert_allclose(logits[0, :, 0, 3], rebuilt[0, :, 0, 3], rtol=1e-5)


def test_decode_spans():
  logits = np.full((2, 2, 6, 6), -5.0)
  logits[0, 0, 1, 2] = 3.0    # kept
  logits[0, 1, 2, 2] = 0.5    # kept
  logits[0, 1, 0, 3] = 9.0    # [CLS] row: dropped
  logits[0, 0, 2, 5] = 9.0    # [SEP] column (length 6): dropped
  logits[1, 1, 3, 3] = 9.0    # [SEP] of example 1 (length 4): dropped
  logits[1, 0, 1, 2] = 1.0    # kept
  logits[1, 0, 2, 4] = 9.0    # beyond length 4: dropped
  logits[1, 1, 1, 1] = 0.0    # not > threshold
  assert decode_spans(logits, lengths=[6, 4]) == [{(0, 1, 2), (1, 2, 2)}, {(0, 1, 2)}]
  assert decode_spans(logits, threshold=2.0, lengths=[6, 4]) == [{(0, 1, 2)}, set()]
  assert decode_spans(logits, exclude_special=False, lengths=[6, 4]) == [
      {(0, 1, 2), (1, 2, 2), (1, 0, 3), (0, 2, 5)}, {(1, 3, 3), (0, 1, 2)}]


def test_labels_round_trip():
  spans = [(0, 1, 3), (2, 4, 4), (0, 2, 2), (2, 0, 5), (0, 1, 3)]
  dense = spans_to_dense_labels(spans, heads=3, length=6)
  assert dense.shape == (3, 6, 6) and dense.sum() == 4
  assert {tuple(x) for x in np.argwhere(dense)} == set(spans)
  per_head = [[(i, j) for a, i, j in spans if a == head] for head in range(3)]
  sparse = spans_to_sparse_labels(per_head, length=6, max_positives=3)
  assert sparse.shape == (3, 3) and sparse.dtype == np.int32
  for head in range(3):  # flattened indices are the non-zero cells of the dense labels, 0-padded
    cells = np.flatnonzero(dense[head].reshape(-1))
    np.testing.assert_array_equal(sparse[head], np.pad(cells, (0, 3 - len(cells))))
  assert {(a, int(x) // 6, int(x) % 6) for a in range(3) for x in sparse[a] if x} == set(spans)


def test_labels_reject_bad_spans():
  with pytest.raises(ValueError, match="outside"):
    spans_to_dense_labels([(0, 2, 6)], heads=1, length=6)
  with pytest.raises(ValueError, match="outside"):
    spans_to_dense_labels([(1, 2, 3)], heads=1, length=6)
  with pytest.raises(ValueError, match="padding cell"):
    spans_to_sparse_labels([[(0, 0)]], length=6, max_positives=2)
  with pytest.raises(ValueError, match="max_positives"):
    spans_to_sparse_labels([[(1, 1), (2, 2), (3, 3)]], length=6, max_positives=2)
