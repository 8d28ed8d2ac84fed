"""Tests of multi-passage voting, no-answer and extractive constraint (flaxnlp.decoding.rc_vote).

The reference is a direct numpy/Python transcription of kexue.fm/archives/7115 (bert4keras
`ReadingComprehension.predict` + `beam_search`): passages are filtered by list comprehension at step 0, the n-gram table is a
dict of Python sets, and the vote is computed on the kept passages. The answerable rules are
transcribed the same way (the voters picked from Python lists, [SEP]'s step-0 score set to
log(eps)) and checked on hand-worked votes.
"""
import collections
import functools
import itertools

import flax
import jax
import numpy as np
import pytest

from flaxnlp.decoding import rc_vote
from flaxnlp.models.bert import Bert, BertConfig
from flaxnlp.tasks import rc_samples

PAD, UNK, CLS, SEP = 0, 1, 2, 3
A, B, C, D, E = 4, 5, 6, 7, 8
V = 9
WIDTH = 16  # prompts are padded to one width so that the jitted scorer compiles few times


def beam_search(score_fn, topk, maxlen):
  """bert4keras `beam_search` (min_ends=1): one beam at step 0, finished non-best beams dropped."""
  output_ids, output_scores = np.zeros((1, 0), np.int64), np.zeros(1)
  for step in range(maxlen):
    scores = output_scores[:, None] + score_fn(step, output_ids)
    flat = np.argsort(-scores, axis=None, kind="stable")[:topk]
    rows, cols = flat // scores.shape[1], flat % scores.shape[1]
    output_ids = np.concatenate([output_ids[rows], cols[:, None]], 1)
    output_scores = scores.reshape(-1)[flat]
    is_end = output_ids[:, -1] == SEP
    best = output_scores.argmax()
    if is_end[best]:
      return output_ids[best][:-1].tolist()
    output_ids, output_scores = output_ids[~is_end], output_scores[~is_end]
    topk = int((~is_end).sum())
  return output_ids[output_scores.argmax()].tolist()


class NaiveScorer:
  """Blog 7115's decoding as pseudo-code: per-passage probabilities, step-0 exclusion, n-gram table, vote."""

  def __init__(self, probs_fn, prompts, extractive, eps=1e-12, rule=""):
    self.probs_fn, self.extractive, self.eps, self.rule = probs_fn, extractive, eps, rule
    self.sources = [list(p[1:list(p).index(SEP)]) for p in prompts]
    self.active = list(range(len(prompts)))

  def voters(self, first):
    """Indices of the passages that vote, from their step-0 distributions `first` [P, V]."""
    kept = [j for j in range(len(first)) if first[j].argmax() != SEP]
    if self.rule == "all":
      return list(range(len(first)))
    if self.rule == "lowest_sep":
      return [min(range(len(first)), key=lambda j: first[j][SEP])]
    if self.rule == "best_start" and not kept:
      return [max(range(len(first)), key=lambda j: max(np.delete(first[j], SEP)))]
    return kept

  def __call__(self, step, output_ids):
    beams = [tuple(b) for b in output_ids]
    probs = np.array([[self.probs_fn(i, b) for b in beams] for i in self.active])
    if step == 0:
      keep = self.voters(probs[:, 0])
      if not keep:
        scores = np.zeros((len(beams), probs.shape[-1]))
        scores[:, SEP] = 1
        return np.log(scores + self.eps)
      self.active = [self.active[j] for j in keep]
      probs = probs[keep]
    if self.extractive:
      table = collections.defaultdict(set)
      n = step + 1
      for i in self.active:
        src = self.sources[i]
        for s in range(len(src) - n + 1):
          table[tuple(src[s:s + n - 1])].add(src[s + n - 1])
      masked = np.zeros_like(probs)
      for b, beam in enumerate(beams):
        idx = sorted(table.get(beam, set()) | {SEP})
        masked[:, b, idx] = probs[:, b, idx]
      probs = masked
    values = (probs ** 2).sum(0) / (probs.sum(0) + 1)
    if self.rule and step == 0:
      values[:, SEP] = 0.0
    return np.log(values + self.eps)


