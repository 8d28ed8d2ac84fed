"""A held-out part of the training examples, for choosing settings without the evaluation split.

`config.train.holdout_fraction` > 0 makes the trainer train on `split(...)[0]` and evaluate on
`split(...)[1]` (the "holdout" split) instead of `config.train.eval_split`: learning rates,
step counts or data set-ups are then chosen without ever decoding an evaluation example.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np


def split(examples: Sequence[Any], fraction: float, seed: int,
          group: Callable[[Any], Hashable] | None = None) -> tuple[list[Any], list[Any]]:
  """(kept, held_out): `round(fraction * G)` of the G groups of `examples` drawn by `seed`.

  Examples with the same `group(example)` (e.g. questions on one article) land on the same side,
  so the held-out part shares no group with the kept part; `group=None` makes every example its
  own group. Both parts keep the input order. ValueError unless 0 < fraction < 1 leaves at least
  one group on each side.
  """
  keys = [group(ex) if group else i for i, ex in enumerate(examples)]
  groups = list(dict.fromkeys(keys))  # first-appearance order, so the draw is reproducible
  n_held = int(round(len(groups) * fraction))
  if not 0 < fraction < 1 or not 0 < n_held < len(groups):
    raise ValueError(f"train.holdout_fraction {fraction} of {len(groups)} training groups must "
                     "leave at least one group on each side")
  held = {groups[i] for i in np.random.default_rng(seed).permutation(len(groups))[:n_held]}
  kept = [ex for ex, key in zip(examples, keys) if key not in held]
  return kept, [ex for ex, key in zip(examples, keys) if key in held]
