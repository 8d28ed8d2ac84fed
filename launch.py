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
"""
import os

from absl import app, flags, logging
import jax
from ml_collections import config_flags

from flaxnlp import train

_DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiments",
                               "ner_msra_egp.py")
_CONFIG = config_flags.DEFINE_config_file("config", _DEFAULT_CONFIG,
                                          "Experiment config file (path[:arg]).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints, logs and config.json go here.",
                               required=True)
_MODE = flags.DEFINE_enum("mode", "train", ["train", "eval", "predict"], "What to run.")
_INPUT = flags.DEFINE_string("input", None, "--mode predict: JSON lines, one example each.")
_OUTPUT = flags.DEFINE_string("output", None, "--mode predict: one JSON line per input.")


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
  train.run(_CONFIG.value, _WORKDIR.value, _MODE.value, predict_input=_INPUT.value,
            predict_output=_OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
