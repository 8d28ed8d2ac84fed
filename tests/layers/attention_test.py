"""Attention masks and masked attention vs hand-worked examples and numpy references."""
import jax
import numpy as np
import pytest

from flaxnlp.layers import attention


def test_unilm_mask_worked_example():
  # kexue.fm/archives/6933: segments [0,0,0,0,1,1,1,pad,pad]; padding carries segment 0.
  segments = np.array([[0, 0, 0, 0, 1, 1, 1, 0, 0]])
  tokens = np.array([[2, 11, 12, 3, 21, 22, 3, 0, 0]])
  s = [1, 1, 1, 1, 0, 0, 0, 0, 0]   # source query: sees the 4 source keys only
  expected = np.array([
      s, s, s, s,
      [1, 1, 1, 1, 1, 0, 0, 0, 0],     # target 1
      [1, 1, 1, 1, 1, 1, 0, 0, 0],     # target 2
      [1, 1, 1, 1, 1, 1, 1, 0, 0],     # target 3 (would see the pads without the padding mask)
      [1, 1, 1, 1, 1, 1, 1, 0, 0],     # pad rows: cumsum 3, like the last target
      [1, 1, 1, 1, 1, 1, 1, 0, 0]], dtype=bool)
  np.testing.assert_array_equal(attention.unilm_mask(segments, tokens)[0], expected)
  # Without the key padding mask the last target row sees the padding columns.
  no_pad = np.asarray(attention.unilm_mask(segments))[0]
  assert no_pad[6, 7] and no_pad[6, 8]
  np.testing.assert_array_equal(no_pad[:, :7], expected[:, :7])


def test_unilm_mask_matches_loop_reference():
  rng = np.random.default_rng(0)
  lengths, targets = [9, 6, 4], [3, 2, 0]
  segments = np.zeros((3, 9), int)
  tokens = np.zeros((3, 9), int)
  for b, (n, t) in enumerate(zip(lengths, targets)):
    tokens[b, :n] = rng.integers(1, 50, n)
    segments[b, n - t:n] = 1
  got = np.asarray(attention.unilm_mask(segments, tokens))
  for b in range(3):
    n, t = lengths[b], targets[b]
    src = n - t
    for i in range(9):
      for j in range(9):
        if j >= n:
          want = False
        elif i < src:
          want = j < src
        elif i < n:
          want = j <= i
        else:  # padding query: behaves like the last target (or the source if there is none)
          want = j < n if t else j < src
        assert got[b, i, j] == want, (b, i, j)


def test_causal_and_padding_masks():
  np.testing.assert_array_equal(attention.causal_mask(4), np.tril(np.ones((4, 4), bool)))
  tokens = np.array([[5, 6, 0], [7, 0, 0]])
  np.testing.assert_array_equal(attention.padding_mask(tokens), tokens != 0)
  segments = np.zeros_like(tokens)
  bi = np.asarray(attention.attention_mask(tokens, segments, "bidirectional"))
  np.testing.assert_array_equal(bi, np.broadcast_to((tokens != 0)[:, None, :], (2, 3, 3)))
  causal = np.asarray(attention.attention_mask(tokens, segments, "causal"))
  np.testing.assert_array_equal(causal, np.tril(np.ones((3, 3), bool))[None] & bi)
  with pytest.raises(ValueError, match="unknown attention kind"):
    attention.attention_mask(tokens, segments, "sideways")


def _np_attention(q, k, v, mask):
  """q [B,Nq,H,D], k/v [B,H,Nk,D], mask [B,H,Nq,Nk] -> [B,Nq,H,D]; -inf for masked logits."""
  logits = np.einsum("bqhd,bhkd->bhqk", q, k) / np.sqrt(q.shape[-1])
  logits = np.where(mask, logits, -np.inf)
  p = np.exp(logits - logits.max(-1, keepdims=True))
  p /= p.sum(-1, keepdims=True)
  return np.einsum("bhqk,bhkd->bqhd", p, v)


def test_dot_product_attention_matches_numpy():
  rng = np.random.default_rng(1)
  q = rng.normal(size=(2, 5, 3, 4)).astype(np.float32)
  k = rng.normal(size=(2, 3, 6, 4)).astype(np.float32)
  v = rng.normal(size=(2, 3, 6, 4)).astype(np.float32)
  mask = rng.random((2, 1, 5, 6)) < 0.7
  mask[..., 0] = True
  got = attention.dot_product_attention(q, k, v, mask)
  want = _np_attention(q, k, v, np.broadcast_to(mask, (2, 3, 5, 6)))
  np.testing.assert_allclose(got, want, atol=1e-5)


def test_fully_masked_row_is_finite():
  probs = attention.masked_softmax(np.zeros((1, 3)), np.zeros((1, 3), bool))
  np.testing.assert_allclose(probs, np.full((1, 3), 1 / 3), atol=1e-6)


def test_prefix_cached_attention_equals_full_attention():
  rng = np.random.default_rng(2)
  b, k_rows, s, h, d, n, t = 2, 3, 2, 2, 4, 5, 4
  r = b * k_rows
  q = rng.normal(size=(r, s, h, d)).astype(np.float32)
  pk, pv = (rng.normal(size=(b, h, n, d)).astype(np.float32) for _ in range(2))
  gk, gv = (rng.normal(size=(r, h, t, d)).astype(np.float32) for _ in range(2))
  prefix_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
  gen_mask = rng.random((r, s, t)) < 0.6
  got = attention.prefix_cached_attention(q, pk, pv, prefix_mask, gk, gv, gen_mask)
  # Reference: per row, concatenate its prompt's keys with its own keys.
  rows = np.arange(r) // k_rows
  keys = np.concatenate([pk[rows], gk], axis=2)
  values = np.concatenate([pv[rows], gv], axis=2)
  mask = np.concatenate([np.broadcast_to(prefix_mask[rows][:, None, :], (r, s, n)), gen_mask], -1)
  want = _np_attention(q, keys, values, np.broadcast_to(mask[:, None], (r, h, s, n + t)))
  np.testing.assert_allclose(got, want, atol=1e-5)


def test_masks_are_jittable():
  f = jax.jit(attention.unilm_mask)
  assert f(np.array([[0, 1, 1]]), np.array([[1, 2, 3]])).shape == (1, 3, 3)
