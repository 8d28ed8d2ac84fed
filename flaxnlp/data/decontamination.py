"""Keeping evaluated text out of a pretraining stream: normalisation, hashed n-gram sets, drops.

Both sides are compared after `normalize` (NFKC, case folding, whitespace removed), so "Ｂ组" and
"b组", "２１世纪" and "21世纪" are the same text. The documents of a corpus are packed one after
another (`flaxnlp.data.corpus.pack` joins them with `[SEP]`), so a record can put an evaluated
sentence back together from consecutive documents; the check therefore runs over the stream, the
concatenation of the normalised kept documents in packing order. A document is dropped when

  * a `window`-character substring of the stream that overlaps it is a substring of an evaluated
    text (windows spanning into the neighbouring kept documents count),
  * a substring of the stream that overlaps it is a whole evaluated text of `min_chars` to
    `window - 1` characters, or
  * it has `min_chars` to `window - 1` characters and an evaluated text contains it (a longer
    document inside an evaluated text has a shared window already).

Dropping a document joins its neighbours, so `decontaminate` repeats the stream check until the
kept stream has no hit. Texts under `min_chars` characters ("他说。") are ordinary language and
not matched.

N-grams are compared by a 64-bit polynomial hash (mod 2^64) computed with numpy for every position
at once. Equal strings always hash alike, so no shared n-gram is missed; a hash collision can only
drop a clean document.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence

import numpy as np

_BASE = np.uint64(0x9E3779B97F4A7C15)
# Recorded in a built corpus's stats; a corpus built by another method is not reused.
METHOD = "NFKC + casefold, windows over the stream of kept documents"


def normalize(text: str) -> str:
  """NFKC, case-folded, all whitespace removed: the form in which texts are compared."""
  return "".join(unicodedata.normalize("NFKC", text).casefold().split())


class _Joined:
  """Normalised texts concatenated: `codes` uint64 [C] code points, `owner` int64 [C] text index,
  `starts`/`lengths` int64 [T] of each text in `codes`."""

  def __init__(self, texts: Sequence[str]):
    normalised = [normalize(t) for t in texts]
    self.lengths = np.fromiter(map(len, normalised), np.int64, len(normalised))
    self.starts = np.cumsum(self.lengths) - self.lengths
    joined = "".join(normalised)
    self.codes = np.frombuffer(joined.encode("utf-32-le"), np.uint32).astype(np.uint64)
    self.owner = np.repeat(np.arange(len(normalised), dtype=np.int64), self.lengths)

  def ngrams(self, max_n: int) -> Iterator[tuple[int, np.ndarray]]:
    """(n, hashes uint64 [C - n + 1]) for n = 1..max_n: hashes[p] is the hash of codes[p:p+n]."""
    hashes = self.codes.copy()
    for n in range(1, max_n + 1):
      if n > 1:
        hashes = hashes[:-1] * _BASE + self.codes[n - 1:]
      if not len(hashes):
        return
      yield n, hashes

  def within(self, n: int) -> np.ndarray:
    """bool [C - n + 1]: the n-gram at p lies inside one text (crosses no boundary)."""
    return self.owner[:len(self.owner) - n + 1] == self.owner[n - 1:]


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
  """bool [len(values)]: values[i] is in `sorted_set` (sorted, unique)."""
  if not len(sorted_set):
    return np.zeros(len(values), bool)
  at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
  return sorted_set[at] == values


class EvalIndex:
  """The hashed n-grams of the evaluated texts: every `window`-gram inside a text, and the whole
  texts of `min_chars`..`window - 1` characters, by length."""

  def __init__(self, eval_texts: Sequence[str], window: int = 32, min_chars: int = 10):
    self.window, self.min_chars = window, min_chars
    self.texts = _Joined(list(eval_texts))
    self._windows = np.zeros(0, np.uint64)
    self._short: dict[int, np.ndarray] = {}
    for n, hashes in self.texts.ngrams(window):
      if n == window:
        self._windows = np.unique(hashes[self.texts.within(n)])
      elif n >= min_chars:
        self._short[n] = np.unique(hashes[self.texts.starts[self.texts.lengths == n]])

  def hits(self, documents: Sequence[str], across: bool = True) -> np.ndarray:
    """bool [len(documents)]: the document overlaps a shared window or a whole short evaluated
    text in the concatenation of `documents` (`across=False`: inside each document alone)."""
    stream = _Joined(documents)
    touched = np.zeros(len(documents) + 1, np.int64)  # +1 at the first, -1 past the last document
    for n, hashes in stream.ngrams(self.window):
      if n == self.window:
        found = _member(hashes, self._windows)
      elif n in self._short:
        found = _member(hashes, self._short[n])
      else:
        continue
      if not across:
        found &= stream.within(n)
      at = np.flatnonzero(found)
      np.add.at(touched, stream.owner[at], 1)
      np.add.at(touched, stream.owner[at + n - 1] + 1, -1)
    return (np.cumsum(touched[:-1]) > 0) & (stream.lengths > 0)  # empty ones own no character

  def inside(self, documents: Sequence[str]) -> np.ndarray:
    """bool [len(documents)]: the normalised document has `min_chars`..`window - 1` characters
    and is a substring of one evaluated text."""
    docs = _Joined(documents)
    wanted = {n: hashes[docs.starts[docs.lengths == n]]
              for n, hashes in docs.ngrams(self.window - 1) if n >= self.min_chars}
    result = np.zeros(len(documents), bool)
    for n, hashes in self.texts.ngrams(self.window - 1):
      if n in wanted and len(wanted[n]):
        queries = np.unique(wanted[n])
        found = hashes[self.texts.within(n) & _member(hashes, queries)]
        result[docs.lengths == n] = _member(wanted[n], np.unique(found))
    return result


def decontaminate(documents: Sequence[str], index: EvalIndex) -> np.ndarray:
  """bool [len(documents)]: kept, in packing order, once the stream of kept documents is clean
  (see the module docstring). Dropping is repeated until no hit is left."""
  kept = ~index.inside(documents)
  while True:
    order = np.flatnonzero(kept)
    hit = index.hits([documents[i] for i in order])
    if not hit.any():
      return kept
    kept[order[hit]] = False


def shared_eval_texts(eval_texts: Sequence[str], documents: Sequence[str], window: int = 32,
                      min_chars: int = 10) -> np.ndarray:
  """bool [len(eval_texts)]: the evaluated text shares text with the stream of `documents`.

  Shared = one of its `window`-grams is in the stream, or it has `min_chars`..`window - 1`
  characters and the stream contains it, or it contains a document of that many characters: the
  three ways `decontaminate` looks for, seen from the evaluated side.
  """
  stream = EvalIndex(["".join(normalize(d) for d in documents)], window, min_chars)
  short_docs = [d for d in documents if min_chars <= len(normalize(d)) < window]
  return (stream.hits(eval_texts, across=False) | stream.inside(eval_texts)
          | EvalIndex(short_docs, window, min_chars).hits(eval_texts, across=False))
