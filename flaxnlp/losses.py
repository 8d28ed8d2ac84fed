"""Losses: the ZLPR multi-label family ("softmax + cross-entropy" for multi-label), its blockwise
GlobalPointer form (memory linear in the length), the per-class sigmoid cross-entropy it is
compared with, and seq2seq CE.

Conventions (like `optax.losses`): pure functions; scores are unnormalised logits with the decision
threshold fixed at 0 (predict class i iff s_i > 0; the calibrated probability is sigmoid(2 s_i));
every loss is computed in float32 (float64 stays float64) whatever the input dtype.

Masking. A class drops out of both sums of the ZLPR loss when its entry in `mask` is False **or**
its logit is <= -1e11: GlobalPointer masks with -inf, with -1e12, or with -1e12 / sqrt(d)
(about -1.25e11 for d = 64), and all of them count as masked. Masked terms are removed with
`where` guards, never by arithmetic on infinities, so no NaN (inf - inf) can appear in the value or
the gradient. A row with every class masked has loss 0 and gradient 0.

References: Su Jianlin, blog posts 7359 (hard labels), 9064 (soft labels), 8888 (sparse labels,
GPLinker), 8373 (GlobalPointer), 6933 (UniLM seq2seq); ZLPR, arXiv:2208.02955.
"""
from typing import Literal

import jax
import jax.numpy as jnp
import optax

from flaxnlp.layers.global_pointer import SpanFactors, valid_cells

# Logits at or below this value are masked positions (GlobalPointer's -inf / -1e12 / -1e12/sqrt(d)).
MASKED_LOGIT_THRESHOLD = -1e11


def _compute_dtype(dtype) -> jnp.dtype:
  """float32 for low-precision inputs (bfloat16, float16) and integers; float64 stays float64."""
  return jnp.promote_types(dtype, jnp.float32)


def _log1p_sum_exp(z: jax.Array) -> jax.Array:
  """log(1 + Σ_i exp(z_i)) over the last axis: logsumexp with an implicit extra 0 entry.

  Entries equal to -inf contribute exactly 0 to the value and the gradient. The shift m is a
  constant for autodiff (the true gradient does not depend on it), so no concatenated copy of `z`
  is built.
  """
  m = jax.lax.stop_gradient(jnp.maximum(jnp.max(z, axis=-1), 0.0))
  r = jnp.sum(jnp.exp(z - m[..., None]), axis=-1)
  # With every z <= 0 (m = 0) log1p keeps full relative precision for a near-zero loss.
  return jnp.where(m > 0, m + jnp.log(jnp.exp(-m) + r), jnp.log1p(r))


def _valid_logits(s: jax.Array, mask: jax.Array | None) -> jax.Array:
  """Classes that take part in the loss: logit above the mask threshold and `mask` True."""
  valid = s > MASKED_LOGIT_THRESHOLD
  if mask is not None:
    valid = valid & jnp.broadcast_to(jnp.asarray(mask, bool), s.shape)
  return valid


