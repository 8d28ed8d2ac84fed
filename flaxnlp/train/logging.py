"""Observability: metrics.jsonl + TensorBoard event files in the workdir, and a console progress bar.

Only process 0 writes files and draws the bar; the other processes get no-op writers.
"""
from __future__ import annotations

import json
import math
import pathlib
import time
from collections.abc import Mapping

import jax
import tqdm


class MetricWriter:
  """Writes `{"step", "split", **scalars}` lines to metrics.jsonl and scalars to TensorBoard."""

  def __init__(self, workdir: str | pathlib.Path, enabled: bool | None = None):
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self._jsonl = self._tb = None
    if self.enabled:
      workdir = pathlib.Path(workdir)
      workdir.mkdir(parents=True, exist_ok=True)
      self._jsonl = open(workdir / "metrics.jsonl", "a", encoding="utf-8")  # pylint: disable=consider-using-with
      try:
        import tensorboardX  # pylint: disable=import-outside-toplevel
        self._tb = tensorboardX.SummaryWriter(str(workdir / "tensorboard"))
      except ImportError:
        self._tb = None

  def write(self, step: int, split: str, scalars: Mapping[str, float]) -> None:
    """Records `scalars` of `split` ("train", "eval", ...) at `step`."""
    if not self.enabled:
      return
    scalars = {k: float(v) for k, v in scalars.items()}
    self._jsonl.write(json.dumps({"step": int(step), "split": split, **scalars}) + "\n")
    self._jsonl.flush()
    if self._tb is not None:
      for k, v in scalars.items():
        if math.isfinite(v):
          self._tb.add_scalar(f"{split}/{k}", v, int(step))

  def close(self) -> None:
    """Flushes and closes the files."""
    if self._jsonl is not None:
      self._jsonl.close()
    if self._tb is not None:
      self._tb.close()


class Progress:
  """tqdm bar over optimizer steps: step/total, ETA, steps/s (tqdm's rate), loss and tokens/s."""

  def __init__(self, total: int, initial: int, enabled: bool | None = None):
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self._bar = tqdm.tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True,
                          disable=not self.enabled)
    self._start, self._steps, self._tokens = time.perf_counter(), 0, 0

  def update(self, steps: int, tokens: int) -> None:
    """Advances the bar by `steps` steps that processed `tokens` non-padding tokens."""
    self._steps += steps
    self._tokens += tokens
    self._bar.update(steps)

  def rates(self) -> tuple[float, float]:
    """(steps/s, tokens/s) since the bar was created."""
    elapsed = max(time.perf_counter() - self._start, 1e-9)
    return self._steps / elapsed, self._tokens / elapsed

  def show(self, **values: float) -> None:
    """Sets the bar's postfix (e.g. loss=…) next to tokens/s."""
    _, tokens_per_s = self.rates()
    self._bar.set_postfix({**{k: f"{v:.4g}" for k, v in values.items()},
                           "tok/s": f"{tokens_per_s:.0f}"}, refresh=False)

  def write(self, line: str) -> None:
    """Prints `line` above the bar (process 0 only)."""
    if self.enabled:
      self._bar.write(line)

  def close(self) -> None:
    """Closes the bar."""
    self._bar.close()
