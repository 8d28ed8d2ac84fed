"""A sweep's results: its workdirs' final evaluations as a table of mean ± sd over seeds, and
their learning curves (`python -m flaxnlp.sweep --root DIR --table`, see `flaxnlp.sweep`).

Every folder of ROOT with a config.json is one run; its point is its name less the trailing
`seed=S` (`flaxnlp.sweep.run_name`). From metrics.jsonl (one JSON object per line, "split" "train"
or "eval"; a resumed run logs again the steps after its last checkpoint, and the later line of a
step counts) the table takes the eval line of step `train.num_steps`, the final evaluation, and
the last train line's `steps_per_s` (measured since the process started, compilation included).
Mean and sample sd (n − 1) are over the finished seeds of a point; runs not finished are counted,
not averaged. The split is what the eval lines evaluated: `train.eval_split` of the config, or
"holdout" (the `train.holdout_fraction` of the training examples) when that is set.

Writes ROOT/table.md, ROOT/table.csv and ROOT/curves.png (train loss and each tabulated metric
against the step: per point the mean over its seeds, with a ± sd band, at the steps all its
seeds logged).
"""
from __future__ import annotations

import csv
import dataclasses
import difflib
import json
import math
import pathlib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from flaxnlp.errors import UserError

DIVERGED_FILE = "diverged.txt"  # written by the sweep when a run's loss turns non-finite
_SEED_SUFFIX = re.compile(r"(?:^|,)seed=\d+$")


def read_metrics(path: pathlib.Path) -> dict[tuple[str, int], dict[str, Any]]:
  """{(split, step): line} of a metrics.jsonl, the later line of a repeated (split, step) kept.

  A last line cut short (the run was killed while writing it) is ignored; any other line that
  is not a JSON object with "split" and "step" is a UserError naming file:line.
  """
  lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
  records = {}
  for lineno, line in enumerate(lines, 1):
    try:
      record = json.loads(line)
      records[(str(record["split"]), int(record["step"]))] = record
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
      if lineno < len(lines):
        raise UserError(f"{path}:{lineno}: not a metrics line ({e}): {line[:200]!r}") from e
  return records


def final_eval(workdir: pathlib.Path, num_steps: int) -> dict[str, Any] | None:
  """The eval line of step `num_steps` in `workdir/metrics.jsonl`, or None (not finished)."""
  return read_metrics(workdir / "metrics.jsonl").get(("eval", num_steps))


@dataclasses.dataclass(frozen=True)
class RunLog:
  """One run of a sweep, as its workdir records it."""
  point: str
  seed: int
  split: str        # what its eval lines evaluated
  num_steps: int
  best_metric: str  # `train.best_metric` ("" = none)
  lines: dict[tuple[str, int], dict[str, Any]]
  diverged: bool

  @property
  def final(self) -> dict[str, Any] | None:
    return self.lines.get(("eval", self.num_steps))

  @property
  def steps_per_s(self) -> float:
    """The last train line's `steps_per_s` (nan without one)."""
    steps = [step for split, step in self.lines if split == "train"]
    return float(self.lines[("train", max(steps))].get("steps_per_s", math.nan)) if steps else (
        math.nan)

  def curve(self, split: str, key: str) -> dict[int, float]:
    """{step: value} of `key` in this run's `split` lines."""
    return {step: float(r[key]) for (s, step), r in self.lines.items() if s == split and key in r}


def _split_name(train_config: dict[str, Any]) -> str:
  fraction = float(train_config.get("holdout_fraction", 0.0))
  return f"holdout ({fraction:g} of train)" if fraction else str(train_config["eval_split"])


def read_runs(root: pathlib.Path) -> list[RunLog]:
  """The runs under `root`, sorted by point then seed; a UserError if there are none."""
  if not root.is_dir():
    raise UserError(f"--root {root} does not exist")
  runs = []
  for workdir in sorted(p.parent for p in root.glob("*/config.json")):
    config = json.loads((workdir / "config.json").read_text(encoding="utf-8"))
    runs.append(RunLog(point=_SEED_SUFFIX.sub("", workdir.name) or "(default)",
                       seed=int(config["seed"]), split=_split_name(config["train"]),
                       num_steps=int(config["train"]["num_steps"]),
                       best_metric=str(config["train"].get("best_metric") or ""),
                       lines=read_metrics(workdir / "metrics.jsonl"),
                       diverged=(workdir / DIVERGED_FILE).is_file()))
  if not runs:
    raise UserError(f"{root} holds no runs (no */config.json); run the sweep first")
  return sorted(runs, key=lambda r: (r.point, r.seed))


def choose_metrics(runs: Sequence[RunLog], requested: Sequence[str]) -> list[str]:
  """`requested`, each checked against the final evaluations; by default the runs'
  `best_metric` where they all name one, else every metric of the final evaluations."""
  available = sorted({k for r in runs if r.final for k in r.final} - {"step", "split"})
  if not available:
    raise UserError("no run has finished yet (no final eval line in any metrics.jsonl)")
  for name in requested:
    if name not in available:
      close = difflib.get_close_matches(name, available, n=3)
      hint = f"did you mean {' or '.join(close)}? " if close else ""
      raise UserError(f"--metric {name}: not an eval metric of these runs; {hint}"
                      f"they report {', '.join(available)}")
  if requested:
    return list(requested)
  best = {r.best_metric for r in runs}
  return sorted(best) if "" not in best and best <= set(available) else available


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
  """(mean, sample standard deviation with n − 1); sd is nan for fewer than two values."""
  values = np.asarray(values, np.float64)
  if not len(values):
    return math.nan, math.nan
  return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else math.nan


