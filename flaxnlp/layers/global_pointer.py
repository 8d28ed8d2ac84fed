"""GlobalPointer and Efficient GlobalPointer span-scoring heads (Su Jianlin, blogs 8373 / 8877).

Both heads score every token pair (i, j) for every type α: s_α(i, j) > 0 means tokens i…j
(inclusive) form a span of type α. Parameter names and layouts follow bert4keras so trained weights
import directly:

- `GlobalPointer`: one Dense `dense` (kernel [D, H·2d]); head α owns the contiguous channel block
  [α·2d, (α+1)·2d) = [q | k].
- `EfficientGlobalPointer`: Dense `p_dense` (kernel [D, 2d]) with q = even and k = odd channels
  (interleaved), and Dense `q_dense` (kernel [2d, 2H]) applied to the pre-RoPE projection; its even
  channel 2α is a bias of the end token j, its odd channel 2α+1 one of the start token i, both × ½.

Every head factorises as s_α(i, j) = q_α(i)·k_α(j) + start_α(i) + end_α(j) (`SpanFactors`), which is
what `span_logits` turns into dense [B, H, N, N] logits and what
`flaxnlp.losses.global_pointer_blockwise_loss` consumes without ever building them.

Masked cells (padding rows/columns and, with `tril_mask`, j < i) hold `MASK_VALUE` = −1e12, a finite
float32 value: the ZLPR losses treat logits ≤ −1e11 as masked, and finite values never produce NaN
from −inf − (−inf). Logits are always float32.

The host-side counterparts (labels from spans, spans from logits) are in
`flaxnlp.decoding.global_pointer`.
"""
from typing import Callable, NamedTuple, Optional, Tuple

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from flaxnlp.layers.rope import apply_rope

MASK_VALUE = -1e12


class SpanFactors(NamedTuple):
  """Factors of GlobalPointer logits.

  s[b, α, i, j] = q[b, α, i]·k[b, α, j] + start[b, α, i] + end[b, α, j].

  Attributes:
    q: float32 [B, Hq, N, d], RoPE applied and already scaled by 1/sqrt(d); Hq = H (GP) or 1 (EGP,
      shared by all heads, broadcast).
    k: float32 [B, Hq, N, d], RoPE applied.
    start_bias: float32 [B, H, N] bias of the start token i, or None (GP).
    end_bias: float32 [B, H, N] bias of the end token j, or None (GP).
  """
  q: jnp.ndarray
  k: jnp.ndarray
  start_bias: Optional[jnp.ndarray] = None
  end_bias: Optional[jnp.ndarray] = None

  @property
  def num_heads(self) -> int:
    """H, the number of span types."""
    return self.q.shape[1] if self.start_bias is None else self.start_bias.shape[1]


def valid_cells(row_mask: jnp.ndarray, col_mask: jnp.ndarray, row_positions: jnp.ndarray,
                col_positions: jnp.ndarray, tril_mask: bool) -> jnp.ndarray:
  """Cells that keep their score, bool [B, 1, R, C].

  valid[b, 0, i, j] = row_mask[b, i] ∧ col_mask[b, j] ∧ (j ≥ i if tril_mask).

  Args:
    row_mask: bool [B, R] (True = real token) for the rows (start tokens i).
    col_mask: bool [B, C] for the columns (end tokens j).
    row_positions: int [R], absolute positions of the rows (for the triangle).
    col_positions: int [C], absolute positions of the columns.
    tril_mask: whether to drop the strictly lower triangle j < i.
  """
  valid = row_mask[:, None, :, None] & col_mask[:, None, None, :]
  if tril_mask:
    valid = valid & (col_positions[None, :] >= row_positions[:, None])
  return valid


def span_logits(factors: SpanFactors, mask: jnp.ndarray, tril_mask: bool = True) -> jnp.ndarray:
  """Dense logits float32 [B, H, N, N] from `factors`, masked cells set to `MASK_VALUE`.

  s[b, α, i, j] = q[b, α, i]·k[b, α, j] + start[b, α, i] + end[b, α, j] where `valid_cells`,
  else −1e12.

  Args:
    factors: `SpanFactors` of one batch.
    mask: bool [B, N], True for real tokens.
    tril_mask: mask j < i.
  """
  q, k, start, end = factors
  scores = jnp.einsum("bhid,bhjd->bhij", q, k)
  if start is not None:
    scores = scores + start[..., :, None] + end[..., None, :]
  pos = jnp.arange(q.shape[2])
  valid = valid_cells(mask, mask, pos, pos, tril_mask)
  return jnp.where(valid, scores, MASK_VALUE)