class ProcessorScorer:
  """Drives `RCVoteProcessor` (jitted) with one group: probs [1, P, K, V], prefix buffer [1, K, T].

  Scores are log(values + 1e-12), as `generate` computes them.
  """

  def __init__(self, probs_fn, prompts, extractive, maxlen, eps=1e-12, banned_ids=(), rule=""):
    self.probs_fn, self.maxlen = probs_fn, maxlen
    self.processor = jax.jit(rc_vote.RCVoteProcessor(SEP, extractive, eps, tuple(banned_ids),
                                                     rule))
    padded = np.array([list(p) + [PAD] * (WIDTH - len(p)) for p in prompts])
    self.state = rc_vote.init_state(padded[None], np.ones((1, len(prompts)), bool), cls_id=CLS,
                                    sep_id=SEP)

  def __call__(self, step, output_ids):
    probs = np.array([[self.probs_fn(i, tuple(b)) for b in output_ids]
                      for i in range(self.state.tokens.shape[1])], np.float32)
    prefix = np.zeros((1, len(output_ids), self.maxlen), np.int32)
    prefix[0, :, :step] = output_ids
    values, self.state = self.processor(step, probs[None], prefix, self.state)
    return np.log(np.asarray(values[0], np.float64) + 1e-12)


def decode(scorer_cls, probs_fn, prompts, *, beam, extractive, maxlen=6, **kw):
  if scorer_cls is ProcessorScorer:
    kw["maxlen"] = maxlen
  return beam_search(scorer_cls(probs_fn, prompts, extractive, **kw), beam, maxlen)


def table_fn(tables):
  """probs_fn from {(passage, prefix): {token: prob}}; unspecified prefixes end with [SEP]."""
  def fn(i, prefix):
    probs = np.zeros(V)
    for token, p in tables.get((i, prefix), {SEP: 1.0}).items():
      probs[token] = p
    return probs
  return fn


def prompt(source, question=(C,)):
  return [CLS, *source, SEP, *question, SEP]


BOTH = pytest.mark.parametrize("scorer", [NaiveScorer, ProcessorScorer])


def test_vote_formula():
  rng = np.random.default_rng(0)
  probs = rng.dirichlet(np.ones(5), size=(2, 3))  # [2, P=3, V=5]
  active = np.array([[True, False, True], [False, False, False]])
  got = np.asarray(rc_vote.vote(probs, active))
  p = probs[0, [0, 2]]
  np.testing.assert_allclose(got[0], (p ** 2).sum(0) / (1 + p.sum(0)), rtol=1e-6)
  np.testing.assert_allclose(got[1], 0.0)


def test_source_tokens():
  prompts = np.array([[CLS, A, B, SEP, C, SEP, PAD], [CLS, D, SEP, A, SEP, PAD, PAD]])
  tokens, valid = rc_vote.source_tokens(prompts, CLS, SEP)
  np.testing.assert_array_equal(tokens, prompts)
  np.testing.assert_array_equal(valid, [[0, 1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0]])
  _, valid = rc_vote.source_tokens(prompts, CLS, SEP, full_prompt=True)
  np.testing.assert_array_equal(valid, prompts != PAD)


def brute_force_allowed(sources, active, prefix):
  allowed = {SEP}
  n = len(prefix)
  for src, on in zip(sources, active):
    if on:
      allowed |= {src[s + n] for s in range(len(src) - n) if tuple(src[s:s + n]) == prefix}
  return allowed


def test_allowed_tokens_against_brute_force():
  rng = np.random.default_rng(1)
  allowed_fn = jax.jit(rc_vote.allowed_tokens, static_argnums=(5, 6))
  for trial in range(30):
    p, vocab = 3, 9
    sources = [rng.integers(4, vocab, size=rng.integers(1, 9)).tolist() for _ in range(p)]
    active = rng.random(p) < 0.7
    prompts = [prompt(s) for s in sources]
    padded = np.array([pp + [PAD] * (WIDTH - len(pp)) for pp in prompts])
    tokens, valid = rc_vote.source_tokens(padded, CLS, SEP)
    for _ in range(5):
      if rng.random() < 0.7:  # a prefix that occurs in some source
        src = sources[rng.integers(p)]
        start = rng.integers(len(src))
        prefix = tuple(src[start:start + rng.integers(0, len(src) - start + 1)])
      else:
        prefix = tuple(rng.integers(4, vocab, size=rng.integers(0, 4)).tolist())
      buffer = np.zeros(8, np.int32)
      buffer[:len(prefix)] = prefix
      got = allowed_fn(tokens, valid, active, buffer, len(prefix), vocab, SEP)
      assert set(np.flatnonzero(np.asarray(got)).tolist()) == brute_force_allowed(
          sources, active, prefix), (sources, active, prefix)


