"""Overlapping windows over a text longer than the model, and the rule that merges their spans.

A model reads at most `maxlen` tokens (`[CLS]` and `[SEP]` included). Predict mode reads a longer
text in windows of `maxlen − 2` content tokens (`text_windows`); consecutive windows overlap by
half a window, so every span of at most `(maxlen − 2) // 2` tokens lies whole inside some window.
Windows start and end on word boundaries (never before a `##` piece), so the tokens of a
window's text are exactly the text's tokens inside it.

Merge rule (`merge`): each window's spans, shifted into the original text's character offsets,
are kept only from the window where the span is farthest from a window edge — among the windows
that contain the whole span, the one with the largest `min(start − window.start,
window.end − 1 − end)`, the earlier window on a tie — and identical spans are kept once. So a span
near one window's cut is taken from the neighbour that sees it with context on both sides, and a
span seen by two windows is reported once.

Hand-worked example (tests/tasks/predict_windows_test.py): windows [0, 6) and [3, 10) over a
10-character text; the span (4, 5) is at distance min(4, 0) = 0 from the first window's edge and
min(1, 4) = 1 inside the second, so it is kept from the second window only.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import NamedTuple


class Window(NamedTuple):
  """Characters `[start, end)` of a text (half-open)."""
  start: int
  end: int


def text_windows(tokenizer, text: str, maxlen: int) -> list[Window]:
  """The windows the model reads `text` in: `[Window(0, len(text))]` when its tokens fit in
  `maxlen` (incl. `[CLS]`/`[SEP]`), else overlapping windows of `maxlen − 2` tokens, starting half
  a window apart (each moved forward to a word start), the first at 0 and the last at
  `len(text)` (see the module docstring).

  Args:
    tokenizer: a `flaxnlp.data.tokenizer.Tokenizer`.
    text: the whole text.
    maxlen: the model's tokens per input, ≥ 4.
  """
  width = maxlen - 2
  if width < 2:
    raise ValueError(f"maxlen={maxlen}: windows need at least 2 content tokens")
  encoding = tokenizer.encode(text)
  offsets = encoding.offsets[1:-1]
  if len(offsets) <= width:
    return [Window(0, len(text))]
  word_start = [not tokenizer.id_to_token(i).startswith("##") for i in encoding.ids[1:-1]]
  word_start.append(True)  # the end of the text

  def at_word(k: int, lowest: int) -> int:
    """The last word start in (lowest, k], or k when a word runs over the whole range."""
    j = k
    while j > lowest + 1 and not word_start[j]:
      j -= 1
    return j if word_start[j] else k

  n = len(offsets)
  windows, first = [], 0
  while True:
    stop = n if first + width >= n else at_word(first + width, first)  # exclusive token end
    end = len(text) if stop == n else offsets[stop][0]
    windows.append(Window(offsets[first][0] if windows else 0, end))
    if stop == n:
      return windows
    first = max(at_word(first + width // 2, first), first + 1)


def best_window(windows: Sequence[Window], start: int, end: int) -> int | None:
  """Index of the window where the inclusive span [start, end] is farthest from an edge (see
  the merge rule), or None when no window contains it whole."""
  best, best_margin = None, -1
  for k, w in enumerate(windows):
    if w.start <= start and end < w.end:
      margin = min(start - w.start, w.end - 1 - end)
      if margin > best_margin:
        best, best_margin = k, margin
  return best


def merge(windows: Sequence[Window], per_window: Sequence[Sequence[Hashable]],
          extent: Callable[[Hashable], tuple[int, int] | None]) -> list[Hashable]:
  """The items of all windows kept by the merge rule (module docstring), in window order.

  Args:
    windows: the windows, in text order.
    per_window: per window, its predicted items, already in the original text's offsets.
    extent: an item's inclusive character span (start, end), or None for an item without a
      position in the text (kept from every window, then deduplicated).
  """
  kept = {}
  for k, items in enumerate(per_window):
    for item in items:
      span = extent(item)
      if span is None or best_window(windows, *span) == k:
        kept.setdefault(item, None)
  return list(kept)
