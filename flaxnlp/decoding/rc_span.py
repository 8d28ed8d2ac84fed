"""Best answer span of an extractive (start/end logits) reader over a question's windows.

A question's passages are cut into windows; each window is one row `[CLS] passage tokens [SEP]
question [SEP]` whose start / end logits score every position. A span (i, j) of a row is a pair of
passage positions with i ≤ j < i + max_len and score start[i] + end[j]; the row's *null score*
is start[0] + end[0] ([CLS], the target of a window without the answer, as in BERT's SQuAD
baseline). `best_spans` finds each row's best span on device; `choose_span` picks the question's
answer among its rows on the host:

* answerable data (every question has an answer in its passages): the best span of all rows;
* data where a question may have no answer: only rows whose best span beats their null score
  compete, and the answer is empty when there is none.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class RowSpans(NamedTuple):
  """Per-row results of `best_spans`, each with the rows' leading shape [...].

  start, end: int32, positions of the best span (0, 0 when the row has no passage position).
  score: float32, start[start] + end[end] (-inf when the row has no passage position).
  null: float32, start[0] + end[0].
  """
  start: jax.Array
  end: jax.Array
  score: jax.Array
  null: jax.Array


def best_spans(start_logits: jax.Array, end_logits: jax.Array, valid: jax.Array,
               max_len: int) -> RowSpans:
  """The best span of every row (jit-able).

  Args:
    start_logits, end_logits: [..., L] float.
    valid: [..., L] bool, the passage positions (spans lie inside them).
    max_len: longest span in tokens (j - i + 1 ≤ max_len).

  Returns:
    `RowSpans` with leading shape [...]; ties go to the smallest start, then the smallest end.
  """
  length = start_logits.shape[-1]
  pos = jnp.arange(length)
  band = (pos[None, :] >= pos[:, None]) & (pos[None, :] < pos[:, None] + max_len)  # [L, L]
  pair = valid[..., :, None] & valid[..., None, :] & band
  scores = start_logits[..., :, None].astype(jnp.float32) + end_logits[..., None, :]
  scores = jnp.where(pair, scores, -jnp.inf).reshape(*pair.shape[:-2], length * length)
  flat = jnp.argmax(scores, axis=-1)
  best = jnp.take_along_axis(scores, flat[..., None], axis=-1)[..., 0]
  found = jnp.isfinite(best)
  return RowSpans(jnp.where(found, flat // length, 0).astype(jnp.int32),
                  jnp.where(found, flat % length, 0).astype(jnp.int32), best,
                  (start_logits[..., 0] + end_logits[..., 0]).astype(jnp.float32))


def choose_span(spans: RowSpans, present: np.ndarray, answerable: bool) -> int | None:
  """The row whose best span answers the question, or None (no answer).

  Args:
    spans: `RowSpans` of one question's rows, each field [S] (numpy).
    present: [S] bool, the real rows (padding rows never answer).
    answerable: the data guarantee an answer (module docstring).
  """
  score = np.where(np.asarray(present), np.asarray(spans.score), -np.inf)
  if not answerable:
    score = np.where(score > np.asarray(spans.null), score, -np.inf)
  row = int(np.argmax(score))
  return row if np.isfinite(score[row]) else None
