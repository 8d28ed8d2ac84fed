"""Multi-passage answer voting for seq2seq reading comprehension (bert4keras example, blog 7115).

A question has P passages; every passage i is decoded as its own row (`[CLS] p_i [SEP] q [SEP]`
followed by the shared generated answer prefix), and at every step the passages' next-token
distributions are combined into one score per token (kexue.fm/archives/7115):

* answerability, decided once at step 0: passage i stays *active* iff
  argmax_k P[i, beam 0, k] != [SEP]; when no passage is active the answer is "" (the scores put
  all the mass on [SEP], as bert4keras returns probability 1 for it). This is right for data where
  a question may have no answer (WebQA / SogouQA); for data that guarantee an answer (CMRC 2018,
  SQuAD v1.1) an *answerable rule* (`ANSWERABLE_RULES`) replaces it: [SEP] gets value 0 at step 0,
  so the answer is never empty, and the rule names the passages that vote:
    - "all": every present passage;
    - "lowest_sep": the one present passage with the lowest P([SEP]) at step 0;
    - "best_start": the passages bojone's rule keeps, or, when it keeps none, the one present
      passage whose most likely non-[SEP] first token is the most probable;
* extractive constraint (optional): the next token x is allowed iff `prefix ++ (x,)` is a
  contiguous n-gram of the source tokens of some ACTIVE passage (tokens strictly between [CLS]
  and the first [SEP]); [SEP] is always allowed; disallowed probabilities are set to 0 for all
  passages (no renormalisation);
* vote: V[b, k] = Σ_i P[i, b, k]² / (1 + Σ_i P[i, b, k]) over active passages, and the beam
  search accumulates log(V + eps) (eps = 1e-12; 1e-6 in the scored 2019 version) like a
  log-probability.

Everything is a pure `jnp` function over fixed-shape arrays, usable inside `jit`. Shapes: G groups
(questions), P passages per group (padded; absent passages are inactive from the start), K beams,
V vocabulary, L source length, T prefix buffer length. The extractive constraint is computed from
the prefix itself (no per-beam state, so beam reordering needs no bookkeeping): a rolling match
over the source, O(t·P·L) per step.

`RCVoteProcessor` plugs this into `flaxnlp.decoding.autoregressive.generate` (rows grouped by
question with `group_size = P`, `processor_state = init_state(...)`);
`flaxnlp.tasks.rc_samples.answer_questions` does the whole question → answer path.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

# `flaxnlp.decoding.autoregressive.generate` scores a token by log(value + GENERATE_EPS).
GENERATE_EPS = 1e-12
# Passage selections at step 0 for data that guarantee an answer (module docstring); "" = bojone's.
ANSWERABLE_RULES = ("all", "lowest_sep", "best_start")


def vote(probs: jax.Array, active: jax.Array) -> jax.Array:
  """Σ_i p_i² / (1 + Σ_i p_i) over the active passages (passage axis -2).

  Args:
    probs: [..., P, V] next-token probabilities.
    active: [..., P] bool; inactive passages contribute nothing.

  Returns:
    [..., V] vote values (float32, not normalised).
  """
  p = jnp.where(active[..., None], probs.astype(jnp.float32), 0.0)
  return jnp.sum(p * p, axis=-2) / (1.0 + jnp.sum(p, axis=-2))


def answerable(probs: jax.Array, end_id: int) -> jax.Array:
  """Step-0 answerability: argmax over V of `probs` [..., V] differs from `end_id` ([SEP])."""
  return jnp.argmax(probs, axis=-1) != end_id


def _one_hot_present(scores: jax.Array, present: jax.Array) -> jax.Array:
  """[..., P] bool: the present passage with the highest score (none when none is present)."""
  best = jnp.argmax(jnp.where(present, scores, -jnp.inf), axis=-1)
  return (jnp.arange(present.shape[-1]) == best[..., None]) & present


def step0_voters(probs: jax.Array, present: jax.Array, end_id: int, rule: str = "") -> jax.Array:
  """The passages that vote, decided at step 0 (module docstring).

  Args:
    probs: [..., P, V] step-0 next-token probabilities (beam 0).
    present: [..., P] bool, the real (not padding) passages.
    end_id: [SEP] id.
    rule: "" = bojone's no-answer rule (`answerable`), or one of `ANSWERABLE_RULES`.

  Returns:
    [..., P] bool.
  """
  present = jnp.asarray(present, bool)
  kept = present & answerable(probs, end_id)
  if not rule:
    return kept
  if rule == "all":
    return present
  if rule == "lowest_sep":
    return _one_hot_present(-probs[..., end_id], present)
  if rule == "best_start":
    start = jnp.max(probs.at[..., end_id].set(-1.0), axis=-1)
    return jnp.where(jnp.any(kept, axis=-1, keepdims=True), kept, _one_hot_present(start, present))
  raise ValueError(f"answerable rule {rule!r}; one of {', '.join(ANSWERABLE_RULES)}")


def source_tokens(prompt_ids: jax.Array, cls_id: int, sep_id: int, *,
                  full_prompt: bool = False) -> tuple[jax.Array, jax.Array]:
  """Source tokens of the extractive constraint, from prompts `[CLS] p [SEP] q [SEP] 0 0 ...`.

  Args:
    prompt_ids: [..., L] prompt token ids, padded with 0 ([PAD]).
    cls_id, sep_id: ids of [CLS] and [SEP].
    full_prompt: False (current example): the passage tokens strictly between the leading [CLS]
      and the first [SEP]. True (scored 2019 version): every non-padding prompt token, [CLS],
      [SEP] and the question included.

  Returns:
    `(tokens, valid)`: `tokens` is `prompt_ids` itself and `valid` [..., L] bool marks the
    positions that belong to the source.
  """
  prompt_ids = jnp.asarray(prompt_ids)
  if full_prompt:
    return prompt_ids, prompt_ids != 0
  is_sep = prompt_ids == sep_id
  first_sep = jnp.where(jnp.any(is_sep, axis=-1), jnp.argmax(is_sep, axis=-1), prompt_ids.shape[-1])
  pos = jnp.arange(prompt_ids.shape[-1])
  starts_with_cls = prompt_ids[..., :1] == cls_id
  valid = (pos >= jnp.where(starts_with_cls, 1, 0)) & (pos < first_sep[..., None])
  return prompt_ids, valid


def next_positions(tokens: jax.Array, valid: jax.Array, prefix: jax.Array,
                   length: jax.Array) -> jax.Array:
  """Source positions that can continue `prefix[:length]` as a contiguous n-gram.

  Args:
    tokens: [P, L] source token ids.
    valid: [P, L] bool, positions belonging to the source.
    prefix: [T] generated token ids (only the first `length` are read).
    length: scalar int, 0 ≤ length ≤ T.

  Returns:
    [P, L] bool: entry (i, j) is True iff position j is in the source and the `length` source
    positions j-length .. j-1 are all in the source and equal `prefix[:length]` (every source
    position when length = 0).
  """
  if prefix.shape[-1] == 0:
    return valid

  def body(k, nxt):
    hit = nxt & (tokens == prefix[k])
    return jnp.pad(hit, ((0, 0), (1, 0)))[:, :-1] & valid
  return jax.lax.fori_loop(0, length, body, valid)


def allowed_tokens(tokens: jax.Array, valid: jax.Array, active: jax.Array, prefix: jax.Array,
                   length: jax.Array, vocab_size: int, end_id: int) -> jax.Array:
  """[V] bool: next tokens that extend `prefix[:length]` inside some active passage, plus [SEP].

  Args: as `next_positions`, plus `active` [P] bool and the vocabulary size.
  """
  sel = next_positions(tokens, valid, prefix, length) & active[:, None]
  counts = jnp.zeros((vocab_size,), jnp.int32).at[tokens.reshape(-1)].add(
      sel.reshape(-1).astype(jnp.int32))
  return (counts > 0).at[end_id].set(True)


class RCVoteState(NamedTuple):
  """Processor state (a pytree carried through the decoding loop).

  active: [G, P] bool, the passages that vote (absent / padding passages False; updated at
    step 0 by the answerability test).
  tokens, valid: [G, P, L] source tokens and mask of the extractive constraint (`source_tokens`).
  """
  active: jax.Array
  tokens: jax.Array
  valid: jax.Array


def init_state(prompt_ids: jax.Array, present: jax.Array, *, cls_id: int, sep_id: int,
               full_prompt: bool = False) -> RCVoteState:
  """Initial state from the prompts [G, P, L] (0-padded) and `present` [G, P] bool."""
  tokens, valid = source_tokens(prompt_ids, cls_id, sep_id, full_prompt=full_prompt)
  return RCVoteState(jnp.asarray(present, bool), jnp.asarray(tokens, jnp.int32), valid)


def rc_vote_values(step: jax.Array, probs: jax.Array, prefix: jax.Array, state: RCVoteState, *,
                   end_id: int, extractive: bool = True, banned_ids: Sequence[int] = (),
                   answerable_rule: str = "") -> tuple[jax.Array, RCVoteState]:
  """Vote values of one decoding step (the `generate` logits-processor hook).

  Args:
    step: scalar int, the decoding step (0 for the first generated token).
    probs: [G, P, K, V] next-token probabilities of every passage row and beam.
    prefix: [G, K, T] generated tokens per beam; the first `step` are the prefix.
    state: `RCVoteState`; at step 0 `step0_voters` keeps the passages that vote.
    end_id: [SEP] id.
    extractive: apply the n-gram constraint over the active passages' sources.
    banned_ids: token ids whose value is set to 0 for every beam (the 2019 version never
      generated [PAD], [UNK], [CLS]).
    answerable_rule: "" (bojone's no-answer rule) or one of `ANSWERABLE_RULES`, which also set
      the value of `end_id` to 0 at step 0.

  Returns:
    `(values, state)`: values [G, K, V] float32 ≥ 0, the vote Σp²/(1+Σp) (for a group with no
    active passage: 1 for [SEP], 0 elsewhere); the decoder scores a token by log(value + eps).
  """
  probs = probs.astype(jnp.float32)
  v = probs.shape[-1]
  active = jnp.where(step == 0, step0_voters(probs[:, :, 0], state.active, end_id, answerable_rule),
                     state.active)
  if extractive:
    per_beam = jax.vmap(allowed_tokens, in_axes=(None, None, None, 0, None, None, None))
    per_group = jax.vmap(per_beam, in_axes=(0, 0, 0, 0, None, None, None))
    allowed = per_group(state.tokens, state.valid, active, prefix, step, v, end_id)  # [G, K, V]
    probs = jnp.where(allowed[:, None], probs, 0.0)
  values = vote(jnp.moveaxis(probs, 1, 2), active[:, None, :])  # [G, K, V]
  if answerable_rule:
    values = values.at[..., end_id].multiply(jnp.where(step == 0, 0.0, 1.0))
  only_end = jax.nn.one_hot(end_id, v, dtype=jnp.float32)
  values = jnp.where(jnp.any(active, axis=-1)[:, None, None], values, only_end)
  if banned_ids:
    values = values.at[..., jnp.asarray(banned_ids)].set(0.0)
  return values, state._replace(active=active)


@dataclasses.dataclass(frozen=True)
class RCVoteProcessor:
  """`generate` logits processor: `processor(step, probs, prefix, state) -> (values, state)`.

  A frozen dataclass, so equal options hash equally and the jitted decoder is not recompiled for
  every question (the per-question arrays travel in the `RCVoteState`).

  Attributes:
    end_id: [SEP] id.
    extractive: apply the n-gram constraint.
    eps: the decoder scores log(value + GENERATE_EPS); `eps` > GENERATE_EPS adds the difference
      to every value so that the score is log(vote + eps) (1e-6 in the scored 2019 version).
    banned_ids: ids that get value 0 (see `rc_vote_values`).
    answerable_rule: "" = bojone's no-answer rule, else one of `ANSWERABLE_RULES`.
  """
  end_id: int
  extractive: bool = True
  eps: float = GENERATE_EPS
  banned_ids: tuple[int, ...] = ()
  answerable_rule: str = ""

  def __post_init__(self):
    if self.eps < GENERATE_EPS:
      raise ValueError(f"eps must be >= {GENERATE_EPS} (the decoder's own offset), got {self.eps}")
    if self.answerable_rule and self.answerable_rule not in ANSWERABLE_RULES:
      raise ValueError(f"answerable rule {self.answerable_rule!r}; one of "
                       f"{', '.join(ANSWERABLE_RULES)}")

  def __call__(self, step, probs, prefix, state):
    values, state = rc_vote_values(step, probs, prefix, state, end_id=self.end_id,
                                   extractive=self.extractive, banned_ids=self.banned_ids,
                                   answerable_rule=self.answerable_rule)
    return values + (self.eps - GENERATE_EPS), state
