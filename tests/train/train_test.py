"""The trainer end to end on the synthetic toy task, schedules/EMA/AdamW against numpy references,
non-finite stops, and exact resume after a real SIGKILL."""
import importlib.util
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

from flaxnlp import configs
from flaxnlp.optim import ema as ema_lib, registry as optimizers, schedules
from flaxnlp.train import trainer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def tiny_config(arg=None):
  spec = importlib.util.spec_from_file_location("_tiny", ROOT / "experiments" / "_tiny.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def read_metrics(workdir):
  return [json.loads(l) for l in (pathlib.Path(workdir) / "metrics.jsonl").read_text().splitlines()]


# ---- Schedules, EMA, optimizer ---------------------------------------------------------------

def test_piecewise_linear_matches_bert4keras_semantics():
  # Hand-worked: (0,0) is prepended, interpolation between points, constant after the last.
  sched = schedules.piecewise_linear(((100, 1.0), (300, 0.2)))
  got = [float(sched(t)) for t in (0, 50, 100, 200, 300, 1000)]
  np.testing.assert_allclose(got, [0.0, 0.5, 1.0, 0.6, 0.2, 0.2], rtol=1e-6)
  sched = schedules.piecewise_linear(((0, 2.0), (10, 1.0)))
  np.testing.assert_allclose([float(sched(t)) for t in (0, 5, 99)], [2.0, 1.5, 1.0], rtol=1e-6)


def test_linear_warmup_decay_schedule():
  c = configs.base_config().optimizer
  c.learning_rate, c.warmup_steps, c.schedule = 1.0, 10, "linear"
  sched = schedules.make_schedule(c, num_steps=110)
  np.testing.assert_allclose([float(sched(t)) for t in (0, 5, 10, 60, 110)],
                             [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-6)


def test_adamw_is_bert4keras_adam_with_eps_outside_sqrt():
  c = configs.base_config().optimizer
  c.learning_rate, c.schedule, c.eps = 0.1, "constant", 1e-6
  tx, _ = optimizers.make_optimizer(c, 10)
  rng = np.random.default_rng(0)
  p = {"w": rng.normal(size=(3, 2)).astype(np.float32)}
  state = tx.init(p)
  m = v = np.zeros((3, 2))
  ref = p["w"].astype(np.float64)
  for t in range(1, 4):
    g = rng.normal(size=(3, 2)).astype(np.float32)
    updates, state = tx.update({"w": g}, state, p)
    p = optax.apply_updates(p, updates)
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    ref = ref - 0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-6)
  np.testing.assert_allclose(p["w"], ref, rtol=1e-5)


def test_ema_is_bias_corrected():
  decay, params = 0.9, [np.float32(1.0), np.float32(3.0), np.float32(2.0)]
  ema = np.float32(0.0)
  for p in params:
    ema = ema_lib.ema_update(ema, p, decay)
  # Reference: weights (1-d) d^(t-i) normalised by their sum 1 - d^t.
  w = np.array([(1 - decay) * decay ** (3 - i) for i in (1, 2, 3)])
  np.testing.assert_allclose(float(ema_lib.ema_debiased(ema, 3, decay)),
                             np.dot(w, [1.0, 3.0, 2.0]) / (1 - decay**3), rtol=1e-6)


# ---- Full loop ---------------------------------------------------------------------------------

def test_full_loop_train_eval_predict(tmp_path):
  config = tiny_config("adamw,ema")
  summary = trainer.run(config, tmp_path).summary
  assert summary["steps"] == 12 and summary["compiled_shapes"] >= 1
  assert json.loads((tmp_path / "config.json").read_text())["task"] == "toy"
  train_rows = [r for r in read_metrics(tmp_path) if r["split"] == "train"]
  assert [r["step"] for r in train_rows] == [4, 6, 8, 12]
  assert train_rows[-1]["loss"] < train_rows[0]["loss"]
  assert list((tmp_path / "tensorboard").iterdir())
  assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir()) == [8, 12]
  # --mode eval restores the best params: its metric equals the one recorded when it was saved.
  best = summary["best"]
  evaluated = trainer.run(config, tmp_path, "eval").metrics
  assert evaluated["exact_match"] == pytest.approx(best["value"])
  # --mode predict: one JSON line per input, in order.
  inputs = [{"tokens": [1, 2, 3]}, {"tokens": [30, 31, 9, 17, 5]}, {"tokens": [8]}]
  (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in inputs))
  preds = trainer.run(config, tmp_path, "predict", predict_input=str(tmp_path / "in.jsonl"),
                      predict_output=str(tmp_path / "out.jsonl")).predictions
  lines = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
  assert [l["input"] for l in lines] == inputs
  assert [l["prediction"] for l in lines] == preds and all(isinstance(p, list) for p in preds)


