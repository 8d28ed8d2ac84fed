"""Tests for flaxnlp.losses against numpy implementations of the published formulas.

References written here (never the code under test):
  * `np_zlpr`: blog 9064's soft form log(1 + Σ t e^{-s}) + log(1 + Σ (1-t) e^{s}) in float64,
    evaluated with a stable log-add-exp over the explicit list of kept terms;
  * `np_zlpr_pairwise`: blog 7359's pairwise derivation for hard labels,
    log(1 + Σ_{i∈pos, j∈neg} e^{s_j - s_i} + Σ_neg e^{s_j} + Σ_pos e^{-s_i}), summed term by term;
  * `np_bert4keras_sparse`: bert4keras' a + log(1 - e^{b-a}) evaluation (blog 8888) in float32,
    used only to show that the stress inputs really break the naive formula;
  * `np_seq2seq`: log-softmax cross-entropy with a hand-written target mask;
  * `np_sigmoid_bce`: the textbook mean over classes of -t log p - (1 - t) log(1 - p), with
    p = 1 / (1 + e^{-s}) in float64.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp import losses

# Most tests call jitted wrappers (one compilation instead of op-by-op dispatch, much faster on
# CPU); test_jit_and_vmap_agree_with_eager checks the plain functions against them.
MLCE = jax.jit(losses.multilabel_categorical_crossentropy)
SPARSE = jax.jit(losses.sparse_multilabel_categorical_crossentropy, static_argnames="mask_zero")
BCE = jax.jit(losses.sigmoid_binary_crossentropy)


# ----------------------------------------------------------------------------- numpy references
def np_log1p_sum_exp(terms):
  """log(1 + Σ e^x) for a 1-D list of float64 exponents (empty list → 0)."""
  return float(np.logaddexp.reduce(np.concatenate([[0.0], np.asarray(terms, np.float64)])))


def np_zlpr(s, t, keep=None):
  """Soft/hard ZLPR for one row; classes with keep False are dropped; t≈0/1 drop a side."""
  s = np.asarray(s, np.float64)
  t = np.asarray(t, np.float64)
  keep = np.ones(s.shape, bool) if keep is None else np.asarray(keep, bool)
  pos = [-si + np.log(ti) for si, ti, k in zip(s, t, keep) if k and ti > 0]
  neg = [si + np.log1p(-ti) for si, ti, k in zip(s, t, keep) if k and ti < 1]
  return np_log1p_sum_exp(pos) + np_log1p_sum_exp(neg)


def np_zlpr_rows(s, t, keep=None):
  s2 = np.asarray(s).reshape(-1, np.shape(s)[-1])
  t2 = np.broadcast_to(t, np.shape(s)).reshape(s2.shape)
  k2 = None if keep is None else np.broadcast_to(keep, np.shape(s)).reshape(s2.shape)
  out = [np_zlpr(s2[r], t2[r], None if k2 is None else k2[r]) for r in range(s2.shape[0])]
  return np.asarray(out).reshape(np.shape(s)[:-1])


def np_zlpr_pairwise(s, y):
  """Pairwise form of the hard-label loss (blog 7359), no factorisation, one row."""
  s = np.asarray(s, np.float64)
  pos, neg = s[y == 1], s[y == 0]
  total = 1.0 + np.exp(neg[None, :] - pos[:, None]).sum() + np.exp(neg).sum() + np.exp(-pos).sum()
  return np.log(total)


def np_sigmoid_bce(s, t):
  """Per-class sigmoid cross-entropy averaged over the last axis, float64, no stabilisation
  (only for |s| small enough that p and 1 - p are representable)."""
  s, t = np.asarray(s, np.float64), np.asarray(t, np.float64)
  p = 1.0 / (1.0 + np.exp(-s))
  return np.mean(-t * np.log(p) - (1.0 - t) * np.log(1.0 - p), axis=-1)


def np_lse32(x):
  x = np.asarray(x, np.float32)
  m = np.max(x)
  return np.float32(m + np.log(np.sum(np.exp(x - m), dtype=np.float32)))


def np_bert4keras_sparse(s, idx, clip):
  """bert4keras' sparse evaluation (kexue.fm/archives/8888), float32, one row, no mask_zero."""
  y = np.concatenate([np.asarray(s, np.float32), np.zeros(1, np.float32)])
  pos_scores = y[idx]
  pos_loss = np_lse32(np.concatenate([-pos_scores, np.zeros(1, np.float32)]))
  a = np_lse32(y)
  aux = np.float32(1) - np.exp(np_lse32(pos_scores) - a)
  if clip:
    aux = np.clip(aux, 1e-7, 1)
  with np.errstate(divide="ignore"):
    return pos_loss + a + np.log(aux)


