"""grain input pipelines: seeded per-epoch shuffling, per-record random featurisation, per-process
shards of each global batch, and sequence-length buckets.

Training stream (identical on every process, so 1 and N processes see the same global batches):

  examples ─shuffle(seed, reshuffled every epoch)─▶ repeat ─random_map(featurize)─▶
  batch(G·B / P) ─[p::P]─▶ sort by length, split into G batches, shuffle them ─▶ flatten
  ─▶ this process's rows of each global batch of B

Length grouping (G = `group_batches` > 1) puts examples of similar length in the same batch, so
the padding that a batch of mixed lengths wastes (about half the positions on MSRA with G = 1)
mostly disappears; the batches of a window leave in random order. G = 1 is plain batching.

`random_map` derives one `np.random.Generator` per record from (seed, global record index), so
random featurisation (e.g. sampling) differs per epoch and is reproducible after a resume. The
iterator is a grain `DatasetIterator`, whose state is saved inside the orbax checkpoint.

Batches leave the pipeline as lists of unpadded features; the trainer pads them with
`task.collate` to `bucket_length` of the longest sequence in the *global* batch, so a handful of
compiled shapes serve the whole dataset.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grain
import numpy as np

Features = dict[str, np.ndarray]


def bucket_length(length: int, buckets: Sequence[int]) -> int:
  """The smallest bucket ≥ `length`; a ValueError when `length` exceeds the largest bucket."""
  buckets = sorted(buckets)
  i = bisect.bisect_left(buckets, length)
  if i == len(buckets):
    raise ValueError(f"sequence of {length} tokens exceeds the largest bucket {buckets[-1]}; "
                     "truncate it in the task (maxlen) or add a larger bucket to config.train.buckets")
  return buckets[i]


def feature_length(features: Features) -> int:
  """Length of one featurised example (its "token_ids")."""
  return int(np.shape(features["token_ids"])[-1])


class _Flatten(grain.experimental.FlatMapTransform):
  """Yields the batches of a window one by one (grain checkpoints the position inside it)."""

  def __init__(self, fan_out: int):
    self.max_fan_out = fan_out

  def flat_map(self, element):
    return element


def group_by_length(window: Sequence[Features], rng: np.random.Generator,
                    batch_size: int) -> list[list[Features]]:
  """Splits `window` (a multiple of `batch_size` examples) into batches of similar lengths.

  The examples are sorted by length (stable, so ties keep their shuffled order), cut into
  consecutive batches, and the batches are returned in an order drawn from `rng`.
  """
  order = sorted(range(len(window)), key=lambda i: feature_length(window[i]))
  batches = [[window[i] for i in order[k:k + batch_size]]
             for k in range(0, len(order), batch_size)]
  return [batches[i] for i in rng.permutation(len(batches))]


def train_stream(examples: Sequence[Any],
                 featurize: Callable[[Any, np.random.Generator], Features], *,
                 global_batch_size: int, seed: int, process_index: int = 0,
                 process_count: int = 1, workers: int = 0,
                 group_batches: int = 1) -> grain.DatasetIterator:
  """Endless, checkpointable iterator over this process's rows of each global training batch.

  Args:
    examples: all training examples (the same list on every process).
    featurize: `(example, rng) -> features` (unpadded numpy arrays).
    global_batch_size: B; must be a multiple of `process_count`.
    seed: shuffling and featurisation seed.
    process_index, process_count: this process and the number of processes P.
    workers: grain worker processes (0 = featurise in threads of this process).
    group_batches: G, the number of batches whose examples are grouped by length (1 = off).
  Returns:
    an iterator yielding lists of B / P feature dicts.
  """
  if not examples:
    raise ValueError("the training split is empty")
  if global_batch_size % process_count:
    raise ValueError(f"global batch size {global_batch_size} is not divisible by "
                     f"{process_count} processes")
  if group_batches < 1:
    raise ValueError(f"group_batches must be >= 1, got {group_batches}")
  local = global_batch_size // process_count
  ds = (grain.MapDataset.source(examples).seed(seed).shuffle().repeat()
        .random_map(featurize, seed=seed)
        .batch(local * group_batches, drop_remainder=True, batch_fn=list)
        [process_index::process_count])
  if group_batches > 1:
    ds = ds.random_map(lambda window, rng: group_by_length(window, rng, local), seed=seed + 1)
  it = ds.to_iter_dataset(grain.ReadOptions(num_threads=2, prefetch_buffer_size=4))
  if group_batches > 1:
    it = grain.experimental.FlatMapIterDataset(it, _Flatten(group_batches))
  if workers:
    it = it.mp_prefetch(grain.multiprocessing.MultiprocessingOptions(num_workers=workers))
  return iter(it)


def eval_batches(features: Sequence[Features], *, global_batch_size: int,
                 buckets: Sequence[int]) -> Iterator[tuple[list[int], int, int]]:
  """Fixed-order evaluation batches over already featurised examples (the same on every process).

  Yields `(rows, length, num_real)`: the example indices of a global batch of exactly
  `global_batch_size` rows (the last batch repeats its last example), its bucketed padded length,
  and how many leading rows are real.
  """
  for start in range(0, len(features), global_batch_size):
    rows = list(range(start, min(start + global_batch_size, len(features))))
    num_real = len(rows)
    rows += [rows[-1]] * (global_batch_size - num_real)
    yield rows, bucket_length(max(feature_length(features[i]) for i in rows), buckets), num_real
