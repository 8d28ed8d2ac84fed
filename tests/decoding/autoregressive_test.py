"""Cached `generate` vs a naive decoder re-running the whole sequence every step (bert4keras).

The reference below is written in the test: bert4keras `AutoRegressiveDecoder.beam_search` /
`random_sample` semantics in numpy/python, with every next-token distribution computed by a full
UniLM forward pass of `Bert` over prompt ++ generated tokens (no cache).
"""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp.decoding import generate
from flaxnlp.models import Bert
from flaxnlp.models import BertConfig

CONFIG = BertConfig(vocab_size=48, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=48, max_position_embeddings=64)
END = 3
STEPS = 7
PROMPTS = np.array([[2, 17, 33, 41, 3, 25, 9, 3],
                    [2, 5, 6, 3, 11, 0, 0, 0],
                    [2, 40, 30, 20, 10, 3, 0, 0],
                    [2, 8, 3, 0, 0, 0, 0, 0]])
SEGMENTS = np.array([[0, 0, 0, 0, 0, 1, 1, 1],   # the prompt may already hold target tokens
                     [0, 0, 0, 0, 0, 0, 0, 0],
                     [0, 0, 0, 0, 0, 0, 0, 0],
                     [0, 0, 0, 0, 0, 0, 0, 0]])
ROWS = 16               # fixed batch of the naive forward (one compilation)
LENGTH = PROMPTS.shape[1] + STEPS


@functools.lru_cache(maxsize=None)
def _model_and_params():
  model = Bert(CONFIG, mlm_head=True)
  boxed = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.ones((1, 4), jnp.int32))
  rng = np.random.default_rng(0)

  def draw(path, leaf):
    x = rng.normal(0.0, 0.2, leaf.shape).astype(np.float32)
    if path[-1].key == "scale":
      x += 1.0
    if path[-1].key == "mlm_bias":   # spread the distributions; make END reachable
      x = rng.normal(0.0, 1.0, leaf.shape).astype(np.float32)
      x[END] += 2.0
    return jnp.asarray(x)

  return model, jax.tree_util.tree_map_with_path(draw, nn.unbox(boxed["params"]))


@jax.jit
def _forward_probs(params, ids, segs, last):
  model, _ = _model_and_params()
  logits = model.apply({"params": params}, ids, segs, attention="unilm").mlm_logits
  return jax.nn.softmax(logits[jnp.arange(ids.shape[0]), last], axis=-1)


def _naive_probs(sequences):
  """Next-token probabilities after each (prompt row, generated tokens) pair, full forward."""
  _, params = _model_and_params()
  ids = np.zeros((ROWS, LENGTH), np.int32)
  segs = np.zeros((ROWS, LENGTH), np.int32)
  last = np.zeros(ROWS, np.int32)
  for i, (row, generated) in enumerate(sequences):
    n = int((PROMPTS[row] != 0).sum())
    seq = np.concatenate([PROMPTS[row, :n], generated]).astype(np.int32)
    ids[i, :len(seq)] = seq
    segs[i, :n] = SEGMENTS[row, :n]
    segs[i, n:len(seq)] = 1
    last[i] = len(seq) - 1
  return np.asarray(_forward_probs(params, ids, segs, last))[:len(sequences)]


