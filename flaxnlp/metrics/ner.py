"""Entity-level NER metrics on character spans (kexue.fm/archives/8373; bojone's `evaluate`).

An entity is a triple `(start, end, type)` of INCLUSIVE character indices. Over a dataset,

  X = Σ_examples |pred ∩ gold|,  Y = Σ |pred|,  Z = Σ |gold|,
  F1 = 2X / (Y + Z),  P = X / Y,  R = X / Z,

micro-averaged over all entities, each count starting at 1e-10 as in bojone's scripts (so an empty
prediction set against an empty gold set scores F1 = P = R = 1, and P = 1 when nothing is
predicted). Per example, predictions and gold are sets: a repeated triple counts once. Gold
entities a model cannot express (misaligned with tokens, truncated) still count in Z.
"""
from collections.abc import Iterable, Sequence

Entity = tuple[int, int, str]

_SMOOTHING = 1e-10


def _prf(x: float, y: float, z: float) -> tuple[float, float, float]:
  """(P, R, F1) = (X/Y, X/Z, 2X/(Y+Z)) with every count smoothed by 1e-10."""
  x, y, z = x + _SMOOTHING, y + _SMOOTHING, z + _SMOOTHING
  return x / y, x / z, 2 * x / (y + z)


def entity_f1(predictions: Sequence[Iterable[Entity]], golds: Sequence[Iterable[Entity]],
              types: Sequence[str] | None = None) -> dict[str, float]:
  """Micro precision / recall / F1 of entity triples, overall and per type.

  Args:
    predictions: per example, the predicted `(start, end, type)` triples.
    golds: per example, the gold triples (same length as `predictions`).
    types: the types to report per-type scores for; default: every type seen in gold or
      predictions. Types outside this list still count in the overall scores.

  Returns:
    {"precision", "recall", "f1", "num_pred", "num_gold", "num_correct",
     "f1/<type>" for each type}; counts are floats (unsmoothed).
  """
  if len(predictions) != len(golds):
    raise ValueError(f"{len(predictions)} predictions for {len(golds)} gold examples")
  per_type: dict[str, list[int]] = {}  # type -> [X, Y, Z]
  for pred, gold in zip(predictions, golds):
    pred, gold = {tuple(e) for e in pred}, {tuple(e) for e in gold}
    for entity in pred:
      counts = per_type.setdefault(entity[2], [0, 0, 0])
      counts[0] += entity in gold
      counts[1] += 1
    for entity in gold:
      per_type.setdefault(entity[2], [0, 0, 0])[2] += 1
  total = [sum(counts[k] for counts in per_type.values()) for k in range(3)]
  precision, recall, f1 = _prf(*total)
  out = {"precision": precision, "recall": recall, "f1": f1, "num_pred": float(total[1]),
         "num_gold": float(total[2]), "num_correct": float(total[0])}
  for t in sorted(per_type) if types is None else types:
    out[f"f1/{t}"] = _prf(*per_type.get(t, (0, 0, 0)))[2]
  return out