def _dense(features: int, kernel_init: Callable, names: Tuple[Optional[str], Optional[str]],
           name: str) -> nn.Dense:
  """float32 Dense with logically partitioned kernel `names` and bias `names[1]`."""
  return nn.Dense(features, dtype=jnp.float32, param_dtype=jnp.float32, name=name,
                  kernel_init=nn.with_logical_partitioning(kernel_init, names),
                  bias_init=nn.with_logical_partitioning(nn.initializers.zeros, names[1:]))


class _SpanHead(nn.Module):
  """Fields and call logic shared by both heads; subclasses define `setup` and `project`."""
  heads: int
  head_size: int
  use_rope: bool = True
  tril_mask: bool = True
  kernel_init: Callable = nn.initializers.lecun_normal()

  def project(self, inputs: jnp.ndarray) -> SpanFactors:
    """`SpanFactors` of `inputs` [B, N, D] (defined by each head)."""
    raise NotImplementedError

  def __call__(self, inputs: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Span logits float32 [B, H, N, N] for `inputs` [B, N, D] and bool `mask` [B, N].

    Padding rows/columns and (with `tril_mask`) cells j < i hold `MASK_VALUE`.
    """
    return span_logits(self.project(inputs), mask, self.tril_mask)


class GlobalPointer(_SpanHead):
  """GlobalPointer: s_α(i, j) = (R_i q_{i,α})·(R_j k_{j,α}) / sqrt(d) (kexue.fm/archives/8373).

  [q_{i,α} | k_{i,α}] = channels [α·2d, (α+1)·2d) of Dense `dense`(h_i) ∈ R^{H·2d}; R_p is the
  interleaved RoPE rotation at position p (when `use_rope`). 2dH(D+1) parameters.

  Attributes:
    heads: H, number of span types.
    head_size: d.
    use_rope: rotate q and k by their positions (without it scores carry no position information).
    tril_mask: mask cells j < i.
    kernel_init: kernel initialiser (bert4keras: lecun_normal).
  """

  def setup(self):
    self.dense = _dense(self.heads * 2 * self.head_size, self.kernel_init, ("embed", "mlp"),
                        "dense")

  def project(self, inputs: jnp.ndarray) -> SpanFactors:
    """`SpanFactors` (q, k [B, H, N, d]; no biases) of `inputs` [B, N, D], computed in float32."""
    b, n, _ = inputs.shape
    u = self.dense(inputs.astype(jnp.float32)).reshape(b, n, self.heads, 2 * self.head_size)
    u = u.transpose(0, 2, 1, 3)                           # [B, H, N, 2d]
    q, k = u[..., :self.head_size], u[..., self.head_size:]
    if self.use_rope:
      q, k = apply_rope(q), apply_rope(k)
    return SpanFactors(q / np.sqrt(self.head_size), k)


class EfficientGlobalPointer(_SpanHead):
  """Efficient GlobalPointer (kexue.fm/archives/8877).

  u_i = `p_dense`(h_i) ∈ R^{2d}; q_i = u_i[0::2], k_i = u_i[1::2]; c_i = `q_dense`(u_i) ∈ R^{2H}
  (from the pre-RoPE u_i);
  s_α(i, j) = (R_i q_i)·(R_j k_j) / sqrt(d) + ½·c_j[2α] + ½·c_i[2α+1].
  2d(D+1) + 2H(2d+1) parameters.

  Attributes:
    heads: H, number of span types.
    head_size: d.
    use_rope: rotate q and k by their positions.
    tril_mask: mask cells j < i.
    kernel_init: kernel initialiser of both Dense layers (bert4keras: lecun_normal).
  """

  def setup(self):
    self.p_dense = _dense(2 * self.head_size, self.kernel_init, ("embed", "kv"), "p_dense")
    self.q_dense = _dense(2 * self.heads, self.kernel_init, ("kv", None), "q_dense")

  def project(self, inputs: jnp.ndarray) -> SpanFactors:
    """`SpanFactors` (q, k [B, 1, N, d]; start/end biases [B, H, N]) of `inputs` [B, N, D]."""
    u = self.p_dense(inputs.astype(jnp.float32))          # [B, N, 2d]
    q, k = u[..., 0::2], u[..., 1::2]
    if self.use_rope:
      q, k = apply_rope(q), apply_rope(k)
    c = self.q_dense(u).transpose(0, 2, 1) / 2            # [B, 2H, N]
    return SpanFactors(q[:, None] / np.sqrt(self.head_size), k[:, None],
                       start_bias=c[:, 1::2], end_bias=c[:, 0::2])
