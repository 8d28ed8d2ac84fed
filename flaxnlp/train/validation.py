"""Reads every input a run will use before the run does any work, so a mistake costs nothing.

The task's own files (schema, labels, most vocabularies) are read when the Trainer builds the
task; this module reads the rest: the examples of each split the mode uses (the training split and
the evaluated split when training, the evaluated split for `--mode eval`), featurizes the first
example of each (which loads a vocabulary a task builds on first use) and, for a fresh training
run, reads the `config.init_checkpoint` weights. A missing file or a malformed line is a `UserError`
naming the file (and line), raised before the first compile and before anything is written.
"""
from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator

import numpy as np

from flaxnlp.errors import UserError
from flaxnlp.train import checkpointing


@contextlib.contextmanager
def user_errors(what: str) -> Iterator[None]:
  """Reports the FileNotFoundError / ValueError of `what` (reading the user's config or data,
  whose readers name the file and line) as a UserError; other exceptions are bugs and pass."""
  try:
    yield
  except UserError:
    raise
  except (FileNotFoundError, ValueError) as e:
    raise UserError(f"{what}: {e}") from e


def splits_read(trainer, mode: str) -> tuple[str, ...]:
  """The splits `mode` reads: ("train", eval split) | (eval split,) | () for "predict"."""
  return {"train": ("train", trainer.eval_split), "eval": (trainer.eval_split,)}.get(mode, ())


def check_inputs(trainer, mode: str) -> None:
  """Reads each split `mode` uses (`trainer.examples`, which keeps them for the run) and
  featurizes its first example; when training starts afresh, reads the warm-start checkpoint.
  A UserError on the first bad input."""
  for split in dict.fromkeys(splits_read(trainer, mode)):
    examples = trainer.examples(split)
    if not len(examples):  # pylint: disable=g-explicit-length-test
      raise UserError(f"the {split!r} split of task {trainer.config.task!r} has no examples")
    with user_errors(f"preparing the {split!r} examples"):
      trainer.task.featurize(examples[0], train=split == "train", rng=np.random.default_rng(0))
  path = trainer.config.init_checkpoint
  resuming = checkpointing.has_checkpoint(pathlib.Path(trainer.workdir) / "checkpoints")
  if mode == "train" and path and not resuming:
    with user_errors(f"config.init_checkpoint={path}"):
      trainer.task.pretrained_params(path)