# Step 0: passage 0 argmax A, passage 1 argmax B, passage 2 argmax [SEP] (0.5/0.5 tie -> first).
# Votes over passages {0, 1}: A = .16/1.4 = .114, B = (.1225 + .16)/1.75 = .161, SEP = .125/1.5
# = .083 -> B, then [SEP]. Had passage 2 voted, A = (.16 + .25)/1.9 = .216 would beat B.
EXCLUSION = {(0, ()): {A: .4, B: .35, SEP: .25}, (1, ()): {B: .4, C: .35, SEP: .25},
             (2, ()): {SEP: .5, A: .5}}


@BOTH
def test_no_answer_passages_do_not_vote(scorer):
  prompts = [prompt([A, B, C])] * 3
  assert decode(scorer, table_fn(EXCLUSION), prompts, beam=1, extractive=False) == [B]
  assert decode(scorer, table_fn(EXCLUSION), prompts, beam=2, extractive=True) == [B]


# One passage: vote = f(p) = p²/(1+p). Greedy: A (f=.114) then C (f(.34)=.086) then [SEP].
# Beam 2 keeps B (f(.35)=.091); B->[SEP] scores .091·f(.9)=.091·.426=.0387 > A->C .00986 -> "B".
BEAM = {(0, ()): {A: .4, B: .35, SEP: .25}, (0, (A,)): {C: .34, D: .33, SEP: .33},
        (0, (B,)): {SEP: .9, C: .1}}


@BOTH
def test_beam_two_differs_from_greedy(scorer):
  prompts = [prompt([A, C, B, D])]
  assert decode(scorer, table_fn(BEAM), prompts, beam=1, extractive=False) == [A, C]
  assert decode(scorer, table_fn(BEAM), prompts, beam=2, extractive=False) == [B]


# E is preferred but is in no passage; after A the model prefers C, but "A C" is no n-gram;
# "B D" is an n-gram of passage 1 but "A B D" is not: the answer cannot switch passages.
EXTRACT = {(0, ()): {E: .5, A: .3, SEP: .2}, (1, ()): {E: .5, A: .3, SEP: .2},
           (0, (A,)): {C: .6, B: .3, SEP: .1}, (1, (A,)): {C: .6, B: .3, SEP: .1},
           (0, (A, B)): {D: .7, C: .2, SEP: .1}, (1, (A, B)): {D: .7, C: .2, SEP: .1},
           (0, (A, B, C)): {SEP: 1.}, (1, (A, B, C)): {SEP: 1.}}


@BOTH
def test_extractive_constraint(scorer):
  prompts = [prompt([A, B, C]), prompt([B, D])]
  assert decode(scorer, table_fn(EXTRACT), prompts, beam=1, extractive=True) == [A, B, C]
  assert decode(scorer, table_fn(EXTRACT), prompts, beam=1, extractive=False) == [E]


@BOTH
@pytest.mark.parametrize("beam", [1, 2])
def test_all_passages_without_answer(scorer, beam):
  tables = {(0, ()): {SEP: .6, A: .4}, (1, ()): {SEP: .9, B: .1}}
  assert decode(scorer, table_fn(tables), [prompt([A]), prompt([B])], beam=beam,
                extractive=True) == []