def _naive_beam_search(rows, beam, min_new, combine=lambda p: p[0]):
  """bert4keras beam_search over a group of prompt rows sharing the hypotheses."""
  output_ids, output_scores, topk = np.zeros((1, 0), np.int64), np.zeros(1, np.float32), beam
  for step in range(STEPS):
    probs = _naive_probs([(r, o) for r in rows for o in output_ids])
    values = combine(probs.reshape(len(rows), len(output_ids), -1))
    scores = np.log(values + 1e-12).astype(np.float32)
    if step + 1 < min_new:
      scores[:, END] = -np.inf
    scores = output_scores[:, None] + scores
    indices = np.argpartition(scores, -topk, axis=None)[-topk:]
    output_ids = np.concatenate([output_ids[indices // scores.shape[1]],
                                 (indices % scores.shape[1])[:, None]], axis=1)
    output_scores = scores.reshape(-1)[indices]
    is_end = output_ids[:, -1] == END
    best = output_scores.argmax()
    if is_end[best]:
      return output_ids[best], output_scores[best]
    if not (~is_end).all():
      output_ids, output_scores = output_ids[~is_end], output_scores[~is_end]
      topk = int((~is_end).sum())
  best = output_scores.argmax()
  return output_ids[best], output_scores[best]


def _check(out, expected):
  for g, (tokens, score) in enumerate(expected):
    n = len(tokens)
    np.testing.assert_array_equal(out.tokens[g, :n], tokens)
    np.testing.assert_array_equal(out.tokens[g, n:], 0)
    assert out.lengths[g] == n
    np.testing.assert_allclose(out.scores[g], score, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("beam", [1, 2, 3, 5])
def test_beam_search_matches_naive_decoder(beam):
  model, params = _model_and_params()
  out = generate(model, params, PROMPTS, SEGMENTS, end_id=END, max_new_tokens=STEPS,
                 beam_size=beam)
  expected = [_naive_beam_search([r], beam, 1) for r in range(len(PROMPTS))]
  lengths = [len(t) for t, _ in expected]
  assert min(lengths) < STEPS   # at least one row ends early: termination is exercised
  _check(out, expected)


def test_min_new_tokens_forbids_early_end():
  model, params = _model_and_params()
  out = generate(model, params, PROMPTS, SEGMENTS, end_id=END, max_new_tokens=STEPS,
                 beam_size=2, min_new_tokens=4)
  expected = [_naive_beam_search([r], 2, 4) for r in range(len(PROMPTS))]
  _check(out, expected)
  assert (np.asarray(out.tokens[:, :3]) != END).all()


def _numpy_filter(log_values, top_k, top_p):
  """bert4keras random_sample filtering: top-k then top-p on renormalised probabilities."""
  p = np.exp(log_values - log_values.max(-1, keepdims=True))
  p /= p.sum(-1, keepdims=True)
  if top_k is not None:
    kth = np.sort(p, axis=-1)[:, -top_k][:, None]
    p = np.where(p >= kth, p, 0.0)
    p /= p.sum(-1, keepdims=True)
  if top_p is not None:
    order = np.argsort(-p, axis=-1)
    sorted_p = np.take_along_axis(p, order, axis=-1)
    flag = np.roll(np.cumsum(sorted_p, axis=-1) >= top_p, 1, axis=1)
    flag[:, 0] = False
    sorted_p[flag] = 0.0
    np.put_along_axis(p, order, sorted_p, axis=-1)
  with np.errstate(divide="ignore"):
    return np.log(p)


@pytest.mark.parametrize("top_k,top_p", [(5, None), (8, 0.6)])
def test_sampling_matches_naive_decoder_with_same_draws(top_k, top_p):
  model, params = _model_and_params()
  rng = jax.random.PRNGKey(42)
  out = generate(model, params, PROMPTS, SEGMENTS, end_id=END, max_new_tokens=STEPS,
                 top_k=top_k, top_p=top_p, rng=rng)
  generated = [[] for _ in PROMPTS]
  scores = np.zeros(len(PROMPTS), np.float32)
  done = np.zeros(len(PROMPTS), bool)
  for step in range(STEPS):
    probs = _naive_probs([(r, np.array(generated[r], np.int64)) for r in range(len(PROMPTS))])
    log_values = np.log(probs + 1e-12).astype(np.float32)
    filtered = _numpy_filter(log_values, top_k, top_p)
    draws = np.asarray(jax.random.categorical(jax.random.fold_in(rng, step),
                                              jnp.asarray(filtered, jnp.float32)))
    for r in np.flatnonzero(~done):
      generated[r].append(int(draws[r]))
      scores[r] += log_values[r, draws[r]]
      done[r] = draws[r] == END
    if done.all():
      break
  _check(out, list(zip(generated, scores)))


def test_group_processor_matches_naive_decoder():
  """Rows (0, 1) and (2, 3) form two groups; the processor is a state-weighted mean of probs."""
  model, params = _model_and_params()
  weights = np.array([[0.7, 0.3], [0.2, 0.8]], np.float32)

  def processor(step, probs, tokens, state):
    del step, tokens
    return jnp.einsum("gs,gskv->gkv", state, probs), state

  out = generate(model, params, PROMPTS, SEGMENTS, end_id=END, max_new_tokens=STEPS,
                 beam_size=3, logits_processor=processor, processor_state=jnp.asarray(weights),
                 group_size=2)
  expected = [_naive_beam_search(
      [2 * g, 2 * g + 1], 3, 1,
      combine=lambda p, w=weights[g]: np.einsum("s,skv->kv", w, p)) for g in range(2)]
  assert out.tokens.shape == (2, STEPS)
  _check(out, expected)


def test_argument_errors():
  model, params = _model_and_params()
  kw = dict(end_id=END, max_new_tokens=2)
  with pytest.raises(ValueError, match="beam_size=1"):
    generate(model, params, PROMPTS, beam_size=2, rng=jax.random.PRNGKey(0), **kw)
  with pytest.raises(ValueError, match="pass rng"):
    generate(model, params, PROMPTS, top_k=3, **kw)
  with pytest.raises(ValueError, match="logits_processor"):
    generate(model, params, PROMPTS, group_size=2, **kw)
  with pytest.raises(ValueError, match="mlm_head"):
    generate(Bert(CONFIG), params, PROMPTS, **kw)
