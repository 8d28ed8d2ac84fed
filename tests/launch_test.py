"""launch.py: `file.py:arg` configs, `--config.x=` overrides, config.json, and flag errors."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _launch(*flags):
  env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
         "JAX_PLATFORMS": "cpu"}
  env.pop("JAX_NUM_CPU_DEVICES", None)
  return subprocess.run([sys.executable, str(ROOT / "launch.py"), *flags], env=env, cwd=ROOT,
                        capture_output=True, text=True, timeout=300, check=False)


def test_misspelled_key_names_the_closest_valid_key(tmp_path):
  r = _launch(f"--config={ROOT}/experiments/_tiny.py", f"--workdir={tmp_path}",
              "--config.optimizer.learnin_rate=0.1")
  assert r.returncode != 0
  assert 'Did you mean "learning_rate" instead of "learnin_rate"' in r.stderr
  assert not (tmp_path / "config.json").exists()


def test_wrongly_typed_override_is_an_error(tmp_path):
  r = _launch(f"--config={ROOT}/experiments/_tiny.py", f"--workdir={tmp_path}",
              "--config.train.num_steps=many")
  assert r.returncode != 0 and "num_steps" in r.stderr


def test_variant_and_overrides_reach_the_run(tmp_path):
  r = _launch(f"--config={ROOT}/experiments/_tiny.py:adamw", f"--workdir={tmp_path}",
              "--config.train.num_steps=2", "--config.train.eval_every=0",
              "--config.train.best_metric=")
  assert r.returncode == 0, r.stderr[-3000:]
  saved = json.loads((tmp_path / "config.json").read_text())
  assert saved["optimizer"]["name"] == "adamw" and saved["train"]["num_steps"] == 2
  assert '"steps": 2' in r.stdout