def multi_hot(idx_rows, num_classes):
  y = np.zeros((len(idx_rows), num_classes), np.float32)
  for r, idx in enumerate(idx_rows):
    for i in idx:
      if 0 <= i < num_classes:
        y[r, i] = 1.0
  return y


def grad_of(fn, x):
  return jax.jit(jax.grad(lambda v: jnp.sum(fn(v))))(x)


# ----------------------------------------------------------------------------- dense, hard & soft
def test_hard_labels_match_both_numpy_forms():
  rng = np.random.default_rng(0)
  s = rng.normal(0, 3, (5, 4, 12)).astype(np.float32)
  y = (rng.random((5, 4, 12)) < 0.3).astype(np.float32)
  got = np.asarray(MLCE(s, y))
  assert got.shape == (5, 4)
  np.testing.assert_allclose(got, np_zlpr_rows(s, y), rtol=1e-5, atol=1e-6)
  pairwise = np.array([np_zlpr_pairwise(r, l) for r, l in zip(s.reshape(-1, 12), y.reshape(-1, 12))])
  np.testing.assert_allclose(got.reshape(-1), pairwise, rtol=1e-5, atol=1e-6)
  # Integer and boolean hard labels are accepted and give the same values.
  np.testing.assert_allclose(np.asarray(MLCE(s, y.astype(bool))), got, rtol=1e-6)


def test_soft_labels_match_numpy():
  rng = np.random.default_rng(1)
  s = rng.normal(0, 2, (6, 9)).astype(np.float32)
  t = rng.random((6, 9)).astype(np.float32)
  t[0, :3] = [0.0, 1.0, 0.5]
  np.testing.assert_allclose(np.asarray(MLCE(s, t)), np_zlpr_rows(s, t), rtol=1e-5, atol=1e-6)


def test_soft_optimum_is_sigmoid_of_two_s():
  s = jnp.linspace(-3.0, 3.0, 11)[None]
  at_optimum = grad_of(lambda v: MLCE(v, jax.nn.sigmoid(2 * s)), s)
  np.testing.assert_allclose(np.asarray(at_optimum), 0.0, atol=1e-6)
  # sigmoid(s) (the usual reading) is not the optimum: the gradient is clearly non-zero there.
  elsewhere = grad_of(lambda v: MLCE(v, jax.nn.sigmoid(s)), s)
  assert np.max(np.abs(np.asarray(elsewhere))) > 1e-2


def test_soft_labels_within_eps_act_as_exact_zero_and_one():
  s = jnp.array([[2.0, -1.0, 0.5, -1e7]])
  exact = MLCE(s, jnp.array([[0.0, 1.0, 0.3, 0.0]]))
  near = MLCE(s, jnp.array([[1e-9, 1 - 1e-9, 0.3, 1e-9]]))
  np.testing.assert_allclose(np.asarray(near), np.asarray(exact), rtol=1e-6)
  # Clipping t to [eps, 1-eps] alone would leak -s + log(eps) ≈ 1e7 from the -1e7 logit.
  np.testing.assert_allclose(
      np.asarray(exact), [np_zlpr(s[0], [0.0, 1.0, 0.3, 0.0])], rtol=1e-5)
  assert float(exact[0]) < 10.0


