"""Cached autoregressive decoding for UniLM / causal `Bert` models: greedy, beam search, sampling.

The prompt is encoded once (`Bert.prefill`); each step runs one new position per row against the
key/value cache (`Bert.decode_step`) inside one jitted `lax.while_loop`. Results equal re-running
the model over the whole sequence every step (bert4keras `AutoRegressiveDecoder`), which is what
tests/autoregressive_test.py checks.

Beam search follows bert4keras `AutoRegressiveDecoder.beam_search` (kexue.fm/archives/7115):
  * step score = log(v + 1e-12), v the softmax (or the processor's output); a hypothesis' score is
    the sum of its step scores; no length penalty;
  * each step keeps the best `k` of (k beams x V) candidates, k starting at `beam_size`;
  * if the best candidate ends with `end_id`, it is returned; otherwise candidates ending with
    `end_id` are dropped and k shrinks by their number (it never grows back);
  * after `max_new_tokens` steps the best hypothesis is returned.
Greedy decoding is beam_size=1. `min_new_tokens` forbids `end_id` (score -inf) while fewer than
`min_new_tokens - 1` tokens have been generated, i.e. the output (end included) has at least
`min_new_tokens` tokens; the default 1 allows an immediate `end_id` (bert4keras `minlen=1`).

Groups (several rows decoded as one hypothesis set, e.g. the passages of one question in the
reading-comprehension vote): with `group_size=S`, rows g*S .. g*S+S-1 of the batch form group g.
They share the beams: at each step `logits_processor` maps the per-row distributions
probs [G, S, K, V] to one non-negative score table [G, K, V]; the chosen tokens of group g are
appended to all S rows. `group_size > 1` requires a processor.
"""
import functools
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp

from flaxnlp.models import bert as bert_lib

# processor(step, probs [G, S, K, V], tokens [G, K, T], state) -> (values [G, K, V], state)
LogitsProcessor = Callable[[jax.Array, jax.Array, jax.Array, Any], tuple[jax.Array, Any]]

_EPS = 1e-12


@flax.struct.dataclass
class GenerateOutput:
  """tokens int32 [G, T]: generated ids, `end_id` included, 0 after it; scores float32 [G] (sum of
  the step scores); lengths int32 [G]: tokens generated incl. `end_id` (T if it never ended).
  G = batch size / group_size."""
  tokens: jax.Array
  scores: jax.Array
  lengths: jax.Array


def filter_top_k_top_p(log_values: jax.Array, top_k: int | None, top_p: float | None) -> jax.Array:
  """Sampling support (bert4keras `random_sample`): -inf outside top-k, then outside top-p.

  With p = softmax(log_values): top-k keeps the k largest; top-p sorts the kept p descending and
  keeps a token iff the cumulative (renormalised) probability of the tokens before it is < top_p
  (so the token crossing top_p and the first token are always kept). Shapes [..., V].
  """
  neg = jnp.full_like(log_values, -jnp.inf)
  if top_k is not None:
    kth = jax.lax.top_k(log_values, top_k)[0][..., -1:]
    log_values = jnp.where(log_values >= kth, log_values, neg)
  if top_p is not None:
    order = jnp.argsort(-log_values, axis=-1)
    sorted_p = jax.nn.softmax(jnp.take_along_axis(log_values, order, axis=-1), axis=-1)
    before = jnp.cumsum(sorted_p, axis=-1) - sorted_p
    keep = jnp.take_along_axis(before < top_p, jnp.argsort(order, axis=-1), axis=-1)
    log_values = jnp.where(keep, log_values, neg)
  return log_values