def multilabel_categorical_crossentropy(
    logits: jax.Array,
    labels: jax.Array,
    mask: jax.Array | None = None,
    *,
    eps: float = 1e-7,
) -> jax.Array:
  r"""ZLPR multi-label categorical cross-entropy with hard or soft labels, one value per row.

  For scores s (last axis, threshold class s_0 = 0) and targets t in [0, 1]:

  .. math::
    L = \log\Big(1 + \sum_i t_i e^{-s_i}\Big) + \log\Big(1 + \sum_i (1 - t_i) e^{s_i}\Big)

  With hard labels t in {0, 1} this is log(1 + Σ_pos e^{-s}) + log(1 + Σ_neg e^{s}) (blog 7359),
  the factorised form of log(1 + Σ_{i∈pos, j∈neg} e^{s_j - s_i} + Σ_neg e^{s_j} + Σ_pos e^{-s_i}).
  Soft labels (blog 9064) make the gradient vanish at t_i = sigmoid(2 s_i). Computed as
  logsumexp over {0} ∪ {-s_i + log t_i} plus logsumexp over {0} ∪ {s_i + log(1 - t_i)}.

  Conventions:
    * A class is masked (absent from both sums, zero gradient) where `mask` is False or its logit
      is <= -1e11 (GlobalPointer's -inf or -1e12 masks). A positive label on a masked class is
      ignored.
    * Soft labels t < eps count as exactly 0 (their positive term is removed) and t > 1 - eps as
      exactly 1 (their negative term is removed); terms are removed, never only clipped, so a very
      negative logit cannot leak through log(eps). Labels outside [0, 1] act as 0 or 1.
    * Inputs of lower precision (bfloat16) are computed and returned in float32.

  Args:
    logits: scores, shape (..., C).
    labels: targets in [0, 1] (bool, int or float), broadcastable to `logits`.
    mask: optional bool, broadcastable to `logits`; False removes the class.
    eps: soft-label tolerance described above.

  Returns:
    Loss of shape (...,) (the last axis is reduced), float32 (float64 for float64 logits).
  """
  dtype = _compute_dtype(logits.dtype)
  s = logits.astype(dtype)
  t = jnp.broadcast_to(jnp.asarray(labels).astype(dtype), s.shape)
  valid = _valid_logits(s, mask)
  is_one = t > 1.0 - eps
  is_zero = t < eps
  pos_on = valid & ~is_zero
  neg_on = valid & ~is_one
  # log t and log(1 - t), taken only where the term is kept and the label is strictly inside
  # (eps, 1 - eps); at the "exactly 0 / exactly 1" ends the log is 0. Safe operands keep the
  # untaken branches (and their gradients) finite.
  log_t = jnp.where(is_one, 0.0, jnp.log(jnp.where(pos_on & ~is_one, t, 1.0)))
  log_1mt = jnp.where(is_zero, 0.0, jnp.log1p(-jnp.where(neg_on & ~is_zero, t, 0.0)))
  pos = jnp.where(pos_on, -jnp.where(pos_on, s, 0.0) + log_t, -jnp.inf)
  neg = jnp.where(neg_on, jnp.where(neg_on, s, 0.0) + log_1mt, -jnp.inf)
  return _log1p_sum_exp(pos) + _log1p_sum_exp(neg)


def sigmoid_binary_crossentropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  r"""Per-class sigmoid binary cross-entropy, averaged over the classes: one value per row.

  The baseline ZLPR is compared with (blog 7359): each class an independent logistic regression,

  .. math::
    L = \frac{1}{C} \sum_i -t_i \log\sigma(s_i) - (1 - t_i) \log(1 - \sigma(s_i)),

  computed as -t·log_sigmoid(s) - (1 - t)·log_sigmoid(-s) (`optax.sigmoid_binary_cross_entropy`),
  finite for any finite logit. Targets t in [0, 1] may be soft (label smoothing). The probability
  of class i is sigmoid(s_i), so the usual threshold is again s = 0 (probability 0.5); whether a
  threshold tuned on held-out data predicts better is what docs/claims.md measures. Inputs of
  lower precision (bfloat16) are computed and returned in float32.

  Args:
    logits: scores, shape (..., C).
    labels: targets in [0, 1] (bool, int or float), broadcastable to `logits`.

  Returns:
    Loss of shape (...,) (the last axis is averaged), float32 (float64 for float64 logits).
  """
  s = logits.astype(_compute_dtype(logits.dtype))
  t = jnp.broadcast_to(jnp.asarray(labels).astype(s.dtype), s.shape)
  return optax.sigmoid_binary_cross_entropy(s, t).mean(axis=-1)