# ----------------------------------------------------------------------------- sigmoid BCE
def test_sigmoid_bce_matches_numpy_with_hard_and_smoothed_targets():
  rng = np.random.default_rng(11)
  s = rng.normal(0, 3, (5, 4, 12)).astype(np.float32)
  y = (rng.random((5, 4, 12)) < 0.3).astype(np.float32)
  got = np.asarray(BCE(s, y))
  assert got.shape == (5, 4) and got.dtype == np.float32
  np.testing.assert_allclose(got, np_sigmoid_bce(s, y), rtol=1e-5, atol=1e-6)
  smoothed = y * 0.8 + 0.1  # the classification task's targets at ε = 0.2
  np.testing.assert_allclose(np.asarray(BCE(s, smoothed)), np_sigmoid_bce(s, smoothed),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(BCE(s, y.astype(bool))), got, rtol=1e-6)


def test_sigmoid_bce_soft_optimum_is_sigmoid_of_s():
  s = jnp.linspace(-3.0, 3.0, 11)[None]
  at_optimum = grad_of(lambda v: BCE(v, jax.nn.sigmoid(s)), s)
  np.testing.assert_allclose(np.asarray(at_optimum), 0.0, atol=1e-7)
  # d/ds of the mean over C = 11 classes is (sigmoid(s) - t) / C.
  g = grad_of(lambda v: BCE(v, jnp.ones_like(s)), s)
  np.testing.assert_allclose(np.asarray(g), (np.asarray(jax.nn.sigmoid(s)) - 1.0) / 11, atol=1e-7)


def test_sigmoid_bce_extreme_logits_are_finite():
  # Per class: right with margin 100 → log(1 + e^-100) ≈ 0; wrong by 100 → ≈ 100. Mean 50; the
  # naive log(1 - sigmoid(100)) = log(0) in float32 would be infinite.
  s = jnp.array([[100.0, -100.0, 100.0, -100.0]])
  y = jnp.array([[1.0, 0.0, 0.0, 1.0]])
  np.testing.assert_allclose(np.asarray(BCE(s, y)), [50.0], rtol=1e-6)
  np.testing.assert_allclose(np.asarray(grad_of(lambda v: BCE(v, y), s)),
                             [[0.0, 0.0, 0.25, -0.25]], atol=1e-7)
  assert BCE(s.astype(jnp.bfloat16), y).dtype == jnp.float32


# ----------------------------------------------------------------------------- masking
@pytest.mark.parametrize("mask_value", [-np.inf, -1e12, -1e12 / 8.0])
def test_masked_logits_drop_out_with_zero_gradient(mask_value):
  rng = np.random.default_rng(2)
  s = rng.normal(0, 2, (4, 10)).astype(np.float32)
  t = rng.random((4, 10)).astype(np.float32)
  t[:, ::3] = 1.0
  keep = rng.random((4, 10)) < 0.6
  masked = np.where(keep, s, np.float32(mask_value)).astype(np.float32)
  loss = MLCE(masked, t)
  assert np.all(np.isfinite(np.asarray(loss)))
  np.testing.assert_allclose(np.asarray(loss), np_zlpr_rows(s, t, keep), rtol=1e-5, atol=1e-6)
  g = np.asarray(grad_of(lambda v: MLCE(v, t), jnp.asarray(masked)))
  assert np.all(np.isfinite(g))
  assert np.all(g[~keep] == 0.0)
  assert np.any(g[keep] != 0.0)


def test_boolean_mask_argument():
  rng = np.random.default_rng(3)
  s = rng.normal(0, 2, (3, 8)).astype(np.float32)
  y = (rng.random((3, 8)) < 0.4).astype(np.float32)
  keep = rng.random((3, 8)) < 0.5
  loss = MLCE(s, y, keep)
  np.testing.assert_allclose(np.asarray(loss), np_zlpr_rows(s, y, keep), rtol=1e-5, atol=1e-6)
  g = np.asarray(grad_of(lambda v: MLCE(v, y, keep), jnp.asarray(s)))
  assert np.all(g[~keep] == 0.0)
  # A mask broadcast over rows (one per class) is accepted.
  row_mask = keep[0]
  np.testing.assert_allclose(
      np.asarray(MLCE(s, y, row_mask)), np_zlpr_rows(s, y, np.broadcast_to(row_mask, s.shape)),
      rtol=1e-5, atol=1e-6)