def test_banned_ids_and_padding_passages():
  tables = {(0, ()): {UNK: .6, A: .4}, (1, ()): {SEP: 1.}}
  got = decode(ProcessorScorer, table_fn(tables), [prompt([A]), prompt([B])], beam=1,
               extractive=False, eps=1e-6, banned_ids=(PAD, UNK, CLS))
  assert got == [A]
  probs = np.zeros((1, 2, 1, V), np.float32)
  probs[0, :, 0, A] = 1.0
  prompts = np.array([[prompt([A]), prompt([A])]])
  state = rc_vote.init_state(prompts, np.array([[False, False]]), cls_id=CLS, sep_id=SEP)
  values, state = rc_vote.RCVoteProcessor(SEP)(0, probs, np.zeros((1, 1, 4), np.int32), state)
  np.testing.assert_array_equal(values[0, 0], np.eye(V)[SEP])  # both passages are padding
  assert not np.asarray(state.active).any()


# Every passage's step-0 argmax is [SEP]: bojone's rule answers "". With [SEP] barred at step 0:
# "all" votes over the three: A = (.4² + .28²)/(1 + .4 + .28) = .2384/1.68 = .1419,
#   B = .45²/1.45 = .1397, C = .3²/1.3 = .0692 -> A;
# "lowest_sep" keeps passage 2 (P([SEP]) .42 < .55 < .6): C = .0692 > A = .28²/1.28 = .0613 -> C;
# "best_start" keeps passage 1 (its best non-[SEP] token .45 > .4 > .3): B.
# After the first token every passage puts all its mass on [SEP], which ends the answer.
ALL_SEP = {(0, ()): {A: .4, SEP: .6}, (1, ()): {B: .45, SEP: .55},
           (2, ()): {C: .3, A: .28, SEP: .42}}


@BOTH
@pytest.mark.parametrize("beam,extractive", [(1, False), (2, True)])
@pytest.mark.parametrize("rule,answer", [("", []), ("all", [A]), ("lowest_sep", [C]),
                                         ("best_start", [B])])
def test_answerable_rules_hand_worked(scorer, beam, extractive, rule, answer):
  prompts = [prompt([A, B, C])] * 3
  assert decode(scorer, table_fn(ALL_SEP), prompts, beam=beam, extractive=extractive,
                rule=rule) == answer


# Both passages pass bojone's test (argmax A, B), yet the step-0 vote prefers [SEP]:
# [SEP] = 2·.35²/1.7 = .1441 > B = (.25² + .4²)/1.65 = .1348 > A = .4²/1.4 = .1143, so bojone's
# rule answers "". An answerable rule bars [SEP] at step 0 and answers B ("best_start" keeps the
# same two passages, "all" both).
SEP_VOTE = {(0, ()): {A: .4, SEP: .35, B: .25}, (1, ()): {B: .4, SEP: .35, C: .25}}


@BOTH
@pytest.mark.parametrize("rule,answer", [("", []), ("all", [B]), ("best_start", [B])])
def test_answerable_rule_never_ends_at_step_0(scorer, rule, answer):
  prompts = [prompt([A, B, C]), prompt([B, C])]
  assert decode(scorer, table_fn(SEP_VOTE), prompts, beam=1, extractive=True,
                rule=rule) == answer


def test_unknown_answerable_rule():
  with pytest.raises(ValueError, match="one of all, lowest_sep, best_start"):
    rc_vote.RCVoteProcessor(SEP, answerable_rule="best")


def random_fn(seed, p_sep):
  """Deterministic random distributions per (passage, prefix); [SEP] likely with prob p_sep."""
  @functools.lru_cache(maxsize=None)
  def fn(i, prefix):
    rng = np.random.default_rng([seed, i, len(prefix), *prefix])
    logits = 2.0 * rng.standard_normal(V)
    logits[SEP] += 3.0 if rng.random() < p_sep else -1.0
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()
  return fn


@pytest.mark.parametrize("seed,beam,extractive", list(itertools.product(
    range(3), [1, 2, 3], [True, False])))
def test_processor_matches_naive_decoder(seed, beam, extractive):
  rng = np.random.default_rng(seed)
  prompts = [prompt(rng.integers(A, V, size=rng.integers(2, 7)).tolist()) for _ in range(3)]
  fn = random_fn(seed, p_sep=0.3)
  assert decode(ProcessorScorer, fn, prompts, beam=beam, extractive=extractive) == decode(
      NaiveScorer, fn, prompts, beam=beam, extractive=extractive)


