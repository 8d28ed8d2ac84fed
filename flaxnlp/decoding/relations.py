"""GPLinker relation decoding (blog 8888): subjects × objects × predicates, pure numpy."""
from typing import List, Tuple

import numpy as np

Span = Tuple[int, int]


def decode_relations(entity: np.ndarray, head: np.ndarray, tail: np.ndarray, length: int,
                     threshold: float = 0.0) -> List[Tuple[Span, int, Span]]:
  """Quintuples whose four GPLinker scores are all `> threshold`.

  Args:
    entity: (2, N, N) scores, type 0 = subject span (h, t), type 1 = object span.
    head: (P, N, N) `S(s_h, o_h | p)`; tail: (P, N, N) `S(s_t, o_t | p)`.
    length: real length L incl. [CLS] (row/col 0) and [SEP] (L-1), both masked.

  Returns:
    `[((s_h, s_t), p, (o_h, o_t))]` token spans, subject-major then object then predicate order.
  """
  inner = slice(1, length - 1)
  subjects = [(int(i) + 1, int(j) + 1) for i, j in zip(*np.nonzero(entity[0, inner, inner] > threshold))]
  objects = [(int(i) + 1, int(j) + 1) for i, j in zip(*np.nonzero(entity[1, inner, inner] > threshold))]
  result = []
  for sh, st in subjects:
    for oh, ot in objects:
      predicates = np.nonzero((head[:, sh, oh] > threshold) & (tail[:, st, ot] > threshold))[0]
      result += [((sh, st), int(p), (oh, ot)) for p in predicates]
  return result