def test_fully_masked_rows_give_zero_loss_and_gradient():
  y = jnp.array([[1.0, 0.0, 0.3], [0.0, 1.0, 1.0]])
  for s, mask in [(jnp.full((2, 3), -jnp.inf), None), (jnp.full((2, 3), -1e12), None),
                  (jnp.ones((2, 3)), jnp.zeros((2, 3), bool))]:
    loss = MLCE(s, y, mask)
    g = grad_of(lambda v, m=mask: MLCE(v, y, m), s)
    np.testing.assert_array_equal(np.asarray(loss), 0.0)
    np.testing.assert_array_equal(np.asarray(g), 0.0)


# ----------------------------------------------------------------------------- numerics & transforms
def test_extreme_logits_exact_value_and_finite_gradient():
  s = np.array([[1e4, -1e4, 3e3, -2.0, 5.0], [-1e4, 1e4, 0.0, 1e4, -1e4]], np.float32)
  y = np.array([[1, 0, 0, 1, 0], [1, 0, 1, 1, 0]], np.float32)
  loss = np.asarray(MLCE(s, y))
  np.testing.assert_allclose(loss, np_zlpr_rows(s, y), rtol=1e-6)
  g = np.asarray(grad_of(lambda v: MLCE(v, y), jnp.asarray(s)))
  assert np.all(np.isfinite(g))
  # Analytic gradient: -t e^{-s}/(1+Σ_pos) on positives, e^{s}/(1+Σ_neg) on negatives; the 3e3
  # negative and the -1e4 positive carry all of their side's weight.
  np.testing.assert_allclose(g[0, 2], 1.0, atol=1e-6)
  np.testing.assert_allclose(g[1, 0], -1.0, atol=1e-6)


def test_bfloat16_inputs_are_computed_in_float32():
  rng = np.random.default_rng(4)
  s = jnp.asarray(rng.normal(0, 3, (4, 16)), jnp.bfloat16)
  s = s.at[:, -1].set(-jnp.inf)
  t = jnp.asarray(rng.random((4, 16)), jnp.bfloat16)
  loss = MLCE(s, t)
  assert loss.dtype == jnp.float32
  s64 = np.asarray(s, np.float64)
  expected = np_zlpr_rows(s64, np.asarray(t, np.float64), np.isfinite(s64))
  np.testing.assert_allclose(np.asarray(loss), expected, rtol=1e-5, atol=1e-6)
  g = grad_of(lambda v: MLCE(v, t), s)
  assert g.dtype == jnp.bfloat16 and bool(jnp.all(jnp.isfinite(g)))
  sparse = SPARSE(s, jnp.array([[0, 1], [2, 3], [4, 5], [6, 7]]))
  assert sparse.dtype == jnp.float32


def test_jit_and_vmap_agree_with_eager():
  rng = np.random.default_rng(5)
  s = jnp.asarray(rng.normal(0, 2, (3, 4, 20)), jnp.float32)
  t = jnp.asarray(rng.random((3, 4, 20)), jnp.float32)
  idx = jnp.asarray(rng.integers(-1, 20, (3, 4, 5)))
  dense_fn = losses.multilabel_categorical_crossentropy
  eager = dense_fn(s, t)
  np.testing.assert_allclose(np.asarray(jax.jit(dense_fn)(s, t)), np.asarray(eager), rtol=1e-6)
  np.testing.assert_allclose(np.asarray(jax.vmap(dense_fn)(s, t)), np.asarray(eager), rtol=1e-6)
  sparse_fn = functools.partial(losses.sparse_multilabel_categorical_crossentropy, mask_zero=True)
  eager_sparse = sparse_fn(s, idx)
  np.testing.assert_allclose(
      np.asarray(jax.jit(sparse_fn)(s, idx)), np.asarray(eager_sparse), rtol=1e-6)
  np.testing.assert_allclose(
      np.asarray(jax.vmap(sparse_fn)(s, idx)), np.asarray(eager_sparse), rtol=1e-6)
  g_jit = jax.jit(jax.grad(lambda v: jnp.sum(sparse_fn(v, idx))))(s)
  g_eager = jax.grad(lambda v: jnp.sum(sparse_fn(v, idx)))(s)
  np.testing.assert_allclose(np.asarray(g_jit), np.asarray(g_eager), rtol=1e-6)


