"""GlobalPointer ZLPR loss in memory linear in the sequence length.

The dense path builds logits [B, H, N, N] (plus XLA temporaries of the same size for the loss and
its gradient); memory grows 4× per doubling of N. `global_pointer_blockwise_loss` computes the same
loss from the `SpanFactors` (q, k and the EGP biases) of a GlobalPointer head, one block of query
rows at a time:

- negatives: an online logsumexp over row blocks (`lax.scan`) of the unmasked, unlabelled cells;
  each block's logits [B, H, R, N] live only inside the scan body, which is rematerialised
  (`jax.checkpoint`) so the backward pass recomputes them instead of storing N² values;
- positives: gathered directly as q_i·k_j + start_i + end_j from sparse (head, i·N + j) indices.

Peak memory is O(B·H·R·N + B·H·N·d) instead of O(B·H·N²).
"""
import jax
import jax.numpy as jnp

from flaxnlp.layers.global_pointer import SpanFactors, valid_cells

REDUCTIONS = ("none", "mean", "sum_heads")


def _reduce(per_head: jnp.ndarray, reduction: str) -> jnp.ndarray:
  """Reduces losses [B, H]: none | mean (over B·H) | sum_heads (sum over H, mean over B)."""
  if reduction == "none":
    return per_head
  if reduction == "mean":
    return per_head.mean()
  if reduction == "sum_heads":
    return per_head.sum(-1).mean()
  raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


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

  Per example and head α (ALGORITHMS §4.4 / §6.1), with s from `factors` and P_α the labelled cells:

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
  if reduction not in REDUCTIONS:
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
  b, _, n, _ = factors.q.shape
  if positives.shape[:2] != (b, factors.num_heads):
    raise ValueError(f"positives must be [B={b}, H={factors.num_heads}, K], got {positives.shape}")
  mask = jnp.asarray(mask, bool)
  positives = _label_set(jnp.asarray(positives, jnp.int32), n)
  per_head = (_positive_term(factors, mask, positives, tril_mask)
              + _negative_term(factors, mask, positives, tril_mask, block_size))
  return _reduce(per_head, reduction)
