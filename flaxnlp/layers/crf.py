"""Linear-chain conditional random field (bert4keras `ConditionalRandomField`; blogs 5542, 7196).

A tag path y over the unmasked positions t₁ < … < t_L of a row has score

    s(y) = Σ_l E[t_l, y_l] + Σ_{l≥2} T[y_{l−1}, y_l],       p(y) = exp s(y) / Z,

with emissions E [N, K] from the network and one learned transition matrix T [K, K] (no start/end
scores, as bert4keras). Masked positions are skipped (a transition links consecutive unmasked
positions), so right padding, left padding and holes (e.g. masked [CLS] / [SEP]) all work. The
loss is the negative log-likelihood log Z − s(y_gold); log Z comes from the forward algorithm (a
`lax.scan` of log-sum-exps), all in float32. A fully masked row has s = log Z = 0, so its loss is
exactly 0 and its gradient 0.

`viterbi` finds the best path (max-product forward pass + backtrace; `flaxnlp.decoding.viterbi`
is this function), optionally under constraints that remove paths: a transition i → j with
`allowed[i, j]` False, a first tag j with `start_allowed[j]` False, a last tag j with
`end_allowed[j]` False. They act as a finite penalty `DISALLOWED` = −1e12 added to the path score,
so the result is the best allowed path whenever one exists (never NaN).

The `lr_multiplier` trick (blog 7196, "your CRF layer's learning rate may not be large enough"):
the stored parameter is θ = T / m and the layer uses T = m·θ, so ∂L/∂θ = m·∂L/∂T. With Adam-like
optimizers (updates ≈ lr whatever the gradient scale) T then moves m times faster than an
ordinary weight — its effective learning rate is m·lr (m²·lr under plain SGD). bert4keras's NER
example uses m = 1000 with Adam at 2e-5. `trans` is initialised so that T (not θ) is
Glorot-uniform.
"""
from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp


def _as_one_hot(tags: jax.Array, num_tags: int) -> jax.Array:
  """float32 [B, N, K] from int tags [B, N] or (soft) one-hot tags [B, N, K]."""
  tags = jnp.asarray(tags)
  if tags.ndim == 2:
    return jax.nn.one_hot(tags, num_tags, dtype=jnp.float32)
  return tags.astype(jnp.float32)


def crf_log_partition(emissions: jax.Array, trans: jax.Array, mask: jax.Array) -> jax.Array:
  """log Z = log Σ_y exp s(y) per row, float32 [B] (forward algorithm; 0 for a fully masked row).

  Args:
    emissions: float [B, N, K].
    trans: float [K, K], trans[i, j] = score of tag i followed by tag j.
    mask: bool [B, N], True at the positions to tag.
  """
  emissions = jnp.asarray(emissions, jnp.float32)
  mask = jnp.asarray(mask, bool)
  trans = jnp.asarray(trans, jnp.float32)

  def forward(carry, inputs):
    # alpha[b, k] = log Σ exp s(path) over paths of the unmasked positions so far ending in k.
    alpha, started = carry
    emit, valid = inputs
    extended = jax.nn.logsumexp(alpha[:, :, None] + trans[None], axis=1) + emit
    new = jnp.where(started[:, None], extended, emit)
    return (jnp.where(valid[:, None], new, alpha), started | valid), None

  batch, _, num_tags = emissions.shape
  init = (jnp.zeros((batch, num_tags), jnp.float32), jnp.zeros((batch,), bool))
  (alpha, started), _ = jax.lax.scan(
      forward, init, (jnp.swapaxes(emissions, 0, 1), jnp.swapaxes(mask, 0, 1)))
  return jnp.where(started, jax.nn.logsumexp(alpha, axis=-1), 0.0)


def crf_path_score(emissions: jax.Array, trans: jax.Array, tags: jax.Array,
                   mask: jax.Array) -> jax.Array:
  """s(y) of the given paths, float32 [B] (0 for a fully masked row).

  Args:
    emissions: float [B, N, K].
    trans: float [K, K].
    tags: int [B, N] tag ids (bert4keras's "sparse" form), or float [B, N, K] one-hot (its
      "dense" form; a soft distribution gives the bilinear expectation Σ y_t·E_t + y_{t'}ᵀ T y_t).
      Values at masked positions are ignored.
    mask: bool [B, N].
  """
  emissions = jnp.asarray(emissions, jnp.float32)
  mask = jnp.asarray(mask, bool)
  y = _as_one_hot(tags, emissions.shape[-1]) * mask[..., None]
  emission_score = jnp.einsum("bnk,bnk->b", y, emissions)
  # Previous unmasked position of every position (−1 when none): a running max of indices.
  positions = jnp.arange(mask.shape[1])
  last_valid = jax.lax.cummax(jnp.where(mask, positions, -1), axis=1)
  previous = jnp.concatenate([jnp.full_like(last_valid[:, :1], -1), last_valid[:, :-1]], axis=1)
  y_previous = jnp.take_along_axis(y, jnp.maximum(previous, 0)[..., None], axis=1)
  y_previous = y_previous * (previous >= 0)[..., None]
  trans_score = jnp.einsum("bni,ij,bnj->b", y_previous, jnp.asarray(trans, jnp.float32), y)
  return emission_score + trans_score


DISALLOWED = -1e12