def sparse_multilabel_categorical_crossentropy(
    logits: jax.Array,
    positive_indices: jax.Array,
    mask_zero: bool = False,
) -> jax.Array:
  r"""ZLPR loss with the positives given as class indices (GPLinker's sparse labels), one per row.

  .. math::
    L = \log\Big(1 + \sum_{i \in P} e^{-s_i}\Big) + \log\Big(1 + \sum_{j \notin P} e^{s_j}\Big)

  Equal to `multilabel_categorical_crossentropy(logits, multi_hot(P))` (with class 0 masked when
  `mask_zero`). bert4keras evaluates the negative term as a + log(1 - e^{b - a}) with
  a = log(1 + Σ_all e^s), b = log Σ_P e^s, which cancels catastrophically once the positives
  dominate (memorised samples: NaN or a negative loss, bert4keras issues #436 and #500). Here the
  negative term is a logsumexp over the negatives themselves (the positives are removed with a
  scattered membership mask), so it is exact, never NaN and never negative; the positive term
  gathers only the K positive logits.

  Conventions:
    * Index semantics are those of a set: a repeated index counts once (GPLinker builds its labels
      from sets; bert4keras would count it twice).
    * Indices outside [0, C) (e.g. -1 padding) are ignored. With `mask_zero=True`, index 0 is
      padding too and class 0 is excluded from the negatives as well (GPLinker's flattened
      (0, 0) = ([CLS], [CLS]) cell, also its dummy label for an empty head).
    * Logit masking as in `multilabel_categorical_crossentropy` (logits <= -1e11 drop out of both
      sums; a positive index on a masked logit is ignored). Computed in float32 for bfloat16 input.

  Args:
    logits: scores, shape (..., C).
    positive_indices: int, shape (..., K), same leading shape as `logits`.
    mask_zero: treat index 0 as padding and exclude class 0 from the loss.

  Returns:
    Loss of shape (...,), float32 (float64 for float64 logits).
  """
  dtype = _compute_dtype(logits.dtype)
  s = logits.astype(dtype)
  idx = jnp.asarray(positive_indices)
  if not jnp.issubdtype(idx.dtype, jnp.integer):
    raise TypeError(f"positive_indices must be integers, got {idx.dtype}")
  if idx.shape[:-1] != s.shape[:-1]:
    raise ValueError(
        f"positive_indices {idx.shape} and logits {s.shape} must agree on all but the last axis")
  num_classes = s.shape[-1]
  lead = s.shape[:-1]
  s2 = s.reshape(-1, num_classes)
  idx2 = jnp.sort(idx.reshape(s2.shape[0], -1), axis=-1)
  in_range = (idx2 >= (1 if mask_zero else 0)) & (idx2 < num_classes)
  first = jnp.concatenate(
      [jnp.ones_like(idx2[:, :1], bool), idx2[:, 1:] != idx2[:, :-1]], axis=-1)
  safe_idx = jnp.where(in_range, idx2, 0)
  pos_s = jnp.take_along_axis(s2, safe_idx, axis=-1)
  pos_on = in_range & first & (pos_s > MASKED_LOGIT_THRESHOLD)
  pos = jnp.where(pos_on, -jnp.where(pos_on, pos_s, 0.0), -jnp.inf)
  # Membership mask of the positives; out-of-range rows of the scatter are dropped.
  rows = jnp.arange(s2.shape[0])[:, None]
  is_pos = jnp.zeros(s2.shape, bool).at[rows, jnp.where(in_range, idx2, num_classes)].set(
      True, mode="drop")
  neg_on = ~is_pos & (s2 > MASKED_LOGIT_THRESHOLD)
  if mask_zero:
    neg_on = neg_on.at[:, 0].set(False)
  neg = jnp.where(neg_on, s2, -jnp.inf)
  return (_log1p_sum_exp(pos) + _log1p_sum_exp(neg)).reshape(lead)


def global_pointer_crossentropy(
    logits: jax.Array,
    labels: jax.Array,
    *,
    sparse: bool = False,
    reduction: Literal["mean", "sum_heads"] = "mean",
) -> jax.Array:
  """ZLPR loss of a GlobalPointer head over all N² token pairs of every head, reduced to a scalar.

  Each (batch, head) is one multi-label row over the flattened N·N cells (cell (i, j) has index
  i·N + j); masked cells (logit -inf or ~-1e12 from the GP layer) take no part (see
  `multilabel_categorical_crossentropy`).

  Args:
    logits: [B, H, N, N] GlobalPointer scores.
    labels: dense [B, H, N, N] in {0, 1} (or soft in [0, 1]) when `sparse=False`; sparse [B, H, K]
      int flattened indices i·N + j when `sparse=True`, padded with 0 (GPLinker's dummy (0, 0);
      `mask_zero=True`, so cell (0, 0) is also dropped from the negatives) or -1.
    sparse: selects the label format.
    reduction: "mean" averages the per-(batch, head) losses over B·H (bojone's GlobalPointer NER
      scripts); "sum_heads" sums over heads and averages over the batch (GPLinker). The two differ
      by a factor H, i.e. in the effective learning rate.

  Returns:
    Scalar float32 loss.
  """
  if logits.ndim != 4 or logits.shape[-1] != logits.shape[-2]:
    raise ValueError(f"logits must be [B, H, N, N], got {logits.shape}")
  b, h, n, _ = logits.shape
  flat = logits.reshape(b, h, n * n)
  if sparse:
    if labels.ndim != 3 or labels.shape[:2] != (b, h):
      raise ValueError(f"sparse labels must be [B, H, K] = [{b}, {h}, K], got {labels.shape}")
    per_head = sparse_multilabel_categorical_crossentropy(flat, labels, mask_zero=True)
  else:
    if labels.shape != logits.shape:
      raise ValueError(f"dense labels must have the logits' shape {logits.shape}, got {labels.shape}")
    per_head = multilabel_categorical_crossentropy(flat, labels.reshape(b, h, n * n))
  if reduction == "mean":
    return jnp.mean(per_head)
  if reduction == "sum_heads":
    return jnp.mean(jnp.sum(per_head, axis=1))
  raise ValueError(f"reduction must be 'mean' or 'sum_heads', got {reduction!r}")


