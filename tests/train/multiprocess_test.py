"""Two JAX processes on 127.0.0.1 (jax.distributed.initialize via launch.py's environment
variables, gloo collectives) train to the same losses as one process with two devices."""
import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FLAGS = ["--config.train.num_steps=6", "--config.train.log_every=1",
         "--config.train.eval_every=6", "--config.train.checkpoint_every=3"]


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _launch(workdir, devices, extra_env=None):
  env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
         "JAX_PLATFORMS": "cpu", **(extra_env or {})}
  env.pop("JAX_NUM_CPU_DEVICES", None)
  cmd = [sys.executable, str(ROOT / "launch.py"), f"--config={ROOT}/experiments/_tiny.py",
         f"--workdir={workdir}", *FLAGS]
  return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _metrics(workdir):
  rows = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  return ([r["loss"] for r in rows if r["split"] == "train"],
          [r["exact_match"] for r in rows if r["split"] == "eval"])


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path):
  single = _launch(tmp_path / "single", devices=2)
  out, _ = single.communicate(timeout=180)
  assert single.returncode == 0, out.decode()[-3000:]

  port = _free_port()
  procs = [_launch(tmp_path / "multi", devices=1, extra_env={
      "FLAXNLP_COORDINATOR": f"127.0.0.1:{port}", "FLAXNLP_NUM_PROCESSES": "2",
      "FLAXNLP_PROCESS_ID": str(i)}) for i in range(2)]
  for p in procs:
    out, _ = p.communicate(timeout=180)
    assert p.returncode == 0, out.decode()[-3000:]

  single_losses, single_eval = _metrics(tmp_path / "single")
  multi_losses, multi_eval = _metrics(tmp_path / "multi")
  assert len(single_losses) == 6
  np.testing.assert_allclose(multi_losses, single_losses, rtol=1e-5)
  assert multi_eval == single_eval
  assert sorted(p.name for p in (tmp_path / "multi" / "checkpoints").iterdir()) == ["3", "6"]
