"""Tests of the span reader's decoding (flaxnlp.decoding.rc_span) and its passage windows.

The reference is a brute-force search: every row, every pair of passage positions i ≤ j with
j - i + 1 ≤ max_len, in Python loops.
"""
import jax
import numpy as np
import pytest

from flaxnlp.decoding import rc_span
from flaxnlp.tasks import rc_span_reader


def brute_force(start, end, valid, present, max_len, answerable):
  """(row, i, j) of the best span of the question, or None."""
  best, best_score = None, -np.inf
  for r in range(len(start)):
    if not present[r]:
      continue
    null = start[r][0] + end[r][0]
    for i in range(len(start[r])):
      for j in range(i, min(i + max_len, len(start[r]))):
        score = start[r][i] + end[r][j]
        if valid[r][i] and valid[r][j] and score > best_score and (answerable or score > null):
          best, best_score = (r, i, j), score
  return best


@pytest.mark.parametrize("answerable", [True, False])
def test_best_span_against_brute_force(answerable):
  rng = np.random.default_rng(0)
  spans_fn = jax.jit(rc_span.best_spans, static_argnums=3)
  found = {True: 0, False: 0}
  for _ in range(40):
    rows, length, max_len = rng.integers(1, 5), 10, int(rng.integers(1, 5))
    start = rng.normal(size=(rows, length)).astype(np.float32)
    end = rng.normal(size=(rows, length)).astype(np.float32)
    start[:, 0] += rng.normal() * 2   # [CLS]: sometimes beats every span, sometimes not
    lengths = rng.integers(0, length, size=rows)   # passage positions 1 .. lengths[r]
    valid = (np.arange(length) >= 1) & (np.arange(length) <= lengths[:, None])
    present = rng.random(rows) < 0.8
    spans = jax.device_get(spans_fn(start, end, valid, max_len))
    row = rc_span.choose_span(spans, present, answerable)
    expected = brute_force(start, end, valid, present, max_len, answerable)
    got = None if row is None else (row, int(spans.start[row]), int(spans.end[row]))
    assert got == expected, (start, end, valid, present, max_len)
    found[got is None] += 1
  assert found[False] and (answerable or found[True])  # both outcomes exercised


def test_row_without_passage_never_wins():
  start = end = np.zeros((2, 4), np.float32)
  valid = np.array([[False] * 4, [False, True, False, False]])
  spans = rc_span.best_spans(start, end, valid, 3)
  assert float(spans.score[0]) == -np.inf and rc_span.choose_span(spans, [True, True], True) == 1
  assert rc_span.choose_span(spans, [True, False], True) is None


@pytest.mark.parametrize("n,size,stride", [(0, 4, 2), (3, 4, 2), (4, 4, 2), (10, 4, 2),
                                           (11, 4, 3), (9, 3, 3)])
def test_windows_cover_every_token(n, size, stride):
  got = rc_span_reader.windows(n, size, stride)
  assert got[0][0] == 0 and got[-1][1] == n
  assert all(0 < e - s <= size or n == 0 for s, e in got)
  assert all(b[0] - a[0] <= stride for a, b in zip(got, got[1:]))   # stride, or less at the end
  covered = set().union(*(range(s, e) for s, e in got))
  assert covered == set(range(n))
  # an answer of up to size - stride + 1 tokens lies whole in some window
  for i in range(n):
    j = min(i + size - stride, n - 1)
    assert any(s <= i and j < e for s, e in got)
