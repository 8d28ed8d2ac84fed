"""Never lose work (docs/reliability.md): each fault injected for real — a typo in a data path, a
failing evaluation, SIGTERM / SIGINT, a truncated checkpoint file, a second process on the
workdir, OSError(ENOSPC) from the checkpoint writer, SIGKILL at random moments — and what the
trainer must do about it."""
import errno
import json
import os
import pathlib
import random
import runpy
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import grain
import pytest

from flaxnlp.errors import UserError
from flaxnlp.train import checkpointing, preemption, trainer, workdir_lock

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = f"--config={ROOT}/experiments/_tiny.py:adamw,ema"
TINY_BERT = ["--config.model.hidden_size=32", "--config.model.num_hidden_layers=1",
             "--config.model.num_attention_heads=2", "--config.model.intermediate_size=64"]
RESUME_FLAGS = ["--config.train.log_every=1", "--config.train.checkpoint_every=3",
                "--config.train.eval_every=0"]


def tiny_config(**train):
  config = runpy.run_path(str(ROOT / "experiments" / "_tiny.py"))["get_config"]("adamw,ema")
  with config.unlocked():
    config.train.update(train)
  return config


def _env(devices=1, **extra):
  env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
         "JAX_PLATFORMS": "cpu", **extra}
  env.pop("JAX_NUM_CPU_DEVICES", None)
  return env


