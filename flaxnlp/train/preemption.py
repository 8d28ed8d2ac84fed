"""Graceful stop on SIGTERM / SIGINT: the trainer finishes its step, checkpoints, and exits.

A preempted job gets SIGTERM (a scheduler, `kill`) or SIGINT (Ctrl-C). Inside `StopSignals` the
first such signal only sets a flag; the handler then gives way to the previous one, so a second
signal stops the process at once. The trainer asks `requested()` after every step; with several
processes the flags are all-reduced (an any-of), so every process stops after the same step even
when only one of them was signalled.

A stopped run ends with `Preempted`; `launch.py` exits with `EXIT_STATUS` (75, `EX_TEMPFAIL` of
sysexits.h: a temporary failure, run the same command again to resume).
"""
from __future__ import annotations

import signal
import threading

import jax
import numpy as np

EXIT_STATUS = 75
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Preempted(Exception):
  """Training stopped on a signal after `step`, whose checkpoint has committed."""

  def __init__(self, step: int, signal_name: str):
    super().__init__(f"stopped by {signal_name} after step {step}; checkpoint {step} is saved; "
                     f"run the same command again to resume")
    self.step = step
    self.signal_name = signal_name


class StopSignals:
  """Context manager: records SIGTERM / SIGINT instead of dying; restores the handlers on exit.

  Off the main thread (where Python cannot install handlers) it records nothing, and the
  signals keep their previous behaviour.
  """

  def __init__(self):
    self.received: str | None = None  # name of the first signal received
    self._previous = {}

  def _handle(self, signum, frame):  # pylint: disable=unused-argument
    self.received = self.received or signal.Signals(signum).name
    signal.signal(signum, self._previous[signum])  # a second signal acts at once

  def __enter__(self) -> "StopSignals":
    if threading.current_thread() is threading.main_thread():
      self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
    return self

  def __exit__(self, *exc) -> None:
    for s, handler in self._previous.items():
      signal.signal(s, handler)

  def requested(self) -> bool:
    """Whether any process received a stop signal (a collective when there are several)."""
    local = self.received is not None
    if jax.process_count() == 1:
      return local
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    return bool(np.any(multihost_utils.process_allgather(np.int32(local))))