# ----------------------------------------------------------------------------- sparse
@pytest.mark.parametrize("mask_zero", [False, True])
def test_sparse_equals_dense_on_random_inputs(mask_zero):
  rng = np.random.default_rng(6)
  rows, classes, k = 12, 30, 6
  s = rng.normal(0, 3, (rows, classes)).astype(np.float32)
  s[:, 25] = -np.inf  # a GP-style masked class
  idx = np.stack([rng.choice(np.arange(1, classes), k, replace=False) for _ in range(rows)])
  idx[::3, -2:] = 0  # padding when mask_zero, a real positive on class 0 otherwise
  keep = np.ones(classes, bool)
  keep[25] = False
  if mask_zero:
    keep[0] = False
  y = multi_hot(idx, classes)
  got = np.asarray(SPARSE(s, idx, mask_zero=mask_zero))
  np.testing.assert_allclose(got, np_zlpr_rows(s, y, keep), rtol=1e-5, atol=1e-6)
  dense = np.asarray(MLCE(s, y, keep))
  np.testing.assert_allclose(got, dense, rtol=1e-6, atol=1e-6)
  g_sparse = grad_of(lambda v: SPARSE(v, idx, mask_zero=mask_zero), jnp.asarray(s))
  g_dense = grad_of(lambda v: MLCE(v, y, keep), jnp.asarray(s))
  np.testing.assert_allclose(np.asarray(g_sparse), np.asarray(g_dense), rtol=1e-5, atol=1e-7)


def test_sparse_duplicates_count_once_and_out_of_range_is_ignored():
  s = np.array([[0.3, -1.2, 2.0, 0.7, -0.4]], np.float32)
  set_semantics = np_zlpr(s[0], [0, 1, 0, 1, 0])
  got = SPARSE(s, np.array([[1, 3, 1, 3, 3, -1, 5, 99]]))
  np.testing.assert_allclose(np.asarray(got), [set_semantics], rtol=1e-6)
  # Counting the repeats (bert4keras) would add the extra e^{-s} terms: a different value.
  repeated = np_log1p_sum_exp([1.2, 1.2, -0.7, -0.7, -0.7]) + np_log1p_sum_exp([0.3, 2.0, -0.4])
  assert abs(float(got[0]) - repeated) > 0.1


def test_sparse_never_nan_or_negative_on_memorised_samples():
  classes = 40
  negatives = np.full(classes, -1e4, np.float32)
  cases = [
      (np.array([3, 7]), [15.0, 15.0]),  # naive clipped form goes negative (issue #500)
      (np.array([5]), [30.0]),
      (np.array([1, 2, 3]), [1e4, 500.0, 30.0]),  # naive unclipped form is NaN/-inf (issue #436)
  ]
  naive_failed = []
  for idx, values in cases:
    s = negatives.copy()
    s[idx] = values
    y = multi_hot([idx], classes)[0]
    naive_failed.append(not np.isfinite(np_bert4keras_sparse(s, idx, clip=False))
                        or np_bert4keras_sparse(s, idx, clip=True) < 0)
    loss = float(SPARSE(s[None], idx[None])[0])
    assert np.isfinite(loss) and loss >= 0.0
    np.testing.assert_allclose(loss, np_zlpr(s, y), rtol=1e-5, atol=1e-12)
    g = np.asarray(grad_of(lambda v, i=idx: SPARSE(v, i[None]), jnp.asarray(s[None])))
    assert np.all(np.isfinite(g))
    # With mask_zero and padding entries the same holds.
    padded = np.concatenate([idx, [0, 0]])[None]
    loss0 = float(SPARSE(s[None], padded, mask_zero=True)[0])
    assert np.isfinite(loss0) and loss0 >= 0.0
  assert all(naive_failed), "the stress cases must break the naive a + log(1 - e^{b-a}) form"


def test_sparse_rejects_bad_inputs():
  s = jnp.zeros((2, 5))
  with pytest.raises(TypeError, match="integers"):
    SPARSE(s, jnp.zeros((2, 3), jnp.float32))
  with pytest.raises(ValueError, match="agree"):
    SPARSE(s, jnp.zeros((3, 3), jnp.int32))


