"""Sweeps: every point of an experiment × seeds, trained one after another as ordinary workdirs.

  python -m flaxnlp.sweep --config experiments/claim_adax.py:msra,holdout --root runs/adax_holdout
  python -m flaxnlp.sweep --config experiments/_tiny.py:adamw --root runs/tiny --seeds 3 \\
      --grid optimizer.learning_rate=0.01,0.05 --grid optimizer.name=adamw,lamb
  python -m flaxnlp.sweep --config ... --root runs/tiny --print-commands   # for a cluster
  python -m flaxnlp.sweep --root runs/tiny --table [--metric NAME]   # table.md, .csv, curves.png

A point is a dict of dotted config overrides, e.g. {"optimizer.name": "adax"}. An experiment file
may define `get_sweep(arg)` (the `arg` of `--config file.py:arg`, as its `get_config` gets) that
returns the list of points; without it the sweep has one point, {}. Each `--grid key=v1,v2,...`
crosses every point with the values of `key` (values are Python literals, else strings). Every
point runs with seeds 0 … N−1 (`--seeds N`, set as `config.seed`), in the workdir
`ROOT/key=value,...,seed=S` (the point's keys in order, then the seed), through
`flaxnlp.train.run` as `launch.py` would: config.json, metrics.jsonl, checkpoints.

Resuming: a run is finished when its metrics.jsonl holds the eval line of step
`train.num_steps` (the trainer always evaluates at its last step); finished runs are skipped,
unfinished ones resume from their last checkpoint, so a killed sweep goes on where it stopped. A
run whose loss or gradient turns non-finite (a learning rate too high) is recorded in its
workdir's `diverged.txt` and skipped from then on (delete the file to try it again); the sweep
goes on with the next run.

Every config is built and checked before anything runs: an unknown key names the closest valid
ones, and a workdir whose config.json differs from its run's config is refused (a different
sweep needs a different root). `--print-commands` prints one `launch.py` line per run instead
of training (a Slurm array or xmanager runs them; `--table` reads their workdirs the same way).
"""
from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import difflib
import itertools
import json
import pathlib
import runpy
import shlex
import sys
from collections.abc import Sequence
from typing import Any

import ml_collections

from flaxnlp import configs
from flaxnlp.errors import UserError
from flaxnlp.sweep_report import DIVERGED_FILE, final_eval, write_report

_LAUNCH = pathlib.Path(__file__).resolve().parents[1] / "launch.py"


@dataclasses.dataclass(frozen=True)
class Run:
  """One point × seed: its workdir name and its overrides (the point's, then "seed")."""
  name: str
  overrides: dict[str, Any]


# ---- Points and names ---------------------------------------------------------------------------
def parse_value(text: str) -> Any:
  """A `--grid` value: a Python literal (1e-3, 4, True, "(32, 64)") or else the string itself."""
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def _split_values(text: str) -> list[str]:
  """"1,(32, 64),x" → ["1", "(32, 64)", "x"]: the commas outside brackets separate values."""
  values, depth, start = [], 0, 0
  for i, char in enumerate(text):
    depth += (char in "([{") - (char in ")]}")
    if char == "," and depth == 0:
      values.append(text[start:i])
      start = i + 1
  return values + [text[start:]]


def parse_grid(items: Sequence[str]) -> list[tuple[str, list[Any]]]:
  """`["key=v1,v2", ...]` → [(key, [v1, v2]), ...] (a value may be a tuple: "(32, 64)"); a
  UserError for an item without "=" and values."""
  grid = []
  for item in items:
    key, sep, values = item.partition("=")
    if not sep or not key or not values:
      raise UserError(f"--grid {item}: expected KEY=V1,V2,... (e.g. optimizer.learning_rate="
                      f"1e-3,3e-4)")
    grid.append((key, [parse_value(v) for v in _split_values(values)]))
  return grid


def expand(points: Sequence[dict[str, Any]], grid: Sequence[tuple[str, list[Any]]],
           seeds: int) -> list[Run]:
  """Every point × every combination of the grid's values × seeds 0 … seeds−1, in that order."""
  if seeds < 1:
    raise UserError(f"--seeds {seeds}: at least one seed")
  keys = [key for key, _ in grid]
  runs = []
  for point in points or [{}]:
    for values in itertools.product(*(values for _, values in grid)):
      overrides = {**point, **dict(zip(keys, values))}
      if "seed" in overrides:
        raise UserError("a sweep point sets 'seed'; the seeds come from --seeds")
      for seed in range(seeds):
        run = {**overrides, "seed": seed}
        runs.append(Run(run_name(run), run))
  names = [run.name for run in runs]
  repeated = sorted({n for n in names if names.count(n) > 1})
  if repeated:
    raise UserError(f"the sweep lists the same run twice: {', '.join(repeated)}")
  return runs


