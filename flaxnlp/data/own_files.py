"""The user's own data files, the conventions every task shares (issue 14).

A task's dataset is a named preset (its files in `task_args.data_dir`) or a description in the
config: a file format in `task_args.dataset` and the files of each split in `task_args.files`
(`train`, `eval`, optionally `test`, plus what the format needs, e.g. `schema`). A format that is
also a preset name (NER "cluener") reads the user's files when `files.train` is set.

Label sets (NER entity types, classification labels, RE predicates, EE roles) that the config does
not give come from the data (`names_from_data`); the task's `resolve_args` records them in its
arguments, so the workdir's config.json keeps the heads for `--mode eval|predict`.
"""
from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable
from typing import Any

import ml_collections

SPLITS = ("train", "eval", "test")


def split_name(split: str) -> str:
  """`split` with "dev" read as "eval"; ValueError for anything but train | eval | test."""
  split = {"dev": "eval"}.get(split, split)
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; valid: train | eval (dev) | test")
  return split


def reads_files(args: ml_collections.ConfigDict, presets: Iterable[str],
                file_formats: Iterable[str]) -> bool:
  """Whether `task_args` describe the user's files: a file format that is no preset, or one that
  is a preset too with `files.train` set (else the preset)."""
  return args.dataset in tuple(file_formats) and (
      args.dataset not in tuple(presets) or ("files" in args and bool(args.files.train)))


def file_path(file_format: str, files: ml_collections.ConfigDict | None, key: str,
              what: str = "") -> pathlib.Path:
  """The existing file `task_args.files[key]` of `file_format`.

  Raises:
    ValueError: the field is not set (the message names the flag that sets it).
    FileNotFoundError: the file does not exist (the message names its path and the field).
  """
  path = files[key] if files is not None and key in files else ""
  what = what or f"the {key} split"
  if not path:
    raise ValueError(f"task_args.dataset={file_format!r} reads your own files: set "
                     f"--config.task_args.files.{key}=PATH ({what})")
  if not pathlib.Path(path).is_file():
    raise FileNotFoundError(f"{file_format} {key} file {path} not found "
                            f"(--config.task_args.files.{key})")
  return pathlib.Path(path)


def names_from_data(args: ml_collections.ConfigDict, field: str,
                    collect: Callable[[], Iterable[Any]], what: str, *, sort: bool = True,
                    source: str = "") -> tuple:
  """`task_args[field]` when set, else the distinct `collect()` (sorted, or in their first-seen
  order with `sort=False`, e.g. a schema file's). `args` is not changed.

  Args:
    args: the task's `config.task_args`.
    field: e.g. "types", "labels", "predicates".
    collect: the names found in the data (e.g. every label of the training file).
    what: the names in words for the error, e.g. "entity types".
    sort: sort the names (else keep their first-seen order).
    source: the file they come from, for the error ("" = `files.train`).

  Raises:
    ValueError: nothing given and the data holds no name.
  """
  if args[field]:
    return tuple(args[field])
  names = tuple(dict.fromkeys(collect()))
  names = tuple(sorted(names)) if sort else names
  if not names:
    raise ValueError(f"{source or args.files.train} holds no {what}, so there is no {what} "
                     f"to learn (set task_args.{field} or add labelled examples)")
  return names


def check_preset(args: ml_collections.ConfigDict, field: str, names: tuple, source: str) -> tuple:
  """`names`, a preset's label set read from `source`, unless `task_args[field]` is set to other
  names (ValueError: a preset's labels come from its files; only your files' may be set)."""
  if args[field] and tuple(args[field]) != tuple(names):
    raise ValueError(f"task_args.{field}={tuple(args[field])} but {source} gives {tuple(names)}; "
                     f"{field} can be set for task_args.files only")
  return tuple(names)


def check_known(found: Iterable[Any], known: Iterable[Any], what: str, where: str) -> None:
  """ValueError naming the `found` names (e.g. a split's predicates) that are not `known`."""
  known = set(known)
  unknown = set(found) - known
  if unknown:
    raise ValueError(f"{where}: {what} {sorted(unknown)[:10]} are not among the "
                     f"{len(known)} the model was built for (task_args / files.schema)")
