"""A tfds array_record cache of any task's examples, read by index (and by grain), without TF.

`examples_source(examples, cache_key, split, data_dir)` builds the `TaskExamples` dataset of one
split into `data_dir` (once; later calls with the same key only open it) and returns a
random-access `Sequence` of the very example objects `examples()` returns (the trainer passes
`lambda: task.examples(split)`), decoded lazily record by record. It is a
grain source as it stands (`grain.MapDataset.source(source)`); the trainer uses it for training and
evaluation when `config.train.tfds_data_dir` is set.

Without TensorFlow, tfds builds `GeneratorBasedBuilder`s only with `file_format="array_record"` and
reads them only through `as_data_source`.

Original files (tfds' `manual_dir`): the builder reads nothing itself. `_generate_examples` calls
`examples()`, i.e. the task's own reader, so the original files are wherever the task's config says
(`config.task_args.data_dir`, or data shipped by a package), and malformed input fails with the
file:line error of the `flaxnlp.data.formats` reader.

Cache key: one builder config per key. The trainer's (`config_name`) is the task name, the split
and a hash of `config.task`, `config.seed` and `config.task_args`, `{task}-{split}-{hash10}`, e.g.
`ner-train-3f2a9c01be`; a different data dir, maxlen, example limit or seed never shares a cache.
The cache is keyed by the config, not by file contents: after editing the original files, delete
`{data_dir}/task_examples/{name}`.

Serialisation: each record is one scalar bytes Tensor feature "example" holding `pickle.dumps` of
the example. Examples are arbitrary Python objects (dataclasses, frozen dataclasses nested in
tuples, NamedTuples, plain dicts, per task), and pickle round-trips all of them exactly, types and
tuple-vs-list included, with no per-type code; a JSON encoding would need a reconstruction for
every example class and would lose that distinction. The cost: a record refers to its class by
module path, so the cache must be rebuilt when an example class changes; bump
`TaskExamples.VERSION` then (the version is part of the cache path). Like any pickle, load only
caches you built.

Records are written in generation order (`disable_shuffling=True`), so `source[i]` is
`examples()[i]`.
"""
from __future__ import annotations

import collections.abc
import hashlib
import os
import pickle
from collections.abc import Callable, Iterable
from typing import Any, Union

from etils import epath
import ml_collections
import numpy as np
import tensorflow_datasets as tfds


def config_name(config: ml_collections.ConfigDict, split: str) -> str:
  """`{config.task}-{split}-{hash10}`: the cache key of `split` of an experiment config's task.

  The hash covers `config.task`, `config.seed` (the CMRC2018 and SogouQA tasks and
  `train.holdout_fraction` draw held-out parts with it), `train.holdout_fraction` and
  `config.task_args`.
  """
  key = (f"{config.task}\n{config.seed}\n{config.train.get('holdout_fraction', 0.0)}\n"
         f"{config.task_args.to_json_best_effort(sort_keys=True)}")
  return f"{config.task}-{split}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


class TaskExamples(tfds.core.GeneratorBasedBuilder):
  """One split of a task's examples (pickled, in `examples()` order); see the module docstring."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Pickled task examples, one scalar bytes feature per record."}

  def __init__(self, *, examples: Callable[[], Iterable[Any]], cache_key: str, split: str,
               **kwargs):
    """`kwargs` go to `GeneratorBasedBuilder` (data_dir, file_format); the config is `cache_key`."""
    self._examples, self._split = examples, split
    super().__init__(config=tfds.core.BuilderConfig(name=cache_key), **kwargs)

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    """This file (tfds' default probes the `importlib_resources` backport, not installed here)."""
    return epath.Path(__file__)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description="The examples of one split of a flaxnlp task, as its reader returns them.",
        features=tfds.features.FeaturesDict({
            "example": tfds.features.Tensor(shape=(), dtype=np.object_)}),
        disable_shuffling=True)

  def _split_generators(self, dl_manager):
    del dl_manager  # `examples()` reads the original files
    return {self._split: self._generate_examples()}

  def _generate_examples(self):
    for i, example in enumerate(self._examples()):
      yield i, {"example": pickle.dumps(example, protocol=pickle.HIGHEST_PROTOCOL)}


class ExampleSource(collections.abc.Sequence):
  """Random-access examples of a `TaskExamples` data source: `len()`, `[i]` (unpickled on read)."""

  def __init__(self, records):
    self._records = records

  def __len__(self) -> int:
    return len(self._records)

  def __getitem__(self, index):
    if isinstance(index, slice):
      return [self[i] for i in range(*index.indices(len(self)))]
    index = index.__index__()
    if index < 0:
      index += len(self)
    if not 0 <= index < len(self):
      raise IndexError(f"example index {index} out of range [0, {len(self)})")
    return pickle.loads(self._records[index]["example"])

  def __iter__(self):
    return (self[i] for i in range(len(self)))


def examples_source(examples: Callable[[], Iterable[Any]], cache_key: str, split: str,
                    data_dir: Union[str, os.PathLike]) -> collections.abc.Sequence[Any]:
  """The examples `examples()` returns, through the tfds array_record cache `cache_key` in
  `data_dir`.

  Builds the cache on first use (calling `examples()`, which reads the original files); later
  calls with the same key reuse the files. Returns an `ExampleSource` whose `[i]` equals
  `examples()[i]`.
  """
  builder = TaskExamples(examples=examples, cache_key=cache_key, split=split,
                         data_dir=os.fspath(data_dir), file_format="array_record")
  builder.download_and_prepare()
  # Read through a read-only builder of the prepared folder: it pickles by path (grain workers),
  # where `builder` would pickle by its constructor arguments, `examples` included.
  return ExampleSource(tfds.builder_from_directory(builder.data_dir).as_data_source(split))