def generate(model: bert_lib.Bert, params, token_ids, segment_ids=None, *, end_id: int,
             max_new_tokens: int, min_new_tokens: int = 1, beam_size: int = 1,
             top_k: int | None = None, top_p: float | None = None, rng: jax.Array | None = None,
             logits_processor: LogitsProcessor | None = None, processor_state: Any = None,
             group_size: int = 1, attention: str = "unilm") -> GenerateOutput:
  """Generates continuations of right-padded prompts with a key/value cache (one jitted loop).

  Args:
    model: a `Bert` with `mlm_head=True` (its MLM logits are the next-token logits).
    params: the model params (without the {'params': ...} wrapper).
    token_ids: int [B, N] prompts, right-padded with 0 (no 0 inside a prompt), each non-empty;
      the prompt of row b is token_ids[b, :len_b]. Prompts of different lengths are exact: the
      generated token at step t has position len_b + t and segment 1, and attends to the prompt's
      non-padding keys and the earlier generated tokens (a generated 0 is padding, as in a full
      forward pass).
    segment_ids: int [B, N] prompt segments (None = all 0, the UniLM source).
    end_id: token that ends a hypothesis (e.g. [SEP]).
    max_new_tokens: T, number of steps.
    min_new_tokens: `end_id` is forbidden at steps t < min_new_tokens - 1.
    beam_size: K; 1 = greedy (or sampling).
    top_k, top_p: sampling filters (`filter_top_k_top_p`); only with `rng`.
    rng: PRNG key; if given, sample instead of beam search (beam_size must be 1). Step t draws
      `jax.random.categorical(jax.random.fold_in(rng, t), filtered log-values [G, V])`.
    logits_processor: optional `processor(step, probs, tokens, state) -> (values, state)` with
      probs float32 [G, S, K, V] (softmax of each row's next-token logits), tokens int32 [G, K, T]
      the tokens chosen so far (slots >= step are 0), and values [G, K, V] >= 0 whose
      log(values + 1e-12) scores the next token of each beam. At step 0 only beam 0 is a live
      hypothesis (all K beams carry its distribution). Called inside jit (use jnp).
    processor_state: initial pytree state of the processor (e.g. arrays it needs).
    group_size: S rows per group (see the module docstring); B must be a multiple of S.
    attention: mask used to encode the prompt ('unilm' or 'causal').
  Returns:
    `GenerateOutput` with G = B / S rows.
  """
  token_ids = jnp.asarray(token_ids, jnp.int32)
  segment_ids = (jnp.zeros_like(token_ids) if segment_ids is None
                 else jnp.asarray(segment_ids, jnp.int32))
  if not model.mlm_head:
    raise ValueError("generate needs a Bert with mlm_head=True")
  if token_ids.shape[0] % group_size:
    raise ValueError(f"batch {token_ids.shape[0]} is not a multiple of group_size {group_size}")
  if group_size > 1 and logits_processor is None:
    raise ValueError("group_size > 1 needs a logits_processor to combine the group's rows")
  sample = rng is not None
  if sample and beam_size != 1:
    raise ValueError("sampling (rng given) needs beam_size=1")
  if not sample and (top_k is not None or top_p is not None):
    raise ValueError("top_k / top_p are sampling filters: pass rng to sample")
  if max_new_tokens < 1 or beam_size < 1:
    raise ValueError("max_new_tokens and beam_size must be >= 1")
  if rng is None:
    rng = jax.random.PRNGKey(0)
  return _generate(model, params, token_ids, segment_ids, rng, processor_state,
                   end_id=end_id, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens,
                   beam_size=beam_size, top_k=top_k, top_p=top_p, sample=sample,
                   processor=logits_processor, group_size=group_size, attention=attention)


@functools.partial(jax.jit, static_argnums=0, static_argnames=(
    "end_id", "max_new_tokens", "min_new_tokens", "beam_size", "top_k", "top_p", "sample",
    "processor", "group_size", "attention"))
