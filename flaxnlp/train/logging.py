"""Observability: metrics.jsonl + TensorBoard event files in the workdir, and a console progress bar.

Only process 0 writes files and draws the bar; the other processes get no-op writers. When the
console is not a terminal (a log file, a cluster job), the bar gives way to one plain line per
`show` call (the trainer calls it every `config.train.log_every` steps).
"""
from __future__ import annotations

import json
import math
import pathlib
import sys
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
  """tqdm bar over optimizer steps: step/total, ETA, steps/s (tqdm's rate), loss and tokens/s.

  `interactive` (default: stdout and stderr are terminals) False: no bar; `show` prints one line
  `step S/T (P%) k=v ... steps/s=… tok/s=… eta=…` instead.
  """

  def __init__(self, total: int, initial: int, enabled: bool | None = None,
               interactive: bool | None = None):
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.interactive = (sys.stdout.isatty() and sys.stderr.isatty() if interactive is None
                        else interactive)
    self._bar = tqdm.tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True,
                          disable=not (self.enabled and self.interactive))
    self._total, self._initial = total, initial
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
    """Sets the bar's postfix (e.g. loss=…) next to tokens/s; without a terminal, prints a line."""
    steps_per_s, tokens_per_s = self.rates()
    shown = {k: f"{v:.4g}" for k, v in values.items()}
    if self.interactive:
      self._bar.set_postfix({**shown, "tok/s": f"{tokens_per_s:.0f}"}, refresh=False)
      return
    step = self._initial + self._steps
    eta = (self._total - step) / steps_per_s if steps_per_s > 0 else 0.0
    self.write(f"step {step}/{self._total} ({100 * step / max(self._total, 1):.0f}%) "
               + "".join(f"{k}={v} " for k, v in shown.items())
               + f"steps/s={steps_per_s:.3g} tok/s={tokens_per_s:.0f} "
               f"eta={tqdm.tqdm.format_interval(eta)}")

  def write(self, line: str) -> None:
    """Prints `line` above the bar (process 0 only)."""
    if self.enabled:
      self._bar.write(line)

  def close(self) -> None:
    """Closes the bar."""
    self._bar.close()
