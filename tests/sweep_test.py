"""flaxnlp.sweep and flaxnlp.sweep_report: points × grid × seeds, workdir names, skipping finished
runs (a real tiny run), resuming, divergence, `--print-commands` (run through launch.py), the
table's mean ± sd against values worked by hand, and bad input (one message, exit status 2)."""
import json
import math
import os
import pathlib
import runpy
import shlex
import subprocess
import sys

import pytest

from flaxnlp import configs, sweep, sweep_report
from flaxnlp.errors import UserError

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = str(ROOT / "experiments" / "_tiny.py")


def _tiny_config(**overrides):
  return sweep.with_overrides(runpy.run_path(TINY)["get_config"]("adamw"), overrides)


@pytest.fixture(name="calls")
def _fake_training(monkeypatch):
  """Replaces `flaxnlp.train.run` with a recorder; returns the list of workdir names it got."""
  from flaxnlp import train  # pylint: disable=import-outside-toplevel
  calls = []
  monkeypatch.setattr(train, "run", lambda config, workdir: calls.append(workdir.name))
  return calls


# ---- Points, names, overrides -----------------------------------------------------------------
def test_points_cross_the_grid_then_the_seeds_in_order():
  runs = sweep.expand([{"optimizer.name": "adamw"}, {"optimizer.name": "adax",
                                                     "optimizer.b2": 1e-4}],
                      sweep.parse_grid(["optimizer.learning_rate=1e-3,3e-4"]), seeds=2)
  assert [r.name for r in runs] == [
      f"{point},optimizer.learning_rate={lr},seed={seed}"
      for point in ("optimizer.name=adamw", "optimizer.name=adax,optimizer.b2=0.0001")
      for lr in ("0.001", "0.0003") for seed in (0, 1)]
  assert runs[5].overrides == {"optimizer.name": "adax", "optimizer.b2": 1e-4,
                               "optimizer.learning_rate": 1e-3, "seed": 1}
  assert [r.name for r in sweep.expand([], [], seeds=3)] == ["seed=0", "seed=1", "seed=2"]


def test_grid_values_are_literals_or_strings():
  assert sweep.parse_grid(["a=1e-3,4,True,adax,(32, 64)"]) == [
      ("a", [0.001, 4, True, "adax", (32, 64)])]
  assert sweep.run_name({"train.buckets": (32, 64), "task_args.data_dir": "/d/x"}) == (
      "train.buckets=(32,64),task_args.data_dir=_d_x")


@pytest.mark.parametrize("points,grid,seeds,message", [
    ([{"seed": 1}], [], 1, "seeds come from --seeds"),
    ([{}], ["seed=1,2"], 1, "seeds come from --seeds"),
    ([{"a": 1}, {"a": 1}], [], 1, "same run twice"),
    ([{}], [], 0, "at least one seed"),
    ([{}], ["optimizer.learning_rate"], 1, "expected KEY=V1,V2"),
])
def test_bad_sweeps_are_refused(points, grid, seeds, message):
  with pytest.raises(UserError, match=message):
    sweep.expand(points, sweep.parse_grid(grid), seeds)


def test_overrides_name_the_closest_keys_and_check_types():
  c = _tiny_config(**{"optimizer.learning_rate": 2, "seed": 3})
  assert (c.optimizer.learning_rate, c.seed, c.is_locked) == (2.0, 3, True)
  assert _tiny_config().optimizer.learning_rate == 0.05  # the base config is not changed
  with pytest.raises(UserError, match="did you mean optimizer.learning_rate"):
    _tiny_config(**{"optimizer.learnin_rate": 1.0})
  with pytest.raises(UserError, match="unknown config key 'optimizer'"):
    _tiny_config(optimizer=1.0)  # a subtree, not a value
  with pytest.raises(UserError, match="unknown config key 'seed.x'"):
    _tiny_config(**{"seed.x": 1})
  with pytest.raises(UserError, match="optimizer.learning_rate='fast'"):
    _tiny_config(**{"optimizer.learning_rate": "fast"})