def test_grad_accumulation_equals_full_batch(tmp_path):
  # Dropout off: mean of 2 micro-batch gradients = the full-batch gradient (SGD, 3 steps).
  losses = []
  for arg in ("", "accum"):
    config = tiny_config(arg)
    with config.unlocked():
      config.task_args.dropout = 0.0
    tr = trainer.Trainer(config, tmp_path / arg, devices=jax.devices()[:1])
    state, data = tr._init(tr.rng), tr.train_iterator()
    run_losses = []
    for _ in range(3):
      state, m = tr.train_step(state, next(data))
      run_losses.append(float(m["loss"]))
    losses.append(run_losses)
  np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  config = tiny_config()
  with config.unlocked():
    config.optimizer.learning_rate = 1e37
    config.train.checkpoint_every = 1
    config.train.eval_every = 0
  with pytest.raises(FloatingPointError, match=r"non-finite loss or gradient at step (\d+)") as e:
    trainer.run(config, tmp_path)
  bad_step = int(e.value.args[0].split("at step ")[1].split()[0])
  mngr = ocp.CheckpointManager(tmp_path / "checkpoints")
  assert mngr.all_steps() and max(mngr.all_steps()) < bad_step
  tr = trainer.Trainer(config, tmp_path)
  state = tr.restore_or_init(checkpointing_manager(tmp_path))
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state.params))


def checkpointing_manager(workdir):
  from flaxnlp.train import checkpointing  # pylint: disable=import-outside-toplevel
  return checkpointing.manager(pathlib.Path(workdir) / "checkpoints", 2)


def test_unknown_mode_and_bad_bucket_are_errors(tmp_path):
  config = tiny_config()
  with pytest.raises(ValueError, match="unknown mode 'fit'"):
    trainer.run(config, tmp_path, "fit")
  with config.unlocked():
    config.train.buckets = (8,)
  with pytest.raises(ValueError, match="exceeds the largest bucket 8"):
    trainer.run(config, tmp_path / "b")


# ---- Exact resume after SIGKILL ------------------------------------------------------------------

def _launch(workdir, steps):
  env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
         "JAX_PLATFORMS": "cpu"}
  env.pop("JAX_NUM_CPU_DEVICES", None)
  cmd = [sys.executable, str(ROOT / "launch.py"), f"--config={ROOT}/experiments/_tiny.py:adamw,ema",
         f"--workdir={workdir}", f"--config.train.num_steps={steps}", "--config.train.log_every=1",
         "--config.train.checkpoint_every=3", "--config.train.eval_every=0"]
  return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          cwd=ROOT)


def _final_state(workdir, steps):
  config = tiny_config("adamw,ema")
  with config.unlocked():
    config.train.num_steps = steps
  tr = trainer.Trainer(config, workdir, devices=jax.devices()[:1])
  return jax.device_get(tr.restore_or_init(checkpointing_manager(workdir)))


@pytest.mark.slow
def test_sigkill_and_resume_gives_bitwise_identical_params(tmp_path):
  steps, kill_after = 120, 37
  reference = _launch(tmp_path / "ref", steps)
  out, _ = reference.communicate(timeout=120)
  assert reference.returncode == 0, out.decode()[-2000:]

  run = _launch(tmp_path / "run", steps)
  metrics = tmp_path / "run" / "metrics.jsonl"
  deadline = time.time() + 120
  while time.time() < deadline and run.poll() is None:
    if metrics.exists() and len(metrics.read_text().splitlines()) >= kill_after:
      break
    time.sleep(0.005)
  assert run.poll() is None, "the run finished before it could be killed"
  os.kill(run.pid, signal.SIGKILL)
  run.wait()
  logged = len(metrics.read_text().splitlines())
  assert kill_after <= logged < steps
  resumed = _launch(tmp_path / "run", steps)
  out, _ = resumed.communicate(timeout=120)
  assert resumed.returncode == 0, out.decode()[-2000:]
  assert "resumed from step" in out.decode()

  ref, got = _final_state(tmp_path / "ref", steps), _final_state(tmp_path / "run", steps)
  assert int(got.step) == steps
  for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(got)):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", [pytest.param("fgm", marks=pytest.mark.slow),
                                  "input_gradient_penalty",
                                  pytest.param("param_gradient_penalty", marks=pytest.mark.slow)])
def test_regularizers_plug_into_the_step(tmp_path, name):
  first_losses = {}
  for reg in ("none", name):
    config = tiny_config()
    with config.unlocked():
      config.task_args.dropout = 0.0
      config.regularizer.name = reg
      config.regularizer.embedding_path = "embed/embedding"
    tr = trainer.Trainer(config, tmp_path / reg, devices=jax.devices()[:1])
    state, metrics = tr.train_step(tr._init(tr.rng), next(tr.train_iterator()))
    first_losses[reg] = jax.device_get(metrics)
  plain, got = first_losses["none"], first_losses[name]
  assert np.isfinite(got["loss"]) and np.isfinite(got["grad_norm"])
  if name == "input_gradient_penalty":
    # Same params and batch at step 0: the unpenalised loss is the plain loss.
    np.testing.assert_allclose(got["loss_unpenalised"], plain["loss"], rtol=1e-6)
    assert got["gradient_penalty"] > 0
    np.testing.assert_allclose(got["loss"], got["loss_unpenalised"] + got["gradient_penalty"],
                               rtol=1e-6)
  else:
    assert got["loss"] != plain["loss"]  # perturbed (fgm) or penalised loss
