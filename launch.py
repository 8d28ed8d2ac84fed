"""Command-line entry point: parse flags, maybe join a multi-process run, call `flaxnlp.train.run`.

This file is intentionally short; the logic lives in `flaxnlp.train`, which tests and notebooks
import directly.

  python launch.py --workdir runs/default      # experiments/ner_msra_egp.py, the default
  python launch.py --config experiments/classification_goemotions.py --workdir runs/goemotions
  python launch.py --config experiments/_tiny.py:adamw --config.train.num_steps=50 --workdir /tmp/t
  python launch.py --config ... --workdir runs/x --mode eval
  python launch.py --config ... --workdir runs/x --mode predict --input in.jsonl --output out.jsonl

Configs are locked: `--config.optimizer.learnin_rate=1` fails with "Did you mean learning_rate".

Multi-process (multi-host) runs: start one process per host with the same flags and
  FLAXNLP_COORDINATOR=host0:port  FLAXNLP_NUM_PROCESSES=N  FLAXNLP_PROCESS_ID=i
(explicit `jax.distributed.initialize`), or FLAXNLP_DISTRIBUTED=auto to let JAX detect the cluster
(TPU pods, SLURM, Kubernetes). Without these variables the run is single-process.

`--mode eval|predict` on a trained workdir takes its config from `WORKDIR/config.json` (`--config` is
then not needed and not used); `--config.*` overrides may change only how and what is evaluated
(`flaxnlp.configs.EVAL_OVERRIDABLE`), an override that would change the model or the data format is
refused. Mistakes a user can fix (a config key, a variant, a missing file, a malformed line, no
checkpoint yet, a workdir in use by another run or that cannot be written) end with one message on
stderr and exit status 2; `--debug` adds the traceback.

SIGTERM / SIGINT during training: the current step finishes, its checkpoint is written and
committed, and the process exits with status 75 (`flaxnlp.train.preemption.EXIT_STATUS`); the same
command resumes. A second signal stops at once. See docs/reliability.md.
"""
import os
import pathlib
import re
import sys
import traceback
from typing import NoReturn

from absl import app, flags, logging
import jax
from ml_collections import config_flags

from flaxnlp import configs, train
from flaxnlp.errors import UserError
from flaxnlp.train import preemption

_DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiments",
                               "ner_msra_egp.py")
# No default here: config_flags would load it at import time; `_config_argv` supplies it.
_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file (path[:arg]); default experiments/ner_msra_egp.py, "
    "or for --mode eval|predict the workdir's config.json.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints, logs and config.json go here.",
                               required=True)
_MODE = flags.DEFINE_enum("mode", "train", ["train", "eval", "predict"], "What to run.")
_INPUT = flags.DEFINE_string("input", None, "--mode predict: JSON lines, one example each.")
_OUTPUT = flags.DEFINE_string("output", None, "--mode predict: one JSON line per input.")
_DEBUG = flags.DEFINE_bool("debug", False, "Show the traceback of a user error too.")
_WORKDIR_CONFIG = pathlib.Path(__file__).resolve().parent / "flaxnlp" / "workdir_config.py"
_CONFIG_FLAG = r"^-{1,2}config(=|$)"


def _fail(error: BaseException, debug: bool) -> NoReturn:
  """Prints a user error (its traceback only with --debug) and exits with status 2."""
  if debug:
    traceback.print_exception(error)
  sys.stderr.write(f"error: {error}\n")
  sys.exit(2)


def _prescan(argv: list[str]) -> flags.FlagValues:
  """--workdir, --mode and --debug read ahead of the real parse (which needs them to pick the config)."""
  pre = flags.FlagValues()
  flags.DEFINE_string("workdir", None, "", flag_values=pre)
  flags.DEFINE_string("mode", "train", "", flag_values=pre)
  flags.DEFINE_bool("debug", False, "", flag_values=pre)
  try:
    pre(argv, known_only=True)
  except flags.Error:
    pass  # the real parse reports it
  return pre


