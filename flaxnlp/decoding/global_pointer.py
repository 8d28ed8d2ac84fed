"""Host-side GlobalPointer cells (numpy): labels built from token spans, and spans decoded back.

A span (α, i, j) is type α on tokens i…j inclusive, i.e. cell (i, j) of head α of the
[B, H, N, N] logits of `flaxnlp.layers.GlobalPointer` / `EfficientGlobalPointer`: dense labels
mark the cells, sparse labels list their flattened index i·N + j (0 = padding), and
`decode_spans` returns the cells scored above a threshold.
"""
from typing import Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

Span = Tuple[int, int, int]  # (type α, start token i, end token j), inclusive.


def decode_spans(logits: np.ndarray, threshold: float = 0.0, exclude_special: bool = True,
                 lengths: Optional[Sequence[int]] = None) -> List[Set[Span]]:
  """Spans with logit > `threshold`, per example.

  Args:
    logits: [B, H, N, N] (host array) span logits.
    threshold: decision threshold (0 for ZLPR-trained heads).
    exclude_special: ignore rows and columns of [CLS] (token 0) and [SEP] (token length−1), as
      bert4keras does at inference.
    lengths: [B] number of real tokens (incl. [CLS]/[SEP]); cells beyond it are ignored.
      Default: N for every example.

  Returns:
    One set of (type, i, j) per example, i and j inclusive token indices.
  """
  logits = np.asarray(logits)
  if logits.ndim != 4:
    raise ValueError(f"logits must be [B, H, N, N], got shape {logits.shape}")
  b, _, n, _ = logits.shape
  lengths = np.full((b,), n) if lengths is None else np.asarray(lengths)
  out = []
  for example, length in zip(logits, lengths):
    keep = np.zeros((n,), bool)
    keep[:length] = True
    if exclude_special:
      keep[0] = False
      keep[max(length - 1, 0)] = False
    hits = (example > threshold) & keep[None, :, None] & keep[None, None, :]
    out.append({(int(a), int(i), int(j)) for a, i, j in zip(*np.nonzero(hits))})
  return out


def spans_to_dense_labels(spans: Iterable[Span], heads: int, length: int,
                          dtype=np.int32) -> np.ndarray:
  """Dense labels [heads, length, length] with labels[α, i, j] = 1 for each (α, i, j) in `spans`."""
  labels = np.zeros((heads, length, length), dtype)
  for a, i, j in spans:
    if not (0 <= a < heads and 0 <= i < length and 0 <= j < length):
      raise ValueError(f"span {(a, i, j)} outside heads={heads}, length={length}")
    labels[a, i, j] = 1
  return labels


def spans_to_sparse_labels(spans_per_head: Sequence[Iterable[Tuple[int, int]]], length: int,
                           max_positives: int) -> np.ndarray:
  """Sparse labels int32 [H, max_positives]: flattened cells i·length + j, sorted, padded with 0.

  Index 0 (the ([CLS], [CLS]) cell) is the padding value (`mask_zero` semantics of the sparse ZLPR
  loss and of `global_pointer_blockwise_loss`), so the span (0, 0) cannot be a label. Duplicate
  spans of a head are stored once. `length` must be the padded length N of the batch the labels join.

  Args:
    spans_per_head: H iterables of (i, j) token spans (inclusive).
    length: padded sequence length N.
    max_positives: K, the padded number of positives per head.
  """
  labels = np.zeros((len(spans_per_head), max_positives), np.int32)
  for a, spans in enumerate(spans_per_head):
    cells = set()
    for i, j in spans:
      if not (0 <= i < length and 0 <= j < length) or (i, j) == (0, 0):
        raise ValueError(f"span {(i, j)} of head {a} is outside [0, {length}) or is the "
                         "padding cell (0, 0)")
      cells.add(i * length + j)
    if len(cells) > max_positives:
      raise ValueError(f"head {a} has {len(cells)} spans > max_positives={max_positives}")
    labels[a, :len(cells)] = sorted(cells)
  return labels
