"""Multi-label classification metrics over sets of label ids, and the decision threshold tuned for
them on held-out scores."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def multilabel_counts(predictions: Sequence[Iterable[int]], golds: Sequence[Iterable[int]],
                      num_labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Per-label true positives, false positives and false negatives, each int [num_labels]."""
  if len(predictions) != len(golds):
    raise ValueError(f"{len(predictions)} predictions for {len(golds)} gold examples")
  tp, fp, fn = (np.zeros(num_labels, np.int64) for _ in range(3))
  for pred, gold in zip(predictions, golds):
    pred, gold = set(pred), set(gold)
    for i in pred & gold:
      tp[i] += 1
    for i in pred - gold:
      fp[i] += 1
    for i in gold - pred:
      fn[i] += 1
  return tp, fp, fn


def _f1(tp, fp, fn):
  """2·tp / (2·tp + fp + fn), 0 where the denominator is 0 (sklearn's zero_division=0)."""
  denom = 2 * tp + fp + fn
  return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def multilabel_f1(predictions: Sequence[Iterable[int]], golds: Sequence[Iterable[int]],
                  num_labels: int) -> dict[str, float]:
  """Micro and macro F1 (plus micro precision/recall) of predicted vs gold label-id sets.

  micro_f1 = 2·ΣTP / (2·ΣTP + ΣFP + ΣFN) over all labels; macro_f1 = mean over the `num_labels`
  labels of per-label F1 (0 for a label with no gold and no predicted occurrence), i.e.
  sklearn's `f1_score(average="micro" | "macro", zero_division=0)` on multi-hot matrices.
  """
  tp, fp, fn = multilabel_counts(predictions, golds, num_labels)
  stp, sfp, sfn = tp.sum(), fp.sum(), fn.sum()
  return {"micro_f1": float(_f1(stp, sfp, sfn)), "macro_f1": float(_f1(tp, fp, fn).mean()),
          "micro_precision": float(stp / max(stp + sfp, 1)),
          "micro_recall": float(stp / max(stp + sfn, 1))}


THRESHOLD_METRICS = ("macro_f1", "micro_f1")


def threshold_candidates(scores: np.ndarray) -> np.ndarray:
  """Sorted thresholds giving every distinct decision `scores > t` once: one below the lowest
  score (every label predicted), the midpoint between each two consecutive distinct scores, and
  the highest score (none predicted)."""
  values = np.unique(np.asarray(scores, np.float64))
  return np.concatenate([values[:1] - 1.0, (values[:-1] + values[1:]) / 2, values[-1:]])


def _count_above(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
  """int [len(thresholds)]: how many of `values` are > each threshold."""
  return len(values) - np.searchsorted(np.sort(values), thresholds, side="right")


def tune_threshold(scores: np.ndarray, labels: np.ndarray,
                   metric: str = "macro_f1") -> tuple[float, float]:
  """The single threshold t over all labels whose decisions `scores > t` maximise `metric`.

  Args:
    scores: float [N, num_labels], the model's label scores (logits) of N held-out examples.
    labels: {0, 1} [N, num_labels], their gold labels (multi-hot).
    metric: "macro_f1" or "micro_f1", as `multilabel_f1` computes them.

  Returns:
    (t, the metric at t), t one of `threshold_candidates(scores)` (every distinct decision is
    tried); of equally good thresholds, the one closest to 0 (the default threshold).
  """
  if metric not in THRESHOLD_METRICS:
    raise ValueError(f"metric {metric!r}; one of {' | '.join(THRESHOLD_METRICS)}")
  scores, labels = np.asarray(scores, np.float64), np.asarray(labels) > 0.5
  if scores.shape != labels.shape or scores.ndim != 2 or not scores.size:
    raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be the same "
                     f"non-empty [N, num_labels]")
  candidates = threshold_candidates(scores)
  # Per label c and candidate t: tp = #{positive scores > t}, fp = #{negative scores > t}.
  columns = range(labels.shape[1])
  tp = np.stack([_count_above(scores[labels[:, c], c], candidates) for c in columns])
  fp = np.stack([_count_above(scores[~labels[:, c], c], candidates) for c in columns])
  fn = labels.sum(axis=0)[:, None] - tp
  if metric == "macro_f1":
    values = _f1(tp, fp, fn).mean(axis=0)
  else:
    values = _f1(tp.sum(axis=0), fp.sum(axis=0), fn.sum(axis=0))
  best = np.flatnonzero(values == values.max())
  i = best[np.argmin(np.abs(candidates[best]))]
  return float(candidates[i]), float(values[i])
