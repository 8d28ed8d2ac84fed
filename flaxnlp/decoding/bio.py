"""BIO tagging of flat entities for the CRF head of the NER task (bert4keras's NER CRF example).

Tag layout for T entity types (in the dataset's type order): 0 = O, 2a + 1 = B-type_a,
2a + 2 = I-type_a, K = 2T + 1 tags. Positions are token positions of `[CLS] text [SEP]`; the CRF
tags only the text tokens (`text_mask`), so [CLS], [SEP] and padding are masked and read as O.

  * `spans_to_tags`: token spans (type a, i, j), inclusive → one int32 tag row (training labels).
  * `tags_to_spans`: tag rows → token spans; B-x starts an entity, the I-x right after it extend
    it, anything else ends it; a stray I-x (impossible under `constraints`) is dropped.
  * `bio_allowed_transitions`: the Viterbi constraints of any BIO tag set (I-x only after B-x /
    I-x, and never first); `constraints`: those of this layout.
"""
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from flaxnlp.data.spans import first_overlap


def bio_allowed_transitions(tags: Sequence[str]
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Constraints of a BIO tag set: (allowed [K, K], start_allowed [K], end_allowed [K]), bool.

  `tags` are "O", "B-<type>" or "I-<type>" in any order. I-x may follow only B-x or I-x, and may
  not start a path; everything else is allowed, and every tag may end a path.

  >>> allowed, start, end = bio_allowed_transitions(["O", "B-LOC", "I-LOC"])
  >>> allowed.astype(int).tolist(), start.tolist()
  ([[1, 1, 0], [1, 1, 1], [1, 1, 1]], [True, True, False])

  Raises:
    ValueError: a tag is not "O", "B-x" or "I-x".
  """
  parsed = []
  for tag in tags:
    if tag == "O":
      parsed.append(("O", None))
    elif tag[:2] in ("B-", "I-") and len(tag) > 2:
      parsed.append((tag[0], tag[2:]))
    else:
      raise ValueError(f"BIO tag {tag!r} is not 'O', 'B-<type>' or 'I-<type>'")
  num_tags = len(parsed)
  allowed = np.ones((num_tags, num_tags), bool)
  for j, (kind, name) in enumerate(parsed):
    if kind == "I":
      allowed[:, j] = [k in ("B", "I") and n == name for k, n in parsed]
  start = np.array([kind != "I" for kind, _ in parsed])
  return allowed, start, np.ones(num_tags, bool)


def tag_names(types: Sequence[str]) -> list[str]:
  """["O", "B-t0", "I-t0", "B-t1", ...], the name of every tag id."""
  return ["O"] + [f"{prefix}-{t}" for t in types for prefix in ("B", "I")]


def constraints(num_types: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(allowed [K, K], start_allowed [K], end_allowed [K]) bool BIO constraints of the layout."""
  return bio_allowed_transitions(tag_names([str(a) for a in range(num_types)]))


def text_mask(token_ids: jax.Array) -> jax.Array:
  """bool [B, N]: the text tokens of `[CLS] text [SEP]` rows padded with id 0 (right padding)."""
  real = token_ids != 0
  positions = jnp.arange(token_ids.shape[1])[None, :]
  return real & (positions > 0) & (positions < real.sum(axis=1, keepdims=True) - 1)


def spans_to_tags(spans: np.ndarray, length: int) -> np.ndarray:
  """int32 [length] BIO tags of int [M, 3] rows (type a, i, j), inclusive token spans.

  Raises:
    ValueError: two spans overlap (BIO cannot express nested entities).
  """
  tags = np.zeros(length, np.int32)
  overlap = first_overlap((int(i), int(j), int(a)) for a, i, j in spans)
  if overlap is not None:
    raise ValueError(f"token spans {overlap[0]} and {overlap[1]} (i, j, type) overlap: BIO "
                     "tagging needs flat entities")
  for a, i, j in spans:
    tags[i] = 2 * a + 1
    tags[i + 1:j + 1] = 2 * a + 2
  return tags


def tags_to_spans(tags: np.ndarray) -> list[set[tuple[int, int, int]]]:
  """Token spans {(type a, i, j)} of every row of int [B, N] BIO tags (see the module docstring)."""
  result = []
  for row in np.asarray(tags):
    spans, current = set(), None            # current = [type, start, end] of the open entity
    for t, tag in enumerate(row.tolist()):
      if current is not None and tag == 2 * current[0] + 2:
        current[2] = t
        continue
      if current is not None:
        spans.add(tuple(current))
        current = None
      if tag % 2 == 1:
        current = [(tag - 1) // 2, t, t]
    if current is not None:
      spans.add(tuple(current))
    result.append(spans)
  return result