def seq2seq_crossentropy(logits: jax.Array, token_ids: jax.Array, segment_ids: jax.Array,
                         positions: jax.Array | None = None) -> jax.Array:
  r"""UniLM seq2seq loss: next-token cross-entropy on the target segment, token-level batch mean.

  .. math::
    L = \frac{\sum_{b,t} m_{b,t} \, \mathrm{CE}(\mathrm{logits}_{b,t}, x_{b,t+1})}{\sum_{b,t} m_{b,t}},
    \qquad m_{b,t} = \mathrm{segment\_ids}_{b,t+1}

  The prediction at position t is scored against token t+1 and counted where token t+1 is a target
  token (segment 1): the first target token is predicted from the source's final [SEP], and the
  target's closing [SEP] is trained. Padding must carry segment 0. The normaliser is the number of
  target tokens in the whole batch (not a per-sequence mean); a batch with no target tokens gives 0.

  Args:
    logits: [B, N, V] MLM-head logits (any float dtype; computed in float32), or [B, P, V] at
      `positions` only.
    token_ids: [B, N] int token ids.
    segment_ids: [B, N] in {0, 1}.
    positions: optional int [B, P], distinct positions t < N - 1 per row (the sum runs over them
      alone; `seq2seq_target_positions` covers every target).

  Returns:
    Scalar float32 loss.
  """
  n = token_ids.shape[1] - 1 if positions is None else positions.shape[1]
  if (logits.ndim != 3 or logits.shape[:2] != (token_ids.shape[0], n + (positions is None))
      or segment_ids.shape != token_ids.shape):
    raise ValueError(
        f"expected logits [B, N, V] (or [B, P, V] with positions [B, P]) with token_ids / "
        f"segment_ids [B, N]; got {logits.shape}, {token_ids.shape}, {segment_ids.shape}")
  dtype = _compute_dtype(logits.dtype)
  if positions is None:
    logits, targets, weights = logits[:, :-1], token_ids[:, 1:], segment_ids[:, 1:]
  else:
    targets = jnp.take_along_axis(token_ids, positions + 1, axis=1)
    weights = jnp.take_along_axis(segment_ids, positions + 1, axis=1)
  ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits.astype(dtype), targets)
  weights = weights.astype(dtype)
  total = jnp.sum(weights)
  return jnp.where(total > 0, jnp.sum(ce * weights) / jnp.maximum(total, 1.0), 0.0)


def seq2seq_target_positions(segment_ids: jax.Array, count: int) -> jax.Array:
  """int [B, min(count, N − 1)]: consecutive positions t < N − 1 of each row, starting at the
  position before its first target token (shifted left to fit), so that every t with
  segment_ids[b, t + 1] = 1 is among them when a row has at most `count` target tokens (one
  contiguous segment-1 run, as seq2seq samples are). `seq2seq_crossentropy(positions=...)` then
  needs the MLM logits at these positions only.
  """
  n = segment_ids.shape[1]
  count = min(count, n - 1)
  first = jnp.argmax(segment_ids[:, 1:], axis=1)  # t of the first target token t + 1 (0: none)
  return jnp.minimum(first, n - 1 - count)[:, None] + jnp.arange(count)