# ---- Running, skipping, resuming ----------------------------------------------------------------
def test_a_real_tiny_sweep_skips_what_is_finished_and_resumes_the_rest(tmp_path, monkeypatch):
  root = tmp_path / "sweep"
  sweep.run_sweep(f"{TINY}:adamw", root, seeds=1, grid_items=["train.num_steps=4"])
  workdir = root / "train.num_steps=4,seed=0"
  final = sweep_report.final_eval(workdir, 4)
  assert final["split"] == "eval" and 0.0 <= final["exact_match"] <= 1.0
  assert json.loads((workdir / "config.json").read_text())["train"]["num_steps"] == 4

  from flaxnlp import train  # pylint: disable=import-outside-toplevel
  calls = []
  monkeypatch.setattr(train, "run", lambda config, wd: calls.append((wd.name, config.seed)))
  sweep.run_sweep(f"{TINY}:adamw", root, seeds=2, grid_items=["train.num_steps=4"])
  assert calls == [("train.num_steps=4,seed=1", 1)]  # seed 0 is finished

  # Killed before its final evaluation was logged (the last line cut short): it runs again.
  lines = (workdir / "metrics.jsonl").read_text().splitlines()
  kept = [l for l in lines if json.loads(l) != final]
  (workdir / "metrics.jsonl").write_text("\n".join(kept) + '\n{"step": 4, "spl')
  assert sweep_report.final_eval(workdir, 4) is None
  calls.clear()
  sweep.run_sweep(f"{TINY}:adamw", root, seeds=1, grid_items=["train.num_steps=4"])
  assert calls == [("train.num_steps=4,seed=0", 0)]


def test_a_diverged_run_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
  from flaxnlp import train  # pylint: disable=import-outside-toplevel
  calls = []

  def fake_run(config, workdir):
    calls.append(workdir.name)
    if config.seed == 0:
      workdir.mkdir(parents=True)
      raise FloatingPointError("non-finite loss or gradient at step 3")
  monkeypatch.setattr(train, "run", fake_run)
  sweep.run_sweep(f"{TINY}:adamw", tmp_path, seeds=2, grid_items=[])
  assert calls == ["seed=0", "seed=1"]
  assert "step 3" in (tmp_path / "seed=0" / sweep_report.DIVERGED_FILE).read_text()
  calls.clear()
  sweep.run_sweep(f"{TINY}:adamw", tmp_path, seeds=2, grid_items=[])
  assert calls == ["seed=1"]  # the fake never finishes seed 1; seed 0 stays diverged


def test_a_workdir_of_another_config_is_refused_before_anything_runs(tmp_path, calls):
  other = tmp_path / "seed=1"
  other.mkdir()
  (other / "config.json").write_text(configs.to_json(_tiny_config(
      **{"seed": 1, "optimizer.learning_rate": 0.5})))
  with pytest.raises(UserError, match=r"seed=1 was trained with another config "
                                      r"\(optimizer.learning_rate differ"):
    sweep.run_sweep(f"{TINY}:adamw", tmp_path, seeds=2, grid_items=[])
  assert calls == []
  # A field the experiment leaves empty and the task filled in is not a difference.
  assert sweep._conflicts({"labels": ["a", "b"], "x": 1}, {"labels": [], "x": 1}) == []


def test_printed_commands_train_the_same_run_through_launch_py(tmp_path, capsys):
  root = tmp_path / "printed"
  runs = sweep.run_sweep(f"{TINY}:adamw", root, seeds=2, grid_items=["train.num_steps=2"],
                         print_commands=True)
  lines = capsys.readouterr().out.splitlines()
  assert len(lines) == 2 and not root.exists()  # printed, not run
  args = shlex.split(lines[1])
  assert args[1:] == [str(ROOT / "launch.py"), f"--config={TINY}:adamw",
                      f"--workdir={root / runs[1].name}", "--config.train.num_steps=2",
                      "--config.seed=1"]
  env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
         "JAX_PLATFORMS": "cpu"}
  env.pop("JAX_NUM_CPU_DEVICES", None)
  r = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                     check=False)
  assert r.returncode == 0, r.stderr[-3000:]
  saved = json.loads((root / runs[1].name / "config.json").read_text())
  assert saved == json.loads(configs.to_json(_tiny_config(
      **{"train.num_steps": 2, "seed": 1})))
  assert sweep_report.final_eval(root / runs[1].name, 2) is not None