# ----------------------------------------------------------------------------- GlobalPointer
def gp_logits(rng, b, h, n, lengths, mask_value):
  s = rng.normal(0, 3, (b, h, n, n)).astype(np.float32)
  keep = np.zeros((b, h, n, n), bool)
  for bi, length in enumerate(lengths):
    keep[bi, :, :length, :length] = np.triu(np.ones((length, length), bool))
  return np.where(keep, s, np.float32(mask_value)).astype(np.float32), keep


@pytest.mark.parametrize("mask_value", [-np.inf, -1e12])
def test_global_pointer_dense_and_sparse_reductions(mask_value):
  rng = np.random.default_rng(7)
  b, h, n, k = 3, 2, 6, 4
  logits, keep = gp_logits(rng, b, h, n, lengths=[6, 4, 5], mask_value=mask_value)
  spans = np.zeros((b, h, k), np.int64)  # 0 = padding / GPLinker dummy (0, 0)
  for bi in range(b):
    for hi in range(h):
      pairs = [(i, j) for i in range(1, n) for j in range(i, n) if keep[bi, hi, i, j]]
      chosen = rng.choice(len(pairs), size=rng.integers(0, k + 1), replace=False)
      spans[bi, hi, :len(chosen)] = [pairs[c][0] * n + pairs[c][1] for c in chosen]
  dense = multi_hot(np.where(spans > 0, spans, -1).reshape(b * h, k), n * n).reshape(b, h, n, n)
  flat_s = np.where(keep, logits, 0).reshape(b, h, n * n)
  flat_keep = keep.reshape(b, h, n * n)
  ref_dense = np.array([[np_zlpr(flat_s[bi, hi], dense.reshape(b, h, -1)[bi, hi], flat_keep[bi, hi])
                         for hi in range(h)] for bi in range(b)])
  no_cls = flat_keep.copy()
  no_cls[..., 0] = False  # mask_zero: cell (0, 0) is padding, not a negative
  ref_sparse = np.array([[np_zlpr(flat_s[bi, hi], dense.reshape(b, h, -1)[bi, hi], no_cls[bi, hi])
                          for hi in range(h)] for bi in range(b)])
  gp = jax.jit(losses.global_pointer_crossentropy, static_argnames=("sparse", "reduction"))
  np.testing.assert_allclose(float(gp(logits, dense)), ref_dense.mean(), rtol=1e-5)
  np.testing.assert_allclose(
      float(gp(logits, dense, reduction="sum_heads")), ref_dense.sum(1).mean(), rtol=1e-5)
  np.testing.assert_allclose(float(gp(logits, spans, sparse=True)), ref_sparse.mean(), rtol=1e-5)
  np.testing.assert_allclose(
      float(gp(logits, spans, sparse=True, reduction="sum_heads")), ref_sparse.sum(1).mean(),
      rtol=1e-5)
  g = jax.grad(lambda v: gp(v, spans, sparse=True, reduction="sum_heads"))(jnp.asarray(logits))
  assert bool(jnp.all(jnp.isfinite(g))) and bool(jnp.all(jnp.where(keep, True, g == 0)))


def test_global_pointer_rejects_bad_arguments():
  logits = jnp.zeros((1, 2, 3, 3))
  with pytest.raises(ValueError, match="reduction"):
    losses.global_pointer_crossentropy(logits, jnp.zeros((1, 2, 3, 3)), reduction="sum")
  with pytest.raises(ValueError, match="sparse labels"):
    losses.global_pointer_crossentropy(logits, jnp.zeros((1, 2, 3, 3), jnp.int32), sparse=True)
  with pytest.raises(ValueError, match="dense labels"):
    losses.global_pointer_crossentropy(logits, jnp.zeros((1, 2, 9)))
  with pytest.raises(ValueError, match="logits"):
    losses.global_pointer_crossentropy(jnp.zeros((2, 3, 3)), jnp.zeros((2, 3, 3)))