def _format_value(value: Any) -> str:
  """A value as it appears in a workdir name and on a command line (no spaces)."""
  if isinstance(value, str):
    return value
  return repr(value).replace(" ", "")


def run_name(overrides: dict[str, Any]) -> str:
  """`key=value,...` in the order given, e.g. "optimizer.name=adax,seed=1"; "/" becomes "_"."""
  return ",".join(f"{k}={_format_value(v)}" for k, v in overrides.items()).replace("/", "_")


# ---- What experiment files use to define their sweeps -------------------------------------------
def stage_variant(arg: str | None, setups: Sequence[str]) -> tuple[str, bool]:
  """(set-up, holdout) of an experiment `arg` "SETUP" or "SETUP,holdout" (SETUP default: the
  first of `setups`); a UserError for anything else."""
  chosen = configs.variant_set(arg, (*setups, "holdout"))
  named = [s for s in setups if s in chosen]
  if len(named) > 1:
    raise UserError(f"unknown variant {arg!r}: one set-up of {' | '.join(setups)}, then "
                    f"optionally ',holdout'")
  return (named or [setups[0]])[0], "holdout" in chosen


def set_steps(config: ml_collections.ConfigDict, num_steps: int) -> None:
  """Sets `train.num_steps`, scaling the warm-up and the evaluation and checkpoint intervals with
  it (an interval of 0, "only at the end", stays 0)."""
  scale = num_steps / int(config.train.num_steps)
  config.train.num_steps = num_steps
  config.optimizer.warmup_steps = int(config.optimizer.warmup_steps * scale)
  for key in ("eval_every", "checkpoint_every"):
    config.train[key] = max(int(round(config.train[key] * scale)), 1) if config.train[key] else 0