def _generate(model, params, token_ids, segment_ids, rng, processor_state, *, end_id,
              max_new_tokens, min_new_tokens, beam_size, top_k, top_p, sample, processor,
              group_size, attention):
  variables = {"params": params}
  b, n = token_ids.shape
  k, t_max, s = beam_size, max_new_tokens, group_size
  g = b // s
  lengths = jnp.max(jnp.where(token_ids != 0, jnp.arange(1, n + 1), 0), axis=1)

  out, prefix = model.apply(variables, token_ids, segment_ids, attention,
                            method=bert_lib.Bert.prefill)
  last = jnp.take_along_axis(out.last_hidden_state, (lengths - 1)[:, None, None], axis=1)[:, 0]
  logits = jnp.repeat(model.apply(variables, last, method=bert_lib.Bert.mlm), k, axis=0)
  vocab = logits.shape[-1]
  cache = bert_lib.init_decode_cache(prefix, k, t_max)
  row_positions = jnp.repeat(lengths, k)[:, None]
  # Cache row of (group, member, beam) = (group * S + member) * K + beam.
  row_base = (jnp.arange(g)[:, None] * s + jnp.arange(s)[None, :]) * k       # [G, S]

  init = dict(
      step=jnp.zeros((), jnp.int32), logits=logits, cache=cache, pstate=processor_state,
      seqs=jnp.zeros((g, k, t_max), jnp.int32),
      scores=jnp.zeros((g, k), jnp.float32).at[:, 1:].set(-jnp.inf),
      alive=jnp.zeros((g, k), bool).at[:, 0].set(True),
      n_keep=jnp.full((g,), k, jnp.int32),
      done=jnp.zeros((g,), bool),
      out_tokens=jnp.zeros((g, t_max), jnp.int32),
      out_scores=jnp.zeros((g,), jnp.float32),
      out_lengths=jnp.full((g,), t_max, jnp.int32))

  def cond(c):
    return (c["step"] < t_max) & ~jnp.all(c["done"])

  def body(c):
    step = c["step"]
    probs = jax.nn.softmax(c["logits"].astype(jnp.float32), axis=-1).reshape(g, s, k, vocab)
    pstate = c["pstate"]
    if processor is None:
      values = probs[:, 0]
    else:
      values, pstate = processor(step, probs, c["seqs"], pstate)
    step_scores = jnp.log(values.astype(jnp.float32) + _EPS)
    forbid_end = (jnp.arange(vocab) == end_id) & (step + 1 < min_new_tokens)
    step_scores = jnp.where(forbid_end, -jnp.inf, step_scores)

    if sample:
      filtered = filter_top_k_top_p(step_scores[:, 0], top_k, top_p)
      tok = jax.random.categorical(jax.random.fold_in(rng, step), filtered)[:, None]
      parent = jnp.zeros((g, 1), jnp.int32)
      vals = c["scores"] + jnp.take_along_axis(step_scores[:, 0], tok, axis=-1)
    else:
      cand = jnp.where(c["alive"][..., None], c["scores"][..., None] + step_scores, -jnp.inf)
      # Top k of the k * V candidates in two stages (top k per beam, then of those k * k).
      beam_vals, beam_toks = jax.lax.top_k(cand, k)                           # [G, K, K]
      vals, idx = jax.lax.top_k(beam_vals.reshape(g, k * k), k)
      parent = idx // k
      tok = jnp.take_along_axis(beam_toks.reshape(g, k * k), idx, axis=-1)
    seqs = jnp.take_along_axis(c["seqs"], parent[..., None], axis=1)
    seqs = jax.lax.dynamic_update_slice(seqs, tok[..., None], (0, 0, step))
    ended = tok == end_id
    keep = (jnp.arange(k)[None, :] < c["n_keep"][:, None]) & jnp.isfinite(vals)
    alive = keep & ~ended
    finish = ~c["done"] & (ended[:, 0] | (step == t_max - 1))
    out_tokens = jnp.where(finish[:, None], seqs[:, 0], c["out_tokens"])
    out_scores = jnp.where(finish, vals[:, 0], c["out_scores"])
    out_lengths = jnp.where(finish, step + 1, c["out_lengths"])

    rows = (row_base[:, :, None] + parent[:, None, :]).reshape(-1)         # [G * S * K]
    new_tokens = jnp.broadcast_to(tok[:, None, :], (g, s, k)).reshape(-1, 1)
    hidden, cache = model.apply(variables, new_tokens, jnp.ones_like(new_tokens),
                                row_positions + step, c["cache"].reorder(rows),
                                method=bert_lib.Bert.decode_step)
    logits = model.apply(variables, hidden[:, 0], method=bert_lib.Bert.mlm)
    return dict(step=step + 1, logits=logits, cache=cache, pstate=pstate, seqs=seqs,
                scores=jnp.where(alive, vals, -jnp.inf), alive=alive,
                n_keep=alive.sum(-1).astype(jnp.int32), done=c["done"] | finish,
                out_tokens=out_tokens, out_scores=out_scores, out_lengths=out_lengths)

  final = jax.lax.while_loop(cond, body, init)
  return GenerateOutput(tokens=final["out_tokens"], scores=final["out_scores"],
                        lengths=final["out_lengths"])
