"""The relation- and event-extraction datasets: presets and your own files (GPLinker tasks).

Relation extraction (`relation_extraction` task_args; splits "train", "eval" (alias "dev"), and
for your files "test"):
  * `dataset="duie"` without `files.train` (the preset): `data_dir` holds `train_data.json`,
    `dev_data.json` and the schema `all_50_schemas`.
  * `dataset="duie"` with `files.train` / `.eval` / `.test`: your DuIE-shaped JSON lines
    (`{"text", "spo_list": [{"subject", "predicate", "object"}, ...]}`, `formats.duie`). The
    predicates (one head pair each) are `task_args.predicates`; else those of `files.schema` (a
    DuIE schema: JSON lines with a "predicate", in file order); else the sorted predicates of the
    training file; `RelationExtractionTask.resolve_args` records them in `task_args.predicates`
    (the workdir's config.json).

Event extraction (`event_extraction` task_args): the DuEE shape is `dataset`:
  * without `files.train`, the preset files in `data_dir` (`PRESETS`): "duee" = `event_schema.json`
    + `dev.json`, of which `num_train` documents drawn by `split_seed` are "train" and the rest
    "eval", each in file order (only dev has labels locally; the file is ordered by event type, so
    a prefix would leave types untrained); "duee_fin" = `duee_fin_event_schema.json`,
    `duee_fin_train.json`, `duee_fin_dev.json`.
  * with `files.train` / `.eval` / `.test`: your JSON lines in that shape (`formats.duee`: "duee"
    with character offsets, "duee_fin" title + text without them) and the event schema
    `files.schema` (`{"event_type", "role_list": [{"role", "enum_items"?}]}` per line).
Either way `EventExtractionTask.resolve_args` records the schema in `task_args.event_schema` as
rows (event_type, role, *enum_items), so eval / predict need only the workdir.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Optional

import ml_collections
import numpy as np

from flaxnlp.data import own_files
from flaxnlp.data.formats import duee, duie


# ---- Relation extraction -------------------------------------------------------------------------
RE_PRESET_FILES = {"train": "train_data.json", "eval": "dev_data.json"}


def re_reads_files(args: ml_collections.ConfigDict) -> bool:
  if args.dataset != "duie":
    raise ValueError(f"task_args.dataset={args.dataset!r}; relation extraction reads 'duie' "
                     "(the preset in data_dir, or your files with task_args.files.train)")
  return own_files.reads_files(args, ("duie",), ("duie",))


def predicates(args: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The predicates in head order (module docstring), read from the data unless given."""
  if not re_reads_files(args):
    path = os.path.join(args.data_dir, "all_50_schemas")
    return own_files.check_preset(args, "predicates", duie.read_duie_schema(path), path)
  if not args.predicates and args.files.schema:
    path = own_files.file_path("duie", args.files, "schema", "a DuIE schema file")
    return own_files.names_from_data(args, "predicates", lambda: duie.read_duie_schema(path),
                                     "predicates", sort=False, source=str(path))
  return own_files.names_from_data(
      args, "predicates", lambda: (p for ex in read_re_split(args, "train") for _, p, _ in
                                   ex.triples), "predicates")


def read_re_split(args: ml_collections.ConfigDict, split: str) -> list[duie.RelationExample]:
  split = own_files.split_name(split)
  if re_reads_files(args):
    return duie.read_duie(own_files.file_path("duie", args.files, split))
  if split not in RE_PRESET_FILES:
    raise ValueError("the duie preset has no test split; use --mode predict")
  return duie.read_duie(os.path.join(args.data_dir, RE_PRESET_FILES[split]))


# ---- Event extraction ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DataFormat:
  """File layout of a preset in `task_args.data_dir`; `train_file` None: "train" / "eval" are
  `num_train` documents of `dev_file` drawn by `split_seed` / the remaining ones."""
  schema_file: str
  train_file: Optional[str]
  dev_file: str
  fin: bool  # DuEE-fin reader (title + text, enum arguments) and output (no offsets)


PRESETS = {
    "duee": DataFormat("event_schema.json", None, "dev.json", fin=False),
    "duee_fin": DataFormat("duee_fin_event_schema.json", "duee_fin_train.json",
                           "duee_fin_dev.json", fin=True),
}


def ee_shape(args: ml_collections.ConfigDict) -> str:
  """The DuEE shape "duee" | "duee_fin" of `task_args.dataset` (ValueError naming the valid ones)."""
  if args.dataset not in PRESETS:
    raise ValueError(f"unknown event_extraction task_args.dataset {args.dataset!r}; one of "
                     f"{', '.join(PRESETS)}")
  return args.dataset


def _ee_files(args) -> bool:
  return bool(args.files.train)


def event_schema_rows(args: ml_collections.ConfigDict) -> tuple[tuple[str, ...], ...]:
  """The event schema (module docstring) as rows (event_type, role, *enum_items), read from the
  schema file unless your files' `args.event_schema` gives it."""
  shape = ee_shape(args)

  def rows(path):
    schema = duee.read_event_schema(path)
    return tuple((t, r, *schema.enum_values.get((t, r), ())) for t, rs in schema.roles.items()
                 for r in rs)
  if not _ee_files(args):
    path = os.path.join(args.data_dir, PRESETS[shape].schema_file)
    return own_files.check_preset(args, "event_schema", rows(path), path)
  path = "" if args.event_schema else own_files.file_path(shape, args.files, "schema",
                                                          "the event schema file")
  return own_files.names_from_data(args, "event_schema", lambda: rows(path), "event roles",
                                   sort=False, source=str(path))


def schema_from_rows(rows) -> duee.EventSchema:
  """The `EventSchema` of rows (event_type, role, *enum_items) in schema order."""
  roles, enum_values = {}, {}
  for event_type, role, *values in rows:
    roles[event_type] = roles.get(event_type, ()) + (role,)
    if values:
      enum_values[(event_type, role)] = tuple(values)
  return duee.EventSchema(roles, enum_values)


def read_ee_split(args: ml_collections.ConfigDict, split: str,
                  schema: duee.EventSchema) -> list[duee.EventExample]:
  """The documents of `split` (module docstring); "duee_fin" enum arguments per `schema`."""
  split, shape = own_files.split_name(split), ee_shape(args)
  fin = PRESETS[shape].fin

  def read(path):
    return duee.read_duee_fin(path, schema) if fin else duee.read_duee(path)

  if _ee_files(args):
    return read(own_files.file_path(shape, args.files, split))
  f, num_train = PRESETS[shape], int(args.num_train)
  if split == "test":
    raise ValueError(f"the {shape} preset has no test split; use --mode predict")
  if f.train_file is None:
    dev = read(os.path.join(args.data_dir, f.dev_file))
    if not 0 < num_train <= len(dev):
      raise ValueError(f"task_args.num_train={num_train}: {f.dev_file} has {len(dev)} documents")
    train = set(np.random.default_rng(int(args.split_seed)).permutation(len(dev))[:num_train])
    return [ex for i, ex in enumerate(dev) if (i in train) == (split == "train")]
  return read(os.path.join(args.data_dir, f.train_file if split == "train" else f.dev_file))
