"""Linear-chain conditional random field (bert4keras `ConditionalRandomField`; blogs 5542, 7196).

A tag path y over the unmasked positions t₁ < … < t_L of a row has score

    s(y) = Σ_l E[t_l, y_l] + Σ_{l≥2} T[y_{l−1}, y_l],       p(y) = exp s(y) / Z,

with emissions E [N, K] from the network and one learned transition matrix T [K, K] (no start/end
scores, as bert4keras). Masked positions are skipped (a transition links consecutive unmasked
positions), as in `flaxnlp.decoding.viterbi`. The loss is the negative log-likelihood
log Z − s(y_gold); log Z comes from the forward algorithm (a `lax.scan` of log-sum-exps), all in
float32. A fully masked row has s = log Z = 0, so its loss is exactly 0 and its gradient 0.

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
    """Best paths int32 [B, N] (0 at masked positions) by `flaxnlp.decoding.viterbi.viterbi`."""
    # Imported here: flaxnlp.decoding imports the models, which import flaxnlp.layers.
    from flaxnlp.decoding.viterbi import viterbi  # pylint: disable=import-outside-toplevel
    return viterbi(emissions, self.transitions(), mask, allowed, start_allowed, end_allowed)