def _start(workdir, *flags, env=None):
  """launch.py on the tiny config in a subprocess (stdout and stderr merged, as text)."""
  cmd = [sys.executable, str(ROOT / "launch.py"), TINY, f"--workdir={workdir}", *flags]
  return subprocess.Popen(cmd, env=env or _env(), cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def _finish(proc, timeout=180):
  out, _ = proc.communicate(timeout=timeout)
  return proc.returncode, out


def _train_lines(workdir):
  path = pathlib.Path(workdir) / "metrics.jsonl"
  return path.read_text().splitlines() if path.exists() else []


def _wait_for_steps(proc, workdir, count, timeout=120):
  """Waits until `workdir` logged `count` train lines (log_every=1) while `proc` runs."""
  deadline = time.time() + timeout
  while time.time() < deadline and proc.poll() is None:
    if len(_train_lines(workdir)) >= count:
      return
    time.sleep(0.005)
  raise AssertionError(f"the run ended or stalled before step {count}: {_finish(proc)[1][-2000:]}")


def _final_state(workdir, steps):
  """The state of the newest checkpoint of a 1-device subprocess run, on the host."""
  config = tiny_config(num_steps=steps)
  tr = trainer.Trainer(config, workdir, devices=jax.devices()[:1])
  mngr = checkpointing.manager(pathlib.Path(workdir) / "checkpoints", 2)
  try:
    return jax.device_get(tr.restore_or_init(mngr))
  finally:
    mngr.close()


def _assert_bitwise_equal(a, b):
  assert int(a.step) == int(b.step)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_array_equal(x, y)


def _user_error(code, out, *expected):
  assert code == 2 and "Traceback" not in out, out[-3000:]
  errors = [line for line in out.splitlines() if line.startswith("error: ")]
  assert len(errors) == 1, out[-3000:]
  for text in expected:
    assert text in errors[0], errors[0]


# ---- 1. Inputs are read before any work ----------------------------------------------------------
def test_typo_in_the_eval_file_fails_before_training(tmp_path):
  record = {"text": "浙商银行企业信贷部", "label": {"company": {"浙商银行": [[0, 3]]}}}
  train_file = tmp_path / "train.json"
  train_file.write_text((json.dumps(record, ensure_ascii=False) + "\n") * 8, encoding="utf-8")
  typo = tmp_path / "dve.json"
  wd = tmp_path / "w"
  proc = subprocess.Popen(
      [sys.executable, str(ROOT / "launch.py"),
       f"--config={ROOT}/experiments/ner_cluener_egp.py:scratch", f"--workdir={wd}", *TINY_BERT,
       "--config.task_args.dataset=cluener", f"--config.task_args.files.train={train_file}",
       f"--config.task_args.files.eval={typo}", "--config.train.num_steps=30",
       "--config.train.checkpoint_every=30"],
      env=_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  code, out = _finish(proc)
  _user_error(code, out, str(typo), "'eval'")
  assert "compiling" not in out  # no step was built
  assert not wd.exists()


def test_typo_in_a_vocab_read_on_first_use_fails_before_training(tmp_path):
  records = [{"text": "今天很开心", "labels": ["喜悦"]}, {"text": "真烦", "labels": ["厌恶"]}]
  data = tmp_path / "train.jsonl"
  data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records) * 4,
                  encoding="utf-8")
  vocab, wd = tmp_path / "vocb.txt", tmp_path / "w"
  proc = subprocess.Popen(
      [sys.executable, str(ROOT / "launch.py"),
       f"--config={ROOT}/experiments/classification_goemotions.py:tiny", f"--workdir={wd}",
       "--config.task_args.dataset=jsonl", f"--config.task_args.files.train={data}",
       f"--config.task_args.files.eval={data}", f"--config.task_args.vocab={vocab}"],
      env=_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  code, out = _finish(proc)
  _user_error(code, out, str(vocab), "'train'")
  assert "compiling" not in out and not wd.exists()


def test_unreadable_init_checkpoint_fails_before_training(tmp_path):
  weights = tmp_path / "not-bert"
  weights.mkdir()
  wd = tmp_path / "w"
  code, out = _finish(_start(wd, f"--config.init_checkpoint={weights}"))
  _user_error(code, out, f"config.init_checkpoint={weights}", "bert_config.json")
  assert "compiling" not in out and not wd.exists()


# ---- 2. A trained step is never lost ---------------------------------------------------------------
def test_failing_evaluation_keeps_the_trained_step_and_says_how_to_evaluate(tmp_path, monkeypatch):
  config = tiny_config(num_steps=12, checkpoint_every=12, eval_every=6)
  task_class = type(trainer.Trainer(config, tmp_path / "probe").task)
  metrics = task_class.metrics

  def broken(self, predictions, examples):
    raise UserError("the metric cannot be computed")

  monkeypatch.setattr(task_class, "metrics", broken)
  with pytest.raises(UserError, match=r"the metric cannot be computed; the trained step 6 is "
                                      r"saved .* --mode eval"):
    trainer.run(config, tmp_path / "w")
  # Step 6 was not a checkpoint step, but it is saved; nothing was cleaned up.
  assert checkpointing.committed_steps(tmp_path / "w" / "checkpoints") == [6]
  assert (tmp_path / "w" / "config.json").exists()
  assert not (tmp_path / "w" / workdir_lock.LOCK_NAME).exists()
  monkeypatch.setattr(task_class, "metrics", metrics)
  assert "exact_match" in trainer.run(config, tmp_path / "w", "eval").metrics


def test_final_step_is_saved_before_the_final_evaluation(tmp_path, monkeypatch):
  config = tiny_config(num_steps=4, checkpoint_every=100, eval_every=0, best_metric="")
  events = []
  evaluate, save = trainer.Trainer.evaluate, checkpointing.save

  def spy_evaluate(self, params, split=None):
    events.append("evaluate")
    return evaluate(self, params, split)

  def spy_save(mngr, step, *args, **kwargs):
    events.append(f"save {step}")
    return save(mngr, step, *args, **kwargs)

  monkeypatch.setattr(trainer.Trainer, "evaluate", spy_evaluate)
  monkeypatch.setattr(checkpointing, "save", spy_save)
  trainer.run(config, tmp_path)
  assert events == ["save 4", "evaluate"]
  assert checkpointing.committed_steps(tmp_path / "checkpoints") == [4]


# ---- 3. Preemption -----------------------------------------------------------------------------------
def test_sigint_checkpoints_the_current_step_and_resumes_bitwise(tmp_path, monkeypatch):
  config = tiny_config(num_steps=9, checkpoint_every=4, eval_every=0, best_metric="")
  reference = trainer.Trainer(config, tmp_path / "ref")
  reference.train()

  train_step = trainer.Trainer.train_step

  def interrupted(self, state, features):
    out = train_step(self, state, features)
    if self.steps_trained == 5:  # SIGINT arrives during step 6
      os.kill(os.getpid(), signal.SIGINT)
    return out

  monkeypatch.setattr(trainer.Trainer, "train_step", interrupted)
  with pytest.raises(preemption.Preempted, match="stopped by SIGINT after step 6"):
    trainer.run(config, tmp_path / "run")
  assert checkpointing.committed_steps(tmp_path / "run" / "checkpoints") == [4, 6]
  assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
  monkeypatch.setattr(trainer.Trainer, "train_step", train_step)
  assert trainer.run(config, tmp_path / "run").summary["resumed_from"] == 6

  def final(workdir):
    tr = trainer.Trainer(config, workdir)
    mngr = checkpointing.manager(workdir / "checkpoints", 2)
    try:
      return jax.device_get(tr.restore_or_init(mngr))
    finally:
      mngr.close()

  _assert_bitwise_equal(final(tmp_path / "ref"), final(tmp_path / "run"))


def test_first_signal_is_recorded_and_a_second_one_acts_at_once():
  with preemption.StopSignals() as stop:
    assert not stop.requested()
    os.kill(os.getpid(), signal.SIGINT)
    assert stop.requested() and stop.received == "SIGINT"
    with pytest.raises(KeyboardInterrupt):
      os.kill(os.getpid(), signal.SIGINT)
  assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.slow
def test_sigterm_exits_75_and_the_same_command_resumes_bitwise(tmp_path):
  steps = ["--config.train.num_steps=40", "--config.train.log_every=1",
           "--config.train.checkpoint_every=100", "--config.train.eval_every=0"]
  reference = _start(tmp_path / "ref", *steps)
  run = _start(tmp_path / "run", *steps)
  _wait_for_steps(run, tmp_path / "run", 8)
  run.send_signal(signal.SIGTERM)
  code, out = _finish(run)
  assert code == preemption.EXIT_STATUS, out[-3000:]
  stopped = int(out.split("stopped by SIGTERM after step ")[1].split(";")[0])
  assert 8 <= stopped < 40, out[-3000:]
  assert checkpointing.committed_steps(tmp_path / "run" / "checkpoints") == [stopped]
  code, out = _finish(_start(tmp_path / "run", *steps))
  assert code == 0 and f"resumed from step {stopped}" in out, out[-3000:]
  assert _finish(reference)[0] == 0
  _assert_bitwise_equal(_final_state(tmp_path / "ref", 40), _final_state(tmp_path / "run", 40))


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_stop_at_the_same_step_when_one_gets_sigterm(tmp_path):
  port = _free_port()
  wd = tmp_path / "multi"
  procs = [_start(wd, "--config.train.num_steps=400", *RESUME_FLAGS, env=_env(
      FLAXNLP_COORDINATOR=f"127.0.0.1:{port}", FLAXNLP_NUM_PROCESSES="2",
      FLAXNLP_PROCESS_ID=str(i))) for i in range(2)]
  _wait_for_steps(procs[0], wd, 6)
  assert (wd / workdir_lock.LOCK_NAME).exists()  # one lock for the run, held by process 0
  procs[1].send_signal(signal.SIGTERM)  # only process 1 is signalled
  results = [_finish(p) for p in procs]
  assert [code for code, _ in results] == [preemption.EXIT_STATUS] * 2, results[0][1][-3000:]
  steps = {int(out.split("after step ")[1].split(";")[0]) for _, out in results}
  assert len(steps) == 1 and "stopped by SIGTERM" in results[1][1]
  assert steps.pop() == checkpointing.committed_steps(wd / "checkpoints")[-1]
  assert not (wd / workdir_lock.LOCK_NAME).exists()


# ---- 4. Unreadable checkpoints --------------------------------------------------------------------
def _train_in_subprocess(workdir, steps):
  """Checkpoints 4, 8, ... written by another process (this one's reader caches nothing)."""
  code, out = _finish(_start(workdir, f"--config.train.num_steps={steps}",
                             "--config.train.checkpoint_every=4", "--config.train.eval_every=0"))
  assert code == 0, out[-3000:]


def _truncate_largest_file(step_dir):
  largest = max((p for p in step_dir.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
  largest.write_bytes(largest.read_bytes()[:largest.stat().st_size // 2])


@pytest.mark.slow
def test_truncated_latest_checkpoint_is_skipped_for_the_one_before(tmp_path, capfd):
  _train_in_subprocess(tmp_path, 12)
  config = tiny_config(num_steps=16, checkpoint_every=4, eval_every=0)
  ckpts = tmp_path / "checkpoints"
  _truncate_largest_file(ckpts / "12")
  summary = trainer.run(config, tmp_path).summary
  assert summary["resumed_from"] == 8
  assert f"warning: checkpoint {ckpts / '12'} cannot be read" in capfd.readouterr().err
  assert (ckpts / "12.unreadable").is_dir()
  assert checkpointing.committed_steps(ckpts) == [12, 16]  # step 12 trained again, saved anew


def test_no_readable_checkpoint_is_a_clear_error(tmp_path):
  _train_in_subprocess(tmp_path, 8)
  config = tiny_config(num_steps=8, checkpoint_every=4, eval_every=0)
  for step in (4, 8):
    _truncate_largest_file(tmp_path / "checkpoints" / str(step))
  with pytest.raises(UserError, match="no checkpoint in .*checkpoints can be read"):
    trainer.run(config, tmp_path)
  assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["4.unreadable",
                                                                           "8.unreadable"]
  with pytest.raises(UserError, match="no checkpoint in .*checkpoints can be read"):
    trainer.run(config, tmp_path)  # a second attempt does not start from scratch silently


# ---- 5. One run per workdir -------------------------------------------------------------------------
_HOLD = ("import sys, time; from flaxnlp.train import workdir_lock\n"
         "with workdir_lock.held(sys.argv[1]):\n  print('locked', flush=True); time.sleep(600)\n")


def test_a_second_run_is_refused_and_a_dead_holders_lock_taken_over(tmp_path, capfd):
  config = tiny_config(num_steps=2, checkpoint_every=2, eval_every=0, best_metric="")
  holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], cwd=ROOT,
                            env=_env(), stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(UserError, match=f"in use by process {holder.pid} on this host"):
      trainer.run(config, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [workdir_lock.LOCK_NAME]
  finally:
    holder.kill()
    holder.wait()
  assert (tmp_path / workdir_lock.LOCK_NAME).exists()  # left behind by the SIGKILL
  trainer.run(config, tmp_path)
  assert f"taking over the stale lock {tmp_path / workdir_lock.LOCK_NAME} (process {holder.pid}" \
      in capfd.readouterr().err
  assert not (tmp_path / workdir_lock.LOCK_NAME).exists()


def test_lock_held_from_another_host_is_refused(tmp_path):
  (tmp_path / workdir_lock.LOCK_NAME).write_text(json.dumps({"host": "elsewhere", "pid": 1}))
  with pytest.raises(UserError, match="in use by process 1 on host elsewhere.*delete"):
    workdir_lock.acquire(tmp_path)


# ---- 7. Full disk, unwritable workdir ---------------------------------------------------------------
NO_SPACE = os.strerror(errno.ENOSPC)


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, NO_SPACE),  # Python's writers (here grain's)
    ValueError(f"RESOURCE_EXHAUSTED: Failed to write 188 bytes: {NO_SPACE} "  # tensorstore's form
               "[os_error_code='28']")])
def test_full_disk_is_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch,
                                                                      error):
  config = tiny_config(num_steps=12, checkpoint_every=4, eval_every=0, best_metric="")
  write = grain.checkpoint.CheckpointHandler.save

  def disk_full_at_step_8(self, directory, *args, **kwargs):  # in orbax's background thread
    if pathlib.Path(directory).parent.name.startswith("8."):
      raise error
    return write(self, directory, *args, **kwargs)

  monkeypatch.setattr(grain.checkpoint.CheckpointHandler, "save", disk_full_at_step_8)
  with pytest.raises(UserError, match=f"cannot write to {tmp_path}: .*{NO_SPACE}.*; the last good "
                                      r"checkpoint is step 4; free space"):
    trainer.run(config, tmp_path)
  assert checkpointing.committed_steps(tmp_path / "checkpoints") == [4]
  monkeypatch.setattr(grain.checkpoint.CheckpointHandler, "save", write)
  assert trainer.run(config, tmp_path).summary["resumed_from"] == 4


def test_only_file_system_errors_count_as_write_errors():
  assert checkpointing.is_write_error(PermissionError(errno.EACCES, "Permission denied"))
  assert checkpointing.is_write_error(ValueError("NOT_FOUND: ... [os_error_code='2']"))
  assert not checkpointing.is_write_error(ValueError("exceeds the largest bucket 8"))
  assert not checkpointing.is_write_error(KeyError("f1"))


def test_unwritable_workdir_is_a_clear_error(tmp_path):
  (tmp_path / "file").write_text("")
  code, out = _finish(_start(tmp_path / "file" / "w"))
  _user_error(code, out, "cannot write to the workdir", str(tmp_path / "file" / "w"))


# ---- Soak: SIGKILL at random moments -----------------------------------------------------------------
@pytest.mark.slow
def test_five_sigkills_at_random_moments_end_bitwise_equal(tmp_path):
  steps = ["--config.train.num_steps=60", "--config.train.log_every=1",
           "--config.train.checkpoint_every=1", "--config.train.eval_every=0"]
  reference = _start(tmp_path / "ref", *steps)
  rng, wd = random.Random(0), tmp_path / "run"
  for kill in range(5):  # checkpoint_every=1: a save is in flight most of the time
    run = _start(wd, *steps)
    _wait_for_steps(run, wd, len(_train_lines(wd)) + 1)
    if kill == 0:  # the first kill lands as soon as a save's tmp directory is seen
      while not list((wd / "checkpoints").glob("*.orbax-checkpoint-tmp*")):
        assert run.poll() is None, "the run finished before it could be killed"
    else:
      time.sleep(rng.uniform(0.0, 1.0))
    assert run.poll() is None, "the run finished before it could be killed"
    run.kill()
    run.wait()
  code, out = _finish(_start(wd, *steps))
  assert code == 0 and "resumed from step" in out, out[-3000:]
  assert _finish(reference)[0] == 0
  _assert_bitwise_equal(_final_state(tmp_path / "ref", 60), _final_state(wd, 60))