def method_points(methods: dict[str, dict[str, Any]], key: str,
                  values: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
  """`methods[m]` (each method's fixed overrides) with `key` set to each of `values[m]`, for
  every method m in order: the points of a per-method grid. A method without values (one that
  has no such hyper-parameter) is one point, its overrides alone."""
  return [{**overrides, key: value} if value is not None else dict(overrides)
          for name, overrides in methods.items() for value in values.get(name) or [None]]


# ---- Configs ------------------------------------------------------------------------------------
def load_experiment(spec: str) -> tuple[ml_collections.ConfigDict, list[dict[str, Any]]]:
  """(get_config(arg), get_sweep(arg) or [{}]) of the experiment file `spec` = "path[:arg]"."""
  path, _, arg = spec.partition(":")
  if not pathlib.Path(path).is_file():
    raise UserError(f"--config {spec}: {path} does not exist (an experiment file, e.g. "
                    f"experiments/_tiny.py)")
  module = runpy.run_path(path)
  if "get_config" not in module:
    raise UserError(f"--config {spec}: {path} defines no get_config(arg)")
  config = module["get_config"](arg or None)
  points = module["get_sweep"](arg or None) if "get_sweep" in module else [{}]
  return config, [dict(p) for p in points]


def _leaf_keys(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
  """Every dotted key of a config's leaves (tuples are leaves)."""
  keys = []
  for key, value in config.items():
    if isinstance(value, ml_collections.ConfigDict):
      keys += _leaf_keys(value, f"{prefix}{key}.")
    else:
      keys.append(f"{prefix}{key}")
  return keys


def with_overrides(config: ml_collections.ConfigDict,
                   overrides: dict[str, Any]) -> ml_collections.ConfigDict:
  """A copy of the locked `config` with the dotted `overrides` set.

  Raises:
    UserError: a key the config lacks (naming the closest keys) or a value of the wrong type.
  """
  config = copy.deepcopy(config)
  for key, value in overrides.items():
    *parents, leaf = key.split(".")
    node = config
    for part in parents:
      node = node.get(part) if isinstance(node, ml_collections.ConfigDict) else None
    if (not isinstance(node, ml_collections.ConfigDict) or leaf not in node
        or isinstance(node[leaf], ml_collections.ConfigDict)):
      close = difflib.get_close_matches(key, _leaf_keys(config), n=3, cutoff=0.6)
      hint = f"; did you mean {' or '.join(close)}?" if close else ""
      raise UserError(f"unknown config key {key!r}{hint}")
    try:
      node[leaf] = value
    except TypeError as e:
      raise UserError(f"config key {key}={value!r}: {e}") from e
  return config


def _conflicts(saved: dict, fresh: dict, prefix: str = "") -> list[str]:
  """Dotted keys whose saved value differs from the fresh one; a field empty in `fresh` and
  filled in `saved` is not one (tasks fill some, e.g. label names, when they are built)."""
  keys = []
  for key in sorted(set(saved) | set(fresh)):
    a, b = saved.get(key), fresh.get(key)
    if isinstance(a, dict) and isinstance(b, dict):
      keys += _conflicts(a, b, f"{prefix}{key}.")
    elif a != b and b not in ("", None, [], {}):
      keys.append(f"{prefix}{key}")
  return keys


def check_workdir(workdir: pathlib.Path, config: ml_collections.ConfigDict) -> None:
  """UserError if `workdir/config.json` exists and is not `config` (see `_conflicts`)."""
  path = workdir / "config.json"
  if not path.is_file():
    return
  differ = _conflicts(json.loads(path.read_text(encoding="utf-8")),
                      json.loads(configs.to_json(config)))
  if differ:
    raise UserError(f"{workdir} was trained with another config ({', '.join(differ[:5])} "
                    f"differ); use another --root for another sweep")


# ---- Running ------------------------------------------------------------------------------------
def is_done(workdir: pathlib.Path, config: ml_collections.ConfigDict) -> bool:
  """Finished (the final eval is logged) or diverged (`DIVERGED_FILE`)."""
  return ((workdir / DIVERGED_FILE).is_file()
          or final_eval(workdir, int(config.train.num_steps)) is not None)


def launch_command(spec: str, workdir: pathlib.Path, overrides: dict[str, Any]) -> str:
  """The `launch.py` command line that trains one run."""
  args = [sys.executable, str(_LAUNCH), f"--config={spec}", f"--workdir={workdir}"]
  args += [f"--config.{k}={_format_value(v)}" for k, v in overrides.items()]
  return " ".join(shlex.quote(a) for a in args)


def run_sweep(spec: str, root: pathlib.Path, seeds: int, grid_items: Sequence[str],
              print_commands: bool = False) -> list[Run]:
  """Trains (or with `print_commands` prints the command of) every run not yet done; returns
  the runs. Every config is built and checked before the first run starts."""
  base, points = load_experiment(spec)
  runs = expand(points, parse_grid(grid_items), seeds)
  run_configs = [with_overrides(base, run.overrides) for run in runs]
  for run, config in zip(runs, run_configs):
    check_workdir(root / run.name, config)
  if print_commands:
    for run in runs:
      print(launch_command(spec, root / run.name, run.overrides))
    return runs
  from flaxnlp import train  # pylint: disable=import-outside-toplevel  (imports JAX)
  for i, (run, config) in enumerate(zip(runs, run_configs), 1):
    workdir = root / run.name
    if is_done(workdir, config):
      print(f"[{i}/{len(runs)}] {run.name}: done, skipped", flush=True)
      continue
    print(f"[{i}/{len(runs)}] {run.name}: training", flush=True)
    try:
      train.run(config, workdir)
    except FloatingPointError as e:
      workdir.mkdir(parents=True, exist_ok=True)
      (workdir / DIVERGED_FILE).write_text(f"{e}\n", encoding="utf-8")
      print(f"[{i}/{len(runs)}] {run.name}: diverged ({e})", flush=True)
  print(f"all {len(runs)} runs done; the table: python -m flaxnlp.sweep --root {root} --table")
  return runs


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="python -m flaxnlp.sweep", description=__doc__.split("\n", 1)[0],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--config", help="experiment file path[:arg] (as launch.py's --config)")
  parser.add_argument("--root", required=True, help="the sweep's folder: one workdir per run")
  parser.add_argument("--seeds", type=int, default=3, help="seeds 0 … N−1 per point (default 3)")
  parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                      help="cross every point with these values of a config key (repeatable)")
  parser.add_argument("--print-commands", action="store_true",
                      help="print one launch.py command per run instead of training")
  parser.add_argument("--table", action="store_true",
                      help="aggregate ROOT's runs: table.md, table.csv, curves.png")
  parser.add_argument("--metric", action="append", default=[],
                      help="--table: the eval metric(s) to tabulate (default: the configs' "
                           "train.best_metric, else every metric)")
  return parser


def main(argv: Sequence[str] | None = None) -> None:
  parser = _parser()
  args = parser.parse_args(argv)
  if args.table == bool(args.config):
    parser.error("give --config (to run or print a sweep) or --table (to aggregate ROOT), "
                 "not both")
  try:
    if args.table:
      print(write_report(pathlib.Path(args.root), args.metric))
    else:
      from absl import logging  # pylint: disable=import-outside-toplevel
      logging.set_verbosity(logging.WARNING)  # orbax logs several INFO lines per save
      run_sweep(args.config, pathlib.Path(args.root), args.seeds, args.grid,
                args.print_commands)
  except UserError as e:
    sys.stderr.write(f"error: {e}\n")
    sys.exit(2)


if __name__ == "__main__":
  main()