def aggregate(runs: Sequence[RunLog], metrics: Sequence[str]) -> list[dict[str, Any]]:
  """One row per point: point, split, step, seeds (finished), unfinished, diverged,
  {metric: (mean, sd)} under "metrics", and (mean, sd) "steps_per_s"."""
  rows = []
  for point in dict.fromkeys(r.point for r in runs):
    group = [r for r in runs if r.point == point]
    done = [r for r in group if r.final]
    rows.append({
        "point": point, "split": " / ".join(dict.fromkeys(r.split for r in group)),
        "step": " / ".join(dict.fromkeys(str(r.num_steps) for r in group)),
        "seeds": len(done), "diverged": sum(r.diverged for r in group),
        "unfinished": sum(not r.final and not r.diverged for r in group),
        "metrics": {m: mean_sd([float(r.final[m]) for r in done if m in r.final])
                    for m in metrics},
        "steps_per_s": mean_sd([r.steps_per_s for r in done])})
  return rows


def _pm(mean: float, sd: float, digits: int = 4) -> str:
  if math.isnan(mean):
    return "–"
  return f"{mean:.{digits}f}" + ("" if math.isnan(sd) else f" ± {sd:.{digits}f}")


def markdown_table(rows: Sequence[dict[str, Any]], metrics: Sequence[str]) -> str:
  """The rows as a markdown table, under a sentence that names the metrics and what they are."""
  head = (f"Final evaluation (the eval line of the last training step) of {', '.join(metrics)}"
          " on the split named per row: mean ± sample sd over the finished seeds (`seeds`); "
          "steps/s includes compilation.\n\n")
  columns = ["point", "split", "step", "seeds", "unfinished", "diverged", *metrics, "steps/s"]
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  for row in rows:
    cells = [row["point"], row["split"], row["step"], row["seeds"], row["unfinished"],
             row["diverged"], *(_pm(*row["metrics"][m]) for m in metrics),
             _pm(*row["steps_per_s"], digits=2)]
    lines.append("| " + " | ".join(str(c) for c in cells) + " |")
  return head + "\n".join(lines) + "\n"


def write_csv(path: pathlib.Path, rows: Sequence[dict[str, Any]], metrics: Sequence[str]) -> None:
  """The rows as CSV: one column each for a metric's mean and sd (empty when undefined)."""
  def cell(x: float) -> str:
    return "" if math.isnan(x) else repr(x)
  with open(path, "w", encoding="utf-8", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["point", "split", "step", "seeds", "unfinished", "diverged",
                     *(f"{m}_{s}" for m in metrics for s in ("mean", "sd")),
                     "steps_per_s_mean", "steps_per_s_sd"])
    for row in rows:
      writer.writerow([row["point"], row["split"], row["step"], row["seeds"], row["unfinished"],
                       row["diverged"], *(cell(x) for m in metrics for x in row["metrics"][m]),
                       *(cell(x) for x in row["steps_per_s"])])


def mean_curve(curves: Sequence[dict[int, float]]) -> tuple[list[int], np.ndarray, np.ndarray]:
  """(steps every curve has, mean, sd (0 for one curve)) of {step: value} curves."""
  steps = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
  values = np.array([[c[s] for s in steps] for c in curves], np.float64).reshape(len(curves), -1)
  sd = values.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(len(steps))
  return steps, values.mean(axis=0), sd


def plot_curves(path: pathlib.Path, runs: Sequence[RunLog], metrics: Sequence[str]) -> None:
  """Train loss and each eval metric against the step, per point (mean over seeds ± sd band)."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=import-outside-toplevel
  panels = [("train", "loss"), *(("eval", m) for m in metrics)]
  fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
  for ax, (split, key) in zip(axes[0], panels):
    for point in dict.fromkeys(r.point for r in runs):
      curves = [c for r in runs if r.point == point for c in [r.curve(split, key)] if c]
      steps, mean, sd = mean_curve(curves)
      if steps:
        line, = ax.plot(steps, mean, marker="." if len(steps) < 30 else None, label=point)
        ax.fill_between(steps, mean - sd, mean + sd, color=line.get_color(), alpha=0.2)
    ax.set(xlabel="step", ylabel=key, title=f"{split} {key}")
    ax.grid(alpha=0.3)
  axes[0][0].legend(fontsize="x-small")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def write_report(root: pathlib.Path, requested_metrics: Sequence[str] = ()) -> str:
  """Writes ROOT/table.md, table.csv and curves.png; returns the markdown table."""
  runs = read_runs(root)
  metrics = choose_metrics(runs, requested_metrics)
  rows = aggregate(runs, metrics)
  table = markdown_table(rows, metrics)
  (root / "table.md").write_text(table, encoding="utf-8")
  write_csv(root / "table.csv", rows, metrics)
  plot_curves(root / "curves.png", runs, metrics)
  return table