# ----------------------------------------------------------------------------- seq2seq
def test_seq2seq_crossentropy_matches_numpy_with_hand_checked_mask():
  rng = np.random.default_rng(8)
  vocab = 7
  # [CLS] q q [SEP] a a [SEP] pad | [CLS] q [SEP] a [SEP] pad pad pad
  token_ids = np.array([[2, 4, 5, 3, 6, 4, 3, 0], [2, 5, 3, 4, 3, 0, 0, 0]])
  segment_ids = np.array([[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 0, 0, 0]])
  # Position t is scored iff token t+1 is a target token: the source's [SEP] predicts the first
  # answer token and the last answer token predicts the closing [SEP].
  mask = np.array([[0, 0, 0, 1, 1, 1, 0], [0, 0, 1, 1, 0, 0, 0]], np.float64)
  logits = rng.normal(0, 2, (2, 8, vocab)).astype(np.float32)
  x = logits[:, :-1].astype(np.float64)
  logp = x - np.logaddexp.reduce(x, axis=-1, keepdims=True)
  nll = -np.take_along_axis(logp, token_ids[:, 1:, None], axis=-1)[..., 0]
  expected = (nll * mask).sum() / mask.sum()  # 5 target tokens in the batch
  got = losses.seq2seq_crossentropy(logits, token_ids, segment_ids)
  assert got.shape == () and got.dtype == jnp.float32
  np.testing.assert_allclose(float(got), expected, rtol=1e-5)
  # Token-level batch mean, not the mean of per-sequence means.
  per_seq = ((nll * mask).sum(1) / mask.sum(1)).mean()
  assert abs(per_seq - expected) > 1e-3
  bf16 = losses.seq2seq_crossentropy(jnp.asarray(logits, jnp.bfloat16), token_ids, segment_ids)
  assert bf16.dtype == jnp.float32
  jitted = jax.jit(losses.seq2seq_crossentropy)(logits, token_ids, segment_ids)
  np.testing.assert_allclose(float(jitted), expected, rtol=1e-5)
  g = jax.grad(losses.seq2seq_crossentropy)(jnp.asarray(logits), token_ids, segment_ids)
  assert np.all(np.asarray(g)[:, :-1][mask == 0] == 0.0) and np.all(np.asarray(g)[:, -1] == 0.0)


def test_seq2seq_at_target_positions_equals_the_full_loss():
  # Rows: targets in the middle, targets running to the last token (the window shifts left),
  # no targets at all. The hand-checked positions cover every t with segment_ids[t + 1] = 1.
  token_ids = np.array([[2, 4, 5, 3, 6, 4, 3, 0], [2, 5, 3, 4, 6, 4, 7, 3],
                        [2, 5, 3, 0, 0, 0, 0, 0]])
  segment_ids = np.array([[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1, 1],
                          [0, 0, 0, 0, 0, 0, 0, 0]])
  positions = losses.seq2seq_target_positions(jnp.asarray(segment_ids), 5)
  np.testing.assert_array_equal(positions, [[2, 3, 4, 5, 6], [2, 3, 4, 5, 6], [0, 1, 2, 3, 4]])
  np.testing.assert_array_equal(losses.seq2seq_target_positions(jnp.asarray(segment_ids), 3),
                                [[3, 4, 5], [2, 3, 4], [0, 1, 2]])  # row 1: 5 targets > 3, cut
  logits = np.random.default_rng(3).normal(0, 2, (3, 8, 11)).astype(np.float32)
  full = losses.seq2seq_crossentropy(logits, token_ids, segment_ids)
  gathered = np.take_along_axis(logits, np.asarray(positions)[..., None], axis=1)
  np.testing.assert_allclose(
      float(losses.seq2seq_crossentropy(gathered, token_ids, segment_ids, positions)),
      float(full), rtol=1e-6)
  assert losses.seq2seq_target_positions(jnp.asarray(segment_ids), 50).shape == (3, 7)


def test_seq2seq_without_targets_is_zero():
  logits = jnp.ones((1, 4, 5))
  loss = losses.seq2seq_crossentropy(logits, jnp.array([[1, 2, 3, 0]]), jnp.zeros((1, 4), jnp.int32))
  assert float(loss) == 0.0
  with pytest.raises(ValueError, match="expected logits"):
    losses.seq2seq_crossentropy(logits, jnp.zeros((1, 3), jnp.int32), jnp.zeros((1, 3), jnp.int32))
