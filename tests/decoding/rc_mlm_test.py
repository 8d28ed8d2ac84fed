"""Tests of the MLM reader's answer extraction and vote (flaxnlp.decoding.rc_mlm).

References: a hand-worked reading, and a Python transcription of bojone's per-passage loop (the
n-gram table of the passage tokens followed by [SEP] as dicts of sets, argmax over the kept
probabilities, stop at [SEP], score = mean of the kept maxima).
"""
import jax
import numpy as np
import pytest

from flaxnlp.decoding import rc_mlm, rc_vote

PAD, CLS, SEP = 0, 2, 3
A, B, C, D = 4, 5, 6, 7
V = 8


def row(passage):
  """Token ids and passage mask of a row `[CLS] [MASK] [MASK] [SEP] q [SEP] passage [SEP]`."""
  ids = [CLS, 1, 1, SEP, C, SEP, *passage, SEP]
  valid = [False] * 6 + [True] * len(passage) + [False]
  return np.array(ids, np.int32), np.array(valid)


def dist(**probs):
  out = np.zeros(V, np.float32)
  for name, p in probs.items():
    out[{"A": A, "B": B, "C": C, "D": D, "SEP": SEP}[name]] = p
  return out


def test_reading_hand_worked():
  # Passage "A B C". Position 0: D (.5) is not in the passage, A (.3) is kept over [SEP] (.2).
  # Position 1 after A: only B or [SEP] continue "A": C (.6) dropped, B (.3) > [SEP] (.1).
  # Position 2 after "A B": C (.25) > [SEP] (.15); position 3: [SEP] (.9) ends the answer.
  # Score = (.3 + .3 + .25 + .9) / 4 = .4375.
  probs = np.stack([dist(D=.5, A=.3, SEP=.2), dist(C=.6, B=.3, SEP=.1),
                    dist(C=.25, SEP=.15, A=.6), dist(SEP=.9, A=.1), dist(A=1.)])
  ids, valid = row([A, B, C])
  got = rc_mlm.read_answer(probs, ids, valid, end_id=SEP)
  assert got.tokens.tolist() == [A, B, C, SEP, 0] and int(got.lengths) == 4
  np.testing.assert_allclose(float(got.scores), (.3 + .3 + .25 + .9) / 4, rtol=1e-6)
  np.testing.assert_allclose(got.first, dist(A=.3, SEP=.2))   # D is not in the passage
  # [SEP] first: the passage gives no answer, unless [SEP] is barred at position 0 (then B .35,
  # then after B only C or [SEP]: [SEP] .8; score (.35 + .8) / 2).
  probs = np.stack([dist(SEP=.6, B=.35), dist(SEP=.8, A=.2)] + [dist(SEP=1.)] * 3)
  got = rc_mlm.read_answer(probs, ids, valid, end_id=SEP)
  assert got.tokens.tolist() == [SEP, 0, 0, 0, 0] and float(got.scores) == pytest.approx(.6)
  got = rc_mlm.read_answer(probs, ids, valid, end_id=SEP, bar_first_end=True)
  assert got.tokens.tolist() == [B, SEP, 0, 0, 0]
  np.testing.assert_allclose(float(got.scores), (.35 + .8) / 2, rtol=1e-6)
  assert float(got.first[SEP]) == pytest.approx(.6)   # `first` keeps [SEP] for the voters


def test_vote_by_text_hand_worked():
  # "贝尔": scores .6 and .3 → (.36 + .09)/(1 + .9) = .2368; "电话": .7 → .49/1.7 = .2882 wins;
  # without the third passage's vote (not a voter) "贝尔" wins; empty texts never vote.
  texts, scores = ["贝尔", "贝尔", "电话", ""], [.6, .3, .7, .9]
  assert rc_mlm.vote_by_text(texts, scores, [True] * 4) == "电话"
  assert rc_mlm.vote_by_text(texts, scores, [True, True, False, True]) == "贝尔"
  assert rc_mlm.vote_by_text(texts, scores, [False, False, False, True]) == ""


def bojone_reading(probs, passage):
  """bert4keras `gen_answer`'s loop for one passage: (answer ids incl. [SEP], score)."""
  t = list(passage) + [SEP]
  answer, score = (), 0.0
  for i in range(probs.shape[0]):
    table = {}
    for s in range(len(t) - i):
      table.setdefault(tuple(t[s:s + i]), set()).add(t[s + i])
    idxs = set(table.get(answer, set())) | {SEP}
    kept = np.zeros_like(probs[i])
    kept[sorted(idxs)] = probs[i, sorted(idxs)]
    answer += (int(kept.argmax()),)
    score += kept.max()
    if answer[-1] == SEP:
      break
  return list(answer), score / (i + 1)


def test_read_answers_match_bojone_loop():
  rng = np.random.default_rng(0)
  passages = [rng.integers(A, V, size=rng.integers(1, 7)).tolist() for _ in range(12)]
  rows = [row(p) for p in passages]
  width = max(len(r[0]) for r in rows)
  ids = np.array([np.pad(r[0], (0, width - len(r[0]))) for r in rows])
  valid = np.array([np.pad(r[1], (0, width - len(r[1]))) for r in rows])
  logits = rng.normal(size=(12, 5, V)) * 2
  logits[:, :, SEP] -= 1.0
  probs = np.asarray(jax.nn.softmax(logits.astype(np.float32)))
  got = jax.device_get(jax.jit(rc_mlm.read_answers, static_argnames="end_id")(
      probs, ids, valid, end_id=SEP))
  lengths = []
  for r, passage in enumerate(passages):
    answer, score = bojone_reading(probs[r], passage)
    n = int(got.lengths[r])
    lengths.append(n)
    assert got.tokens[r, :n].tolist() == answer and not got.tokens[r, n:].any()
    np.testing.assert_allclose(float(got.scores[r]), score, rtol=1e-5)
  assert len(set(lengths)) > 2   # short and long answers exercised


def test_voters_from_first_position():
  # bojone's rule on the kept position-0 distributions: passage 1's argmax is [SEP].
  first = np.stack([dist(A=.5, SEP=.3), dist(SEP=.6, B=.4), dist(C=.45, SEP=.2)])[None]
  present = np.array([[True, True, False]])
  assert np.asarray(rc_vote.step0_voters(first, present, SEP)).tolist() == [[True, False, False]]
  assert np.asarray(rc_vote.step0_voters(first, present, SEP, "lowest_sep")).tolist() == [
      [True, False, False]]
  assert np.asarray(rc_vote.step0_voters(first, present, SEP, "all")).tolist() == [
      [True, True, False]]
