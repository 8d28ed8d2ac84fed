"""One training run per workdir: `WORKDIR/.lock` names the holder's host and PID.

Process 0 of a run creates the file atomically (`O_CREAT | O_EXCL`) and removes it when the run
ends; the other processes of a multi-process run share it (they learn process 0's outcome from a
broadcast and stop with it). A lock whose holder is a dead process of this host (a run killed by
SIGKILL or a crash) is stale: it is taken over with a warning. A lock held from another host
cannot be checked from here and is refused with the path to delete if that run is gone.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import socket
import sys
from collections.abc import Iterator

import jax
import numpy as np

from flaxnlp.errors import UserError

LOCK_NAME = ".lock"


def _alive(pid: int) -> bool:
  """Whether process `pid` of this host exists."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # exists, owned by another user
    return True
  return True


def _holder(path: pathlib.Path) -> dict | None:
  """The lock's {"host", "pid"}, or None when it is unreadable (a writer died mid-write)."""
  try:
    holder = json.loads(path.read_text(encoding="utf-8"))
    return {"host": str(holder["host"]), "pid": int(holder["pid"])}
  except (OSError, ValueError, KeyError, TypeError):
    return None


def _create(path: pathlib.Path) -> bool:
  """Creates the lock naming this process; False if it already exists."""
  try:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
  except FileExistsError:
    return False
  with os.fdopen(fd, "w", encoding="utf-8") as f:
    json.dump({"host": socket.gethostname(), "pid": os.getpid()}, f)
  return True


def acquire(workdir: pathlib.Path) -> pathlib.Path:
  """Creates `workdir/.lock` (and `workdir`); UserError if a live run holds it.

  A stale lock (its holder a dead process of this host, or unreadable) is replaced with a
  warning on stderr.
  """
  path = workdir / LOCK_NAME
  try:
    workdir.mkdir(parents=True, exist_ok=True)
    if _create(path):
      return path
  except OSError as e:
    raise UserError(f"cannot write to the workdir {workdir}: {e}") from e
  holder = _holder(path)
  if holder and holder["host"] != socket.gethostname():
    raise UserError(f"{workdir} is in use by process {holder['pid']} on host {holder['host']} "
                    f"({path}); if that run is gone, delete {path} and try again")
  if holder and _alive(holder["pid"]):
    raise UserError(f"{workdir} is in use by process {holder['pid']} on this host "
                    f"({holder['host']}); wait for it to finish or stop it first (if that "
                    f"process is not a training run, delete {path})")
  owner = f"process {holder['pid']}, which is no longer running" if holder else "an unreadable lock"
  sys.stderr.write(f"warning: taking over the stale lock {path} ({owner})\n")
  path.unlink(missing_ok=True)
  if not _create(path):  # another run took it over first
    return acquire(workdir)
  return path


@contextlib.contextmanager
def held(workdir: str | pathlib.Path) -> Iterator[None]:
  """Holds the workdir's lock for the body (one run per workdir, shared by its processes)."""
  workdir = pathlib.Path(workdir)
  error, path = None, None
  if jax.process_index() == 0:
    try:
      path = acquire(workdir)
    except UserError as e:
      error = e
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    refused = multihost_utils.broadcast_one_to_all(np.int32(error is not None))
    if error is None and int(refused):
      error = UserError(f"{workdir} is in use by another run (process 0 could not lock it)")
  if error is not None:
    raise error
  try:
    yield
  finally:
    if path is not None:
      path.unlink(missing_ok=True)
