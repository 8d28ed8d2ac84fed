"""Viterbi decoding of a linear-chain CRF, with optional transition / start / end constraints.

A tag path y over the unmasked positions t₁ < t₂ < … < t_L of a row scores

    s(y) = Σ_l E[t_l, y_l] + Σ_{l≥2} T[y_{l−1}, y_l]

(E = emissions, T = transitions; no start/end scores, as bert4keras's CRF). Masked positions are
skipped entirely: a transition links consecutive *unmasked* positions, so right padding, left
padding and holes (e.g. masked [CLS] / [SEP]) all work. Constraints remove paths: a transition
i → j with `allowed[i, j]` False, a first tag j with `start_allowed[j]` False, a last tag j with
`end_allowed[j]` False. They act as a finite penalty `DISALLOWED` = −1e12 added to the path score,
so the result is the best allowed path whenever one exists (never NaN).

`bio_allowed_transitions` builds the constraints of a BIO tag set (I-x only after B-x / I-x, and
never first).
"""
from collections.abc import Sequence
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

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


def bio_allowed_transitions(tags: Sequence[str]
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Constraints of a BIO tag set: (allowed [K, K], start_allowed [K], end_allowed [K]), bool.

  `tags` are "O", "B-<type>" or "I-<type>" in any order. I-x may follow only B-x or I-x, and may
  not start a path; everything else is allowed, and every tag may end a path.

  >>> allowed, start, end = bio_allowed_transitions(["O", "B-LOC", "I-LOC"])
  >>> allowed.astype(int).tolist(), start.tolist()
  ([[1, 1, 0], [1, 1, 1], [1, 1, 1]], [True, True, False])

  Raises:
    ValueError: a tag is not "O", "B-x" or "I-x".
  """
  parsed = []
  for tag in tags:
    if tag == "O":
      parsed.append(("O", None))
    elif tag[:2] in ("B-", "I-") and len(tag) > 2:
      parsed.append((tag[0], tag[2:]))
    else:
      raise ValueError(f"BIO tag {tag!r} is not 'O', 'B-<type>' or 'I-<type>'")
  num_tags = len(parsed)
  allowed = np.ones((num_tags, num_tags), bool)
  for j, (kind, name) in enumerate(parsed):
    if kind == "I":
      allowed[:, j] = [k in ("B", "I") and n == name for k, n in parsed]
  start = np.array([kind != "I" for kind, _ in parsed])
  return allowed, start, np.ones(num_tags, bool)