def _penalty(allowed: Optional[jax.Array], shape) -> jax.Array:
  """0 where allowed, `DISALLOWED` elsewhere (all zeros when `allowed` is None), float32."""
  if allowed is None:
    return jnp.zeros(shape, jnp.float32)
  return jnp.where(jnp.asarray(allowed, bool), 0.0, DISALLOWED).astype(jnp.float32)


def viterbi(emissions: jax.Array, trans: jax.Array, mask: jax.Array,
            allowed: Optional[jax.Array] = None, start_allowed: Optional[jax.Array] = None,
            end_allowed: Optional[jax.Array] = None) -> jax.Array:
  """Highest-scoring tag path of every row (max-product forward pass + backtrace, jittable).

  Args:
    emissions: float [B, N, K] per-position tag scores (computed in float32).
    trans: float [K, K], trans[i, j] = score of tag i followed by tag j.
    mask: bool [B, N], True at the positions to tag (any pattern; see the module docstring).
    allowed: optional bool [K, K], False = transition i → j forbidden.
    start_allowed: optional bool [K], False = a path may not start with that tag.
    end_allowed: optional bool [K], False = a path may not end with that tag.

  Returns:
    int32 [B, N]: the best path at unmasked positions, 0 at masked ones (a fully masked row is
    all 0). Ties go to the lowest tag index.
  """
  emissions = jnp.asarray(emissions, jnp.float32)
  mask = jnp.asarray(mask, bool)
  num_tags = emissions.shape[-1]
  trans = jnp.asarray(trans, jnp.float32) + _penalty(allowed, (num_tags, num_tags))
  start = _penalty(start_allowed, (num_tags,))
  end = _penalty(end_allowed, (num_tags,))
  identity = jnp.arange(num_tags, dtype=jnp.int32)

  def forward(carry, inputs):
    # score[b, k]: best score of a path over the unmasked positions so far that ends in tag k.
    score, started = carry
    emit, valid = inputs
    candidates = score[:, :, None] + trans[None]                 # [B, K_prev, K]
    extended = candidates.max(axis=1) + emit
    new = jnp.where(started[:, None], extended, start + emit)
    new = jnp.where(valid[:, None], new, score)
    # Backpointer to the best tag at the previous unmasked position; identity where nothing
    # links (masked position or first unmasked one), so the backtrace passes through unchanged.
    links = (valid & started)[:, None]
    back = jnp.where(links, candidates.argmax(axis=1).astype(jnp.int32), identity[None])
    return (new, started | valid), back

  batch = emissions.shape[0]
  init = (jnp.zeros((batch, num_tags), jnp.float32), jnp.zeros((batch,), bool))
  (score, _), backpointers = jax.lax.scan(
      forward, init, (jnp.swapaxes(emissions, 0, 1), jnp.swapaxes(mask, 0, 1)))
  last = jnp.argmax(score + end, axis=-1).astype(jnp.int32)       # [B]

  def backward(current, back):
    previous = jnp.take_along_axis(back, current[:, None], axis=1)[:, 0]
    return previous, current

  _, path = jax.lax.scan(backward, last, backpointers, reverse=True)   # [N, B]
  return jnp.where(mask, jnp.swapaxes(path, 0, 1), 0).astype(jnp.int32)


class ConditionalRandomField(nn.Module):
  """CRF over K tags with one parameter `trans` [K, K] = T / `lr_multiplier` (module docstring).

  Methods (call with `.apply(variables, ..., method="nll" | "decode" | "transitions")`):
    nll(emissions [B, N, K], tags, mask [B, N]) -> float32 [B] (also `__call__`).
    decode(emissions, mask, allowed=None, start_allowed=None, end_allowed=None) -> int32 [B, N].
    transitions() -> float32 [K, K], the effective T = lr_multiplier · trans.

  Attributes:
    num_tags: K.
    lr_multiplier: m; T's effective learning rate is m × the optimizer's (Adam-like).
    trans_init: initialiser of T (bert4keras: Glorot uniform); the stored θ is its value / m.
  """
  num_tags: int
  lr_multiplier: float = 1.0
  trans_init: Callable = nn.initializers.glorot_uniform()

  def setup(self):
    def init(key, shape):
      return self.trans_init(key, shape, jnp.float32) / self.lr_multiplier

    # K × K is tiny: replicated, no logical axis names.
    self.trans = self.param("trans", init, (self.num_tags, self.num_tags))

  def transitions(self) -> jax.Array:
    """The effective transition scores T = lr_multiplier · trans, float32 [K, K]."""
    return self.lr_multiplier * self.trans

  def nll(self, emissions: jax.Array, tags: jax.Array, mask: jax.Array) -> jax.Array:
    """Per-row negative log-likelihood log Z − s(tags), float32 [B] (≥ 0; 0 for empty rows).

    `tags`: int [B, N] or one-hot float [B, N, K] (see `crf_path_score`); `mask`: bool [B, N].
    """
    trans = self.transitions()
    return crf_log_partition(emissions, trans, mask) - crf_path_score(emissions, trans, tags, mask)

  def __call__(self, emissions: jax.Array, tags: jax.Array, mask: jax.Array) -> jax.Array:
    """Same as `nll`."""
    return self.nll(emissions, tags, mask)

  def decode(self, emissions: jax.Array, mask: jax.Array, allowed: Optional[jax.Array] = None,
             start_allowed: Optional[jax.Array] = None,
             end_allowed: Optional[jax.Array] = None) -> jax.Array:
    """Best paths int32 [B, N] (0 at masked positions) by `viterbi`."""
    return viterbi(emissions, self.transitions(), mask, allowed, start_allowed, end_allowed)