# ---- GlobalPointer ZLPR loss in memory linear in the sequence length ---------------------------
# The dense path builds logits [B, H, N, N] (plus XLA temporaries of the same size for the loss and
# its gradient); memory grows 4× per doubling of N. `global_pointer_blockwise_loss` computes the same
# loss from the `SpanFactors` (q, k and the EGP biases) of a GlobalPointer head, one block of query
# rows at a time:
#
# - negatives: an online logsumexp over row blocks (`lax.scan`) of the unmasked, unlabelled cells;
#   each block's logits [B, H, R, N] live only inside the scan body, which is rematerialised
#   (`jax.checkpoint`) so the backward pass recomputes them instead of storing N² values;
# - positives: gathered directly as q_i·k_j + start_i + end_j from sparse (head, i·N + j) indices.
#
# Peak memory is O(B·H·R·N + B·H·N·d) instead of O(B·H·N²).

BLOCKWISE_REDUCTIONS = ("none", "mean", "sum_heads")


def _reduce(per_head: jnp.ndarray, reduction: str) -> jnp.ndarray:
  """Reduces losses [B, H]: none | mean (over B·H) | sum_heads (sum over H, mean over B)."""
  if reduction == "none":
    return per_head
  if reduction == "mean":
    return per_head.mean()
  if reduction == "sum_heads":
    return per_head.sum(-1).mean()
  raise ValueError(f"reduction must be one of {BLOCKWISE_REDUCTIONS}, got {reduction!r}")


def _label_set(positives: jnp.ndarray, n: int) -> jnp.ndarray:
  """Positives [B, H, K] sorted; padding (index ≤ 0 or ≥ N²) and repeats replaced by 0 (no label)."""
  listed = jnp.sort(jnp.where((positives > 0) & (positives < n * n), positives, 0), axis=-1)
  repeat = jnp.concatenate([jnp.zeros_like(listed[..., :1], bool),
                            listed[..., 1:] == listed[..., :-1]], axis=-1)
  return jnp.where(repeat, 0, listed)


def _positive_term(factors: SpanFactors, mask: jnp.ndarray, positives: jnp.ndarray,
                   tril_mask: bool) -> jnp.ndarray:
  """log(1 + Σ_{valid positives} e^{−s}) float32 [B, H], scores gathered at the positive cells."""
  q, k, start, end = factors
  b, _, n, d = q.shape
  h = positives.shape[1]
  i, j = positives // n, positives % n                                  # [B, H, K]

  def rows(x, idx):  # x [B, Hq, N, d] -> rows idx [B, H, K] -> [B, H, K, d]
    return jnp.take_along_axis(jnp.broadcast_to(x, (b, h, n, d)), idx[..., None], axis=2)

  scores = jnp.sum(rows(q, i) * rows(k, j), axis=-1)
  if start is not None:
    scores = scores + jnp.take_along_axis(start, i, -1) + jnp.take_along_axis(end, j, -1)
  tok = jnp.broadcast_to(mask[:, None, :], (b, h, n))
  valid = (positives != 0) & jnp.take_along_axis(tok, i, -1) & jnp.take_along_axis(tok, j, -1)
  if tril_mask:
    valid = valid & (j >= i)
  terms = jnp.where(valid, -scores, -jnp.inf)
  return jax.nn.logsumexp(jnp.concatenate([jnp.zeros((b, h, 1)), terms], -1), axis=-1)


