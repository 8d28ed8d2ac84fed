"""Multi-label classification metrics over sets of label ids."""
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