def _config_argv(argv: list[str], workdir: str | None, mode: str) -> tuple[list[str], bool]:
  """(argv, True) with --config replaced by `WORKDIR/config.json` when eval/predict finds one,
  else (argv with the default --config if it has none, False); see the module docstring."""
  given = next((i for i, a in enumerate(argv) if re.match(_CONFIG_FLAG, a)), None)
  if mode == "train" or not workdir:
    if given is None:
      argv = argv[:1] + [f"--config={_DEFAULT_CONFIG}"] + argv[1:]
    return argv, False
  if not (pathlib.Path(workdir) / "config.json").is_file():
    if given is None:
      raise UserError(f"--mode {mode}: {workdir} has no config.json, so it was never trained; "
                      f"train it first (--mode train) or pass the training --config")
    return argv, False
  if given is not None:
    drop = 2 if argv[given].lstrip("-") == "config" else 1  # "--config PATH" or "--config=PATH"
    sys.stderr.write(f"--mode {mode}: using {workdir}/config.json, the config this workdir was "
                     f"trained with ({' '.join(argv[given:given + drop])} is not used)\n")
    argv = argv[:given] + argv[given + drop:]
  return argv[:1] + [f"--config={_WORKDIR_CONFIG}:{workdir}"] + argv[1:], True


def _config_key_error(error: BaseException, argv: list[str]) -> UserError | None:
  """An unknown `--config.x` key (ml_collections raises AttributeError/KeyError) as a UserError."""
  while error.args and isinstance(error.args[0], BaseException):  # AttributeError(KeyError(...))
    error = error.args[0]
  message = str(error.args[0]) if error.args else ""
  key = message.split("\n")[0].strip("'\"")
  overrides = [a.split("=", 1)[0].lstrip("-") for a in argv if re.match(r"^-{1,2}(no)?config\.", a)]
  bad = next((o for o in overrides if key and key in o.split(".")), None)
  if bad is None:
    return None
  hint = message.split("\n", 1)[1] if "\n" in message else ""
  return UserError(f"unknown config key --{bad}" + (f": {hint}" if hint else ""))


def _parse_flags(argv: list[str]) -> list[str]:
  """absl `flags_parser`: picks the workdir's saved config for eval/predict; flag mistakes exit 2."""
  pre = _prescan(argv)
  try:
    argv, saved = _config_argv(argv, pre.workdir, pre.mode)
    rest = flags.FLAGS(argv)
    if saved:
      configs.check_eval_overrides(configs.load_workdir_config(pre.workdir),
                                   config_flags.get_override_values(flags.FLAGS["config"]),
                                   f"{pre.workdir}/config.json")
    return rest
  except Exception as e:  # pylint: disable=broad-exception-caught
    chain, cause = [], e
    while cause is not None:
      chain.append(cause)
      cause = cause.__cause__ or cause.__context__
    user = next((c for c in reversed(chain) if isinstance(c, UserError)), None)
    if user is None and isinstance(e, (AttributeError, KeyError)):
      user = _config_key_error(e, argv)
    if user is None and isinstance(e, flags.Error):
      user = UserError(str(e))
    if user is None:
      raise
    if user not in chain:
      user.__cause__ = e  # --debug shows where it came from
    _fail(user, pre.debug)


def _maybe_initialize_distributed() -> None:
  """`jax.distributed.initialize` when the environment describes several processes."""
  coordinator = os.environ.get("FLAXNLP_COORDINATOR")
  if coordinator:
    jax.distributed.initialize(coordinator_address=coordinator,
                               num_processes=int(os.environ["FLAXNLP_NUM_PROCESSES"]),
                               process_id=int(os.environ["FLAXNLP_PROCESS_ID"]))
  elif os.environ.get("FLAXNLP_DISTRIBUTED") == "auto":
    jax.distributed.initialize()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  _maybe_initialize_distributed()
  logging.set_verbosity(logging.WARNING)  # orbax logs several INFO lines per save
  try:
    train.run(_CONFIG.value, _WORKDIR.value, _MODE.value, predict_input=_INPUT.value,
              predict_output=_OUTPUT.value)
  except UserError as e:
    _fail(e, _DEBUG.value)
  except preemption.Preempted as e:
    sys.stderr.write(f"{e}\n")
    sys.exit(preemption.EXIT_STATUS)


if __name__ == "__main__":
  app.run(main, flags_parser=_parse_flags)
