"""tfds dataset builders (array_record, manual_dir): prepare a dataset once, read it by index.

Without TensorFlow, tfds can build `GeneratorBasedBuilder`s only with
`file_format="array_record"` and read them only through `as_data_source` (random access), which
grain consumes directly (`grain.MapDataset.source(source)`); see JAX_STACK.md §3.1. The original
files are read by the `flaxnlp.data.formats` readers, so malformed input fails with file:line.

  source = builders.prepare(builders.GoEmotions, data_dir="~/tfds", manual_dir=goemotions_dir)
  source["train"][0]  # {"text": b"...", "labels": array([27], int32), "id": b"eebbqej"}
"""
from __future__ import annotations

import os
import pathlib
from typing import Union

from etils import epath
import numpy as np
import tensorflow_datasets as tfds

from flaxnlp.data.formats import goemotions


class GoEmotions(tfds.core.GeneratorBasedBuilder):
  """GoEmotions (28 emotion labels, multi-label) from the original TSV files in `manual_dir`."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "GoEmotions train/dev/test TSV files as released."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = ("Place train.tsv, dev.tsv, test.tsv and labels.txt of GoEmotions "
                                  "(google-research/goemotions data/) in the manual dir.")
  SPLITS = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    """This file (tfds' default probes the `importlib_resources` backport, not installed here)."""
    return epath.Path(__file__)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description="Reddit comments labelled with 28 emotions (Demszky et al., ACL 2020).",
        features=tfds.features.FeaturesDict({
            "text": tfds.features.Text(),
            "labels": tfds.features.Tensor(shape=(None,), dtype=np.int32),
            "id": tfds.features.Text()}),
        homepage="https://github.com/google-research/google-research/tree/master/goemotions")

  def _split_generators(self, dl_manager):
    manual = pathlib.Path(dl_manager.manual_dir)
    num_labels = len(goemotions.read_label_names(manual / "labels.txt"))
    return {split: self._generate_examples(manual / name, num_labels)
            for split, name in self.SPLITS.items()}

  def _generate_examples(self, path, num_labels):
    for i, ex in enumerate(goemotions.read_goemotions(path, num_labels)):
      yield i, {"text": ex.text, "labels": np.asarray(ex.labels, np.int32), "id": ex.id or ""}


def prepare(builder_cls: type[tfds.core.GeneratorBasedBuilder],
            data_dir: Union[str, os.PathLike], manual_dir: Union[str, os.PathLike]
            ) -> dict[str, object]:
  """Builds `builder_cls` into `data_dir` (array_record; once) and returns its random-access
  data sources per split (each supports `len()` and `[i]`, usable as a grain source)."""
  builder = builder_cls(data_dir=os.fspath(data_dir), file_format="array_record")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=os.fspath(manual_dir)))
  return {split: builder.as_data_source(split) for split in builder.info.splits}