@pytest.mark.parametrize("seed,beam,rule", list(itertools.product(
    range(2), [1, 2], rc_vote.ANSWERABLE_RULES)))
def test_answerable_processor_matches_naive_decoder(seed, beam, rule):
  rng = np.random.default_rng(seed)
  prompts = [prompt(rng.integers(A, V, size=rng.integers(2, 7)).tolist()) for _ in range(3)]
  fn = random_fn(seed, p_sep=0.7)
  got = decode(ProcessorScorer, fn, prompts, beam=beam, extractive=True, rule=rule)
  assert got and got == decode(NaiveScorer, fn, prompts, beam=beam, extractive=True, rule=rule)


LETTERS = "abcdefghijklmnop"


class LetterTokenizer:
  """One token per letter (id 4 + index); [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3; bert4keras encode."""
  cls_id, sep_id = CLS, SEP

  def encode(self, first, second=None, maxlen=None):
    assert second is None
    ids = [CLS] + [4 + LETTERS.index(c) for c in first if c in LETTERS] + [SEP]
    if maxlen is not None and len(ids) > maxlen:
      ids = ids[:maxlen - 1] + [SEP]
    return ids, [0] * len(ids)

  def decode(self, ids):
    return "".join(LETTERS[i - 4] for i in ids if i >= 4)


def model_probs_fn(apply, prompt_ids, width=32):
  """probs_fn(i, prefix): softmax at the last position of model([prompt_i ++ prefix]).

  The sequence (segments 0 for the prompt, 1 for the prefix) is right-padded with [PAD] to a fixed
  width, whose keys the model masks out, so one compiled forward serves every step.
  """
  def fn(i, prefix):
    ids = list(prompt_ids[i]) + list(prefix)
    tokens = np.zeros((1, width), np.int32)
    segments = np.zeros((1, width), np.int32)
    tokens[0, :len(ids)] = ids
    segments[0, len(prompt_ids[i]):len(ids)] = 1
    logits = apply(tokens, segments)[0, len(ids) - 1]
    return np.asarray(jax.nn.softmax(logits))
  return fn


QUESTIONS = [("abc", ["hello", "abcjihgf", "fedcbap"]), ("pon", ["ponmlk"]),
             ("kij", ["lmnop", "aaab"]), ("x", [])]


@pytest.mark.parametrize("beam,extractive", [
    (2, True), pytest.param(1, False, marks=pytest.mark.slow),
    pytest.param(2, False, marks=pytest.mark.slow)])
def test_answer_questions_matches_full_recompute(beam, extractive):
  """One batched `generate` call with the processor == blog 7115's decoder re-running
  the model.

  Random tiny UniLM; a [SEP] output bias makes some passages answer-less at step 0, so the
  exclusion is exercised (checked on the reference decoder's active passages).
  """
  cfg = BertConfig(vocab_size=4 + len(LETTERS), hidden_size=32, num_hidden_layers=1,
                   num_attention_heads=4, intermediate_size=64, max_position_embeddings=64,
                   initializer_range=0.5)
  model = Bert(cfg, mlm_head=True)
  params = dict(flax.core.meta.unbox(
      model.init(jax.random.PRNGKey(3), np.ones((1, 4), np.int32))["params"]))
  params["mlm_bias"] = params["mlm_bias"].at[SEP].add(5.0)
  apply = jax.jit(lambda t, s: model.apply({"params": params}, t, s, "unilm").mlm_logits)
  tok = LetterTokenizer()
  lengths = dict(max_p_len=8, max_q_len=4, max_a_len=5)
  got = rc_samples.answer_questions(model, params, tok, QUESTIONS, beam_size=beam,
                                    extractive=extractive, **lengths)
  expected, excluded = [], 0
  for question, passages in QUESTIONS:
    if not passages:
      expected.append("")
      continue
    prompts = rc_samples.decoding_prompts(question, passages, tok, max_p_len=8, max_q_len=4)
    scorer = NaiveScorer(model_probs_fn(apply, prompts), prompts, extractive)
    expected.append(tok.decode(beam_search(scorer, beam, lengths["max_a_len"])))
    excluded += len(passages) - len(scorer.active)
  assert got == expected
  assert excluded > 0 and any(expected)
