"""Answers of bojone's MLM reader (bert4keras `examples/task_reading_comprehension_by_mlm.py`).

A passage's row is `[CLS] [MASK]×A [SEP] question [SEP] passage [SEP]`; the MLM distributions at
the A mask positions are read left to right, without a second model call:

* position i keeps only the tokens x such that `answer[:i] ++ (x,)` is an n-gram of the
  passage tokens, plus [SEP] (the other probabilities are set to 0, not renormalised);
* the answer token is the argmax of what is kept; reading stops after the first [SEP];
* the passage's score is the mean of the kept maxima over the positions read ([SEP]'s included);
* with `bar_first_end` (data that guarantee an answer) [SEP] is not kept at position 0.

`vote_by_text` then combines a question's passages as bojone does: the passages whose answer text
is not empty vote for it, an answer's value is Σs²/(1 + Σs) over its passages' scores s, and the
best value wins ("" when no passage voted). Which passages may vote is decided from the kept
position-0 distributions (`first`) by `flaxnlp.decoding.rc_vote.step0_voters`: bojone's rule
(the passage answers iff its position-0 argmax is not [SEP]) or an answerable rule.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from flaxnlp.decoding import rc_vote


class MlmAnswer(NamedTuple):
  """One row's reading (fields with the rows' leading shape [...]).

  tokens: int32 [..., A], the answer ids, [SEP] included, 0 after it.
  lengths: int32 [...], positions read (the tokens before the 0 padding).
  scores: float32 [...], the mean of the kept maxima.
  first: float32 [..., V], the position-0 distribution restricted to the allowed tokens ([SEP]
    kept even with `bar_first_end`).
  """
  tokens: jax.Array
  lengths: jax.Array
  scores: jax.Array
  first: jax.Array


def read_answer(probs: jax.Array, tokens: jax.Array, valid: jax.Array, *, end_id: int,
                bar_first_end: bool = False) -> MlmAnswer:
  """Reads one row (module docstring; jit-able, vmap it over rows).

  Args:
    probs: [A, V] MLM probabilities at the mask positions.
    tokens: [L] the row's token ids; valid: [L] bool, its passage positions (the n-gram source).
    end_id: [SEP] id.
    bar_first_end: never stop at position 0.
  """
  probs, tokens, valid = jnp.asarray(probs, jnp.float32), jnp.asarray(tokens), jnp.asarray(valid)
  num_masks, vocab = probs.shape
  source = (tokens[None], valid[None], jnp.ones((1,), bool))

  def allowed(prefix, i):
    return rc_vote.allowed_tokens(*source, prefix, i, vocab, end_id)

  def step(carry, i):
    prefix, done, total = carry
    kept = jnp.where(allowed(prefix, i), probs[i], 0.0)
    kept = kept.at[end_id].multiply(jnp.where((i == 0) & bar_first_end, 0.0, 1.0))
    token = jnp.argmax(kept)
    prefix = prefix.at[i].set(jnp.where(done, 0, token))
    total = total + jnp.where(done, 0.0, kept[token])
    return (prefix, done | (token == end_id), total), ~done

  init = (jnp.zeros((num_masks,), jnp.int32), jnp.zeros((), bool), jnp.zeros((), jnp.float32))
  (answer, _, total), read = jax.lax.scan(step, init, jnp.arange(num_masks))
  length = read.sum().astype(jnp.int32)
  first = jnp.where(allowed(answer, 0), probs[0], 0.0)
  return MlmAnswer(answer, length, total / length, first)


def read_answers(probs: jax.Array, tokens: jax.Array, valid: jax.Array, *, end_id: int,
                 bar_first_end: bool = False) -> MlmAnswer:
  """`read_answer` over rows: probs [R, A, V], tokens / valid [R, L] → fields with leading [R]."""
  return jax.vmap(lambda p, t, v: read_answer(p, t, v, end_id=end_id,
                                              bar_first_end=bar_first_end))(probs, tokens, valid)


def vote_by_text(texts: Sequence[str], scores: Sequence[float], voters: Sequence[bool]) -> str:
  """bojone's vote over a question's passages (module docstring); ties go to the first text."""
  votes: dict[str, list[float]] = {}
  for text, score, voter in zip(texts, scores, voters):
    if voter and text:
      votes.setdefault(text, []).append(float(score))
  values = {text: float(np.sum(np.square(s)) / (np.sum(s) + 1)) for text, s in votes.items()}
  return max(values, key=values.get) if values else ""