# ---- The table ----------------------------------------------------------------------------------
def _fake_run(root, point, seed, finals, speed, *, num_steps=12, diverged=False, **overrides):
  """A workdir as a sweep leaves it: config.json and metrics.jsonl with the given final eval
  values (several: a resumed run that logged its last step again, the later line counting)."""
  workdir = root / sweep.run_name({**point, "seed": seed})
  workdir.mkdir(parents=True)
  config = _tiny_config(**point, **overrides, seed=seed, **{"train.num_steps": num_steps})
  (workdir / "config.json").write_text(configs.to_json(config))
  lines = [{"step": 6, "split": "train", "loss": 2.0 + seed, "steps_per_s": 1.0},
           {"step": 6, "split": "eval", "exact_match": 0.1 * seed},
           {"step": 12, "split": "train", "loss": 1.0 + seed, "steps_per_s": speed}]
  lines += [{"step": 12, "split": "eval", "exact_match": v} for v in finals]
  (workdir / "metrics.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
  if diverged:
    (workdir / sweep_report.DIVERGED_FILE).write_text("non-finite loss\n")


def test_table_mean_and_sd_match_the_hand_computation(tmp_path):
  """Point a: 0.5, 0.6, 0.7 → mean 0.6, sd √((0.01 + 0 + 0.01) / 2) = 0.1; steps/s 2, 4, 6 →
  4 ± 2. Point b: 0.25, 0.5, 1.0 → mean 1.75 / 3 = 0.583333; deviations −1/3, −1/12, 5/12,
  squares 0.111111 + 0.006944 + 0.173611 = 0.291667, / 2 = 0.145833, sd 0.381881; its fourth
  seed never logged step 12 (unfinished) and its fifth diverged. Point c: one seed (no sd),
  on a holdout."""
  a, b, c = ({"optimizer.name": n} for n in ("adamw", "adax", "sgd"))
  for seed, (value, speed) in enumerate([(0.5, 2.0), (0.6, 4.0), (0.7, 6.0)]):
    _fake_run(tmp_path, a, seed, [0.0, value] if seed == 1 else [value], speed)
  for seed, value in enumerate([0.25, 0.5, 1.0]):
    _fake_run(tmp_path, b, seed, [value], 1.0)
  _fake_run(tmp_path, b, 3, [], 1.0)
  _fake_run(tmp_path, b, 4, [], 1.0, diverged=True)
  _fake_run(tmp_path, c, 0, [0.9], 1.0, **{"train.holdout_fraction": 0.25})

  table = sweep_report.write_report(tmp_path)
  assert "of exact_match on the split named per row: mean ± sample sd" in table
  rows = table.splitlines()[-3:]
  assert rows[0] == ("| optimizer.name=adamw | eval | 12 | 3 | 0 | 0 | 0.6000 ± 0.1000 "
                     "| 4.00 ± 2.00 |")
  assert rows[1] == ("| optimizer.name=adax | eval | 12 | 3 | 1 | 1 | 0.5833 ± 0.3819 "
                     "| 1.00 ± 0.00 |")
  assert rows[2] == "| optimizer.name=sgd | holdout (0.25 of train) | 12 | 1 | 0 | 0 | 0.9000 | 1.00 |"
  assert (tmp_path / "table.md").read_text() == table
  assert (tmp_path / "curves.png").stat().st_size > 1000

  csv_rows = (tmp_path / "table.csv").read_text().splitlines()
  assert csv_rows[0] == ("point,split,step,seeds,unfinished,diverged,exact_match_mean,"
                         "exact_match_sd,steps_per_s_mean,steps_per_s_sd")
  adax = csv_rows[2].split(",")
  assert adax[:6] == ["optimizer.name=adax", "eval", "12", "3", "1", "1"]
  assert float(adax[6]) == pytest.approx(0.583333, abs=1e-6)
  assert float(adax[7]) == pytest.approx(0.381881, abs=1e-6)
  assert csv_rows[3].split(",")[7] == ""  # one seed: no sd


def test_mean_curve_uses_the_steps_all_seeds_logged():
  steps, mean, sd = sweep_report.mean_curve([{0: 1.0, 2: 3.0, 4: 5.0}, {0: 3.0, 2: 5.0}])
  assert steps == [0, 2] and list(mean) == [2.0, 4.0]
  assert sd == pytest.approx([math.sqrt(2), math.sqrt(2)])
  steps, mean, sd = sweep_report.mean_curve([{1: 0.5}])
  assert (steps, list(mean), list(sd)) == ([1], [0.5], [0.0])


# ---- Bad input: one message, exit status 2 ------------------------------------------------------
def _cli_error(capsys, *argv):
  with pytest.raises(SystemExit) as exit_info:
    sweep.main(list(argv))
  err = capsys.readouterr().err
  assert exit_info.value.code == 2 and "Traceback" not in err
  errors = [line for line in err.splitlines() if "error: " in line]
  assert len(errors) == 1, err
  return errors[0]


def test_bad_input_is_one_message_and_exit_status_2(tmp_path, capsys, calls):
  root = tmp_path / "r"
  assert "did you mean optimizer.learning_rate" in _cli_error(
      capsys, "--config", f"{TINY}:adamw", "--root", str(root),
      "--grid", "optimizer.learnin_rate=1,2")
  assert "nope.py does not exist" in _cli_error(capsys, "--config", "nope.py", "--root",
                                                str(root))
  assert "unknown variants ['adamx']" in _cli_error(capsys, "--config", f"{TINY}:adamx",
                                                   "--root", str(root))
  assert "not both" in _cli_error(capsys, "--config", TINY, "--root", str(root), "--table")
  assert f"--root {root} does not exist" in _cli_error(capsys, "--root", str(root), "--table")
  assert calls == [] and not root.exists()

  _fake_run(tmp_path, {}, 0, [0.5], 1.0)
  assert "--metric exact_mach: not an eval metric of these runs; did you mean exact_match?" in (
      _cli_error(capsys, "--root", str(tmp_path), "--table", "--metric", "exact_mach"))
  metrics = tmp_path / "seed=0" / "metrics.jsonl"
  metrics.write_text("not json\n" + metrics.read_text())
  assert f"{metrics}:1: not a metrics line" in _cli_error(capsys, "--root", str(tmp_path),
                                                          "--table")


# ---- What experiment files use ------------------------------------------------------------------
def test_stage_variants_pick_one_set_up_and_the_holdout_stage():
  assert sweep.stage_variant(None, ("a", "b")) == ("a", False)
  assert sweep.stage_variant("b,holdout", ("a", "b")) == ("b", True)
  assert sweep.stage_variant("holdout", ("a", "b")) == ("a", True)
  with pytest.raises(UserError, match="one set-up of a | b"):
    sweep.stage_variant("a,b", ("a", "b"))
  with pytest.raises(UserError, match=r"unknown variants \['c'\]"):
    sweep.stage_variant("c", ("a", "b"))


def test_set_steps_scales_warm_up_and_intervals():
  """CLUENER's 1,679 steps (warm-up 167, eval and checkpoint every 335) cut to 672: scale
  672 / 1,679 = 0.400238, warm-up ⌊66.84⌋ = 66, intervals round(134.08) = 134. The tiny config's
  12 steps (eval 6, checkpoint 4) cut to 1: intervals at least 1; an interval of 0 stays 0."""
  c = runpy.run_path(str(ROOT / "experiments" / "ner_cluener_egp.py"))["get_config"](None)
  assert (c.train.num_steps, c.optimizer.warmup_steps, c.train.eval_every) == (1679, 167, 335)
  sweep.set_steps(c, 672)
  assert (c.train.num_steps, c.optimizer.warmup_steps, c.train.eval_every,
          c.train.checkpoint_every) == (672, 66, 134, 134)
  c = _tiny_config(**{"train.eval_every": 0})
  sweep.set_steps(c, 1)
  assert (c.train.num_steps, c.train.eval_every, c.train.checkpoint_every) == (1, 0, 1)


def test_method_points_cross_each_method_with_its_own_values():
  methods = {"none": {"r": "none"}, "fgm": {"r": "fgm"}, "gp": {"r": "gp", "x": 1}}
  assert sweep.method_points(methods, "eps", {"fgm": (0.1, 0.5), "gp": [2.0]}) == [
      {"r": "none"}, {"r": "fgm", "eps": 0.1}, {"r": "fgm", "eps": 0.5},
      {"r": "gp", "x": 1, "eps": 2.0}]
