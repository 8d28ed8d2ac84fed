"""Relation- and event-extraction metrics as GPLinker's `evaluate` (blogs 8888, 8926).

All scores are micro P/R/F1 with P = x/y, R = x/z, F1 = 2x/(y+z) (x = matches, y = predicted,
z = gold); a zero denominator gives 0 (bojone adds 1e-10 instead, same values up to 1e-10).
Unlike `duie_v1.py`'s `evaluate` (which reads a missing `spo_list` key), these take the gold
triples explicitly and never look anything up by key.
"""
from typing import Callable, Dict, Hashable, Iterable, Sequence, Tuple


def _prf(x: int, y: int, z: int) -> Dict[str, float]:
  return {"precision": x / y if y else 0.0, "recall": x / z if z else 0.0,
          "f1": 2 * x / (y + z) if y + z else 0.0, "matched": x, "predicted": y, "gold": z}


def _dedup(items: Iterable) -> list:
  out = []
  for item in items:
    if item not in out:
      out.append(item)
  return out


def micro_prf(pred_sets: Sequence[Iterable[Hashable]],
              gold_sets: Sequence[Iterable[Hashable]]) -> Dict[str, float]:
  """Micro P/R/F1 over documents: x = Σ|R_d ∩ T_d|, y = Σ|R_d|, z = Σ|T_d| with R_d, T_d the
  SETS of predicted / gold items of document d (duplicates count once). Returns precision,
  recall, f1 and the counts matched (x), predicted (y), gold (z)."""
  x = y = z = 0
  for p_doc, g_doc in zip(pred_sets, gold_sets, strict=True):
    r, t = set(p_doc), set(g_doc)
    x, y, z = x + len(r & t), y + len(r), z + len(t)
  return _prf(x, y, z)


def relation_f1(pred: Sequence[Iterable[Tuple[str, str, str]]],
                gold: Sequence[Iterable[Tuple[str, str, str]]],
                normalise: Callable[[str], Hashable] = lambda s: s) -> Dict[str, float]:
  """Triple micro P/R/F1 over documents: per document the SETS of `(normalise(s), p,
  normalise(o))` (bojone compares tokenised strings: pass `tokenizer.tokenize` wrapped in tuple)."""
  key = lambda doc: [(normalise(s), p, normalise(o)) for s, p, o in doc]
  return micro_prf([key(d) for d in pred], [key(d) for d in gold])


Node = Tuple[str, str, str, int]  # (event_type, role, text, char start)


def event_f1(pred: Sequence[Sequence[Sequence[Node]]], gold: Sequence[Sequence[Sequence[Node]]],
             trigger_role: str = "触发词") -> Dict[str, Dict[str, float]]:
  """bojone's DuEE `evaluate` (blog 8926) over documents of events (node lists incl. the trigger).

  Event level: predicted events WITH a trigger node, sorted and de-duplicated, match a gold
  (sorted, de-duplicated) event when equal. Argument level: de-duplicated non-trigger nodes of
  all predicted events (no trigger filter) against those of the gold events.
  `pred` must be the decoder output with `require_trigger=False`.

  Returns: `{"event": prf, "argument": prf}`.
  """
  ex = ey = ez = ax = ay = az = 0
  for p_doc, g_doc in zip(pred, gold, strict=True):
    r = _dedup(sorted(e) for e in p_doc if any(n[1] == trigger_role for n in e))
    t = _dedup(sorted(e) for e in g_doc)
    ex, ey, ez = ex + sum(e in t for e in r), ey + len(r), ez + len(t)
    r = _dedup(n for e in p_doc for n in e if n[1] != trigger_role)
    t = _dedup(n for e in g_doc for n in e if n[1] != trigger_role)
    ax, ay, az = ax + sum(n in t for n in r), ay + len(r), az + len(t)
  return {"event": _prf(ex, ey, ez), "argument": _prf(ax, ay, az)}
