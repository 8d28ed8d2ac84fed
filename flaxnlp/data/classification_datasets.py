"""The classification datasets: the GoEmotions preset and your own files (task "classification").

`task_args.dataset` (splits "train", "eval" (alias "dev"), "test"):
  * "goemotions" (the preset): `data_dir` holds `train.tsv` / `dev.tsv` / `test.tsv` (text TAB
    label ids TAB comment id) and `labels.txt` (one label name per line, the line index its id).
  * "tsv" | "jsonl": your own files `task_args.files.train` / `.eval` / `.test` (test optional) in
    that format (`flaxnlp.data.formats.multilabel`: `text TAB names-or-ids[ TAB id]`, or
    `{"text", "labels": [...]}` per line). The labels, in id order, are `task_args.labels`; else
    the lines of `files.labels` (one name per line, as labels.txt); else the sorted labels of the
    training file. Either way `ClassificationTask.resolve_args` records them in
    `task_args.labels`, so the workdir's config.json keeps the classifier's labels for
    `--mode eval|predict`.
"""
from __future__ import annotations

import pathlib

import ml_collections

from flaxnlp.data import own_files
from flaxnlp.data.formats import goemotions, multilabel

PRESETS = ("goemotions",)
FILE_FORMATS = ("tsv", "jsonl")
SPLIT_FILES = {"train": "train.tsv", "eval": "dev.tsv", "test": "test.tsv"}
_READERS = {"tsv": multilabel.read_label_tsv, "jsonl": multilabel.read_label_jsonl}


def check(args: ml_collections.ConfigDict) -> None:
  """ValueError unless `task_args` name a preset with its data_dir, or a file format."""
  if args.dataset not in PRESETS + FILE_FORMATS:
    raise ValueError(f"task_args.dataset={args.dataset!r}; the preset {' | '.join(PRESETS)} or "
                     f"a file format {' | '.join(FILE_FORMATS)} with task_args.files")
  if args.dataset in PRESETS:
    if not args.data_dir:
      raise ValueError("config.task_args.data_dir is not set (folder with train.tsv, dev.tsv, "
                       "test.tsv and labels.txt)")


def _records(args: ml_collections.ConfigDict, split: str):
  path = own_files.file_path(args.dataset, args.files, split)
  return path, _READERS[args.dataset](path)


def label_names(args: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The labels in id order (module docstring), read from the data unless given (after `check`)."""
  check(args)
  if args.dataset in PRESETS:
    path = pathlib.Path(args.data_dir) / "labels.txt"
    return own_files.check_preset(args, "labels", goemotions.read_label_names(path), str(path))
  if not args.labels and args.files.labels:
    path = own_files.file_path(args.dataset, args.files, "labels", "one label name per line")
    return own_files.names_from_data(args, "labels", lambda: goemotions.read_label_names(path),
                                     "labels", sort=False)
  return own_files.names_from_data(
      args, "labels", lambda: (x for r in _records(args, "train")[1] for x in r.labels), "labels")


def read_split(args: ml_collections.ConfigDict, split: str,
               names: tuple[str, ...]) -> list[goemotions.MultiLabelExample]:
  """The examples of `split` with label ids over `names` (`label_names(args)`)."""
  split = own_files.split_name(split)
  if args.dataset in PRESETS:
    return goemotions.read_goemotions(pathlib.Path(args.data_dir) / SPLIT_FILES[split],
                                      len(names))
  path, records = _records(args, split)
  return multilabel.to_examples(path, records, names)