def _negative_term(factors: SpanFactors, mask: jnp.ndarray, positives: jnp.ndarray,
                   tril_mask: bool, block_size: int) -> jnp.ndarray:
  """log(1 + Σ_{valid, unlabelled cells} e^{s}) float32 [B, H]; online logsumexp over row blocks."""
  q, k, start, end = factors
  b, hq, n, d = q.shape
  h = positives.shape[1]
  rows = min(block_size, n)
  blocks = -(-n // rows)
  pad = blocks * rows - n

  def split(x, fill):  # [B, Hx, N, ...] rows -> [blocks, B, Hx, rows, ...]
    x = jnp.pad(x, [(0, 0), (0, 0), (0, pad)] + [(0, 0)] * (x.ndim - 3), constant_values=fill)
    x = x.reshape(x.shape[:2] + (blocks, rows) + x.shape[3:])
    return jnp.moveaxis(x, 2, 0)

  xs = dict(offset=jnp.arange(blocks) * rows, q=split(q, 0.0),
            row_mask=split(mask[:, None], False)[:, :, 0])
  if start is not None:
    xs["start"] = split(start, 0.0)
  batch_index = jnp.arange(b)[:, None, None]
  head_index = jnp.arange(h)[None, :, None]
  cells = rows * n

  def body(carry, x):
    running_max, running_sum = carry                                     # [B, H] each
    scores = jnp.einsum("bhid,bhjd->bhij", x["q"], k)                    # [B, Hq, R, N]
    if start is not None:
      scores = scores + x["start"][..., None] + end[..., None, :]
    valid = valid_cells(x["row_mask"], mask, x["offset"] + jnp.arange(rows), jnp.arange(n),
                        tril_mask)
    local = positives - x["offset"] * n
    local = jnp.where((positives != 0) & (local >= 0) & (local < cells), local, cells)
    labelled = jnp.zeros((b, h, cells), bool).at[batch_index, head_index, local].set(
        True, mode="drop").reshape(b, h, rows, n)
    terms = jnp.where(valid & ~labelled, scores, -jnp.inf)              # [B, H, R, N]
    new_max = jnp.maximum(running_max, jax.lax.stop_gradient(terms.max(axis=(-2, -1))))
    new_sum = (running_sum * jnp.exp(running_max - new_max)
               + jnp.exp(terms - new_max[..., None, None]).sum(axis=(-2, -1)))
    return (new_max, new_sum), None

  # The "1 +" term: start the accumulator at e^0 (max 0, sum 1), which also keeps the max finite.
  init = (jnp.zeros((b, h), jnp.float32), jnp.ones((b, h), jnp.float32))
  (final_max, final_sum), _ = jax.lax.scan(jax.checkpoint(body, prevent_cse=False), init, xs)
  return final_max + jnp.log(final_sum)


def global_pointer_blockwise_loss(factors: SpanFactors, mask: jnp.ndarray, positives: jnp.ndarray,
                                  *, tril_mask: bool = True, reduction: str = "mean",
                                  block_size: int = 128) -> jnp.ndarray:
  """ZLPR GlobalPointer loss without materialising the [B, H, N, N] logits.

  Per example and head α (blogs 8373, 7359), with s from `factors` and P_α the labelled cells:

    L_α = log(1 + Σ_{(i,j) ∈ P_α, valid} e^{−s_α(i,j)})
        + log(1 + Σ_{(i,j) ∉ P_α, valid} e^{s_α(i,j)})

  where valid = both tokens unmasked and (if `tril_mask`) j ≥ i. This equals the dense ZLPR loss on
  `span_logits(factors, mask, tril_mask)` with dense labels (labels on masked cells are ignored),
  in value and gradients. Cost: the logits are computed twice (forward and rematerialised backward).

  Args:
    factors: `SpanFactors` from `GlobalPointer.project` / `EfficientGlobalPointer.project`.
    mask: bool [B, N], True for real tokens.
    positives: int [B, H, K] flattened cells i·N + j — e.g. stacked `spans_to_sparse_labels`
      outputs. Set semantics: a repeated index counts once; 0 (the ([CLS], [CLS]) cell, never a
      label) and indices outside [0, N²) such as −1 are padding. Unlike the sparse ZLPR loss with
      `mask_zero`, the cell (0, 0) stays a negative, as in the dense loss.
    tril_mask: mask j < i (must match the head's `tril_mask`).
    reduction: "none" → [B, H]; "mean" over B·H (bert4keras NER scripts); "sum_heads" → sum over
      heads, mean over batch (GPLinker).
    block_size: query rows per block R; peak memory grows with B·H·R·N.

  Returns:
    float32 loss, [B, H] or a scalar according to `reduction`.
  """
  if reduction not in BLOCKWISE_REDUCTIONS:
    raise ValueError(f"reduction must be one of {BLOCKWISE_REDUCTIONS}, got {reduction!r}")
  b, _, n, _ = factors.q.shape
  if positives.shape[:2] != (b, factors.num_heads):
    raise ValueError(f"positives must be [B={b}, H={factors.num_heads}, K], got {positives.shape}")
  mask = jnp.asarray(mask, bool)
  positives = _label_set(jnp.asarray(positives, jnp.int32), n)
  per_head = (_positive_term(factors, mask, positives, tril_mask)
              + _negative_term(factors, mask, positives, tril_mask, block_size))
  return _reduce(per_head, reduction)
