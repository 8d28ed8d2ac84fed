"""launch.py: `file.py:arg` configs, `--config.x=` overrides, config.json, eval/predict from the workdir
alone, and user errors (one message on stderr, exit status 2, nothing half-made in the workdir).

Each case runs launch.py as a subprocess on experiments/_tiny.py or a NER / RE config with a tiny
model; the error cases stop before any compile.
"""
import json
import os
import pathlib
import runpy
import subprocess
import sys

import pytest

from flaxnlp import configs

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = f"--config={ROOT}/experiments/_tiny.py"
TINY_BERT = ["--config.model.hidden_size=32", "--config.model.num_hidden_layers=1",
             "--config.model.num_attention_heads=2", "--config.model.intermediate_size=64"]


def _launch(*flags):
  env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
         "JAX_PLATFORMS": "cpu"}
  env.pop("JAX_NUM_CPU_DEVICES", None)
  return subprocess.run([sys.executable, str(ROOT / "launch.py"), *flags], env=env, cwd=ROOT,
                        capture_output=True, text=True, timeout=300, check=False)


def _user_error(r, *expected):
  """Asserts exit status 2 and one `error:` line (no traceback) containing each of `expected`."""
  assert r.returncode == 2, r.stderr[-3000:]
  assert "Traceback" not in r.stderr, r.stderr[-3000:]
  errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
  assert len(errors) == 1, r.stderr[-3000:]
  for text in expected:
    assert text in errors[0], errors[0]
  return errors[0]


def _saved_config(workdir, experiment, variant=None, **task_args):
  """Writes `workdir/config.json` of an experiment (as a train run would) without training."""
  c = runpy.run_path(str(ROOT / "experiments" / f"{experiment}.py"))["get_config"](variant)
  with c.unlocked():
    c.model.update(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=64)
    c.task_args.update(task_args)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "config.json").write_text(configs.to_json(c))


# ---- Flags and config.json ---------------------------------------------------------------------
def test_misspelled_key_names_the_closest_valid_key(tmp_path):
  wd = tmp_path / "w"
  r = _launch(TINY, f"--workdir={wd}", "--config.optimizer.learnin_rate=0.1")
  _user_error(r, "--config.optimizer.learnin_rate",
              'Did you mean "learning_rate" instead of "learnin_rate"')
  assert not wd.exists()


def test_debug_adds_the_traceback(tmp_path):
  r = _launch(TINY, f"--workdir={tmp_path / 'w'}", "--config.optimizer.learnin_rate=0.1",
              "--debug")
  assert r.returncode == 2 and "Traceback" in r.stderr and "error: unknown config key" in r.stderr


def test_wrongly_typed_override_is_an_error(tmp_path):
  _user_error(_launch(TINY, f"--workdir={tmp_path}", "--config.train.num_steps=many"),
              "num_steps", "many")


def test_unknown_variant_is_refused(tmp_path):
  wd = tmp_path / "w"
  _user_error(_launch(f"{TINY}:adamw,nonsense", f"--workdir={wd}"),
              "unknown variants ['nonsense']", "adamw")
  assert not wd.exists()


def test_variant_and_overrides_reach_the_run(tmp_path):
  r = _launch(f"{TINY}:adamw", f"--workdir={tmp_path}",
              "--config.train.num_steps=2", "--config.train.eval_every=0",
              "--config.train.best_metric=")
  assert r.returncode == 0, r.stderr[-3000:]
  saved = json.loads((tmp_path / "config.json").read_text())
  assert saved["optimizer"]["name"] == "adamw" and saved["train"]["num_steps"] == 2
  assert '"steps": 2' in r.stdout


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "experiments").glob("*.py")
                                        if "def get_config" in p.read_text()))
def test_config_json_round_trips_to_the_same_locked_config(name):
  config = runpy.run_path(str(ROOT / "experiments" / f"{name}.py"))["get_config"](None)
  loaded = configs.from_json(configs.to_json(config))
  assert loaded.is_locked
  assert loaded == config
  assert repr(loaded.to_dict()) == repr(config.to_dict())  # same types, down to tuple elements
  assert configs.to_json(loaded) == configs.to_json(config)
  assert isinstance(loaded.train.buckets, tuple) and isinstance(loaded.sharding_rules[0], tuple)
  with pytest.raises(AttributeError):
    loaded.train.num_stepz = 1
  loaded.init_checkpoint = "/some/path"  # a null placeholder still takes its string


# ---- Eval and predict from the workdir alone ----------------------------------------------------
def test_eval_and_predict_use_the_workdir_config(tmp_path):
  wd = tmp_path / "w"
  trained = ("--config.task_args.hidden=8", "--config.train.num_steps=4",
             "--config.train.eval_every=0")
  r = _launch(TINY, f"--workdir={wd}", *trained)
  assert r.returncode == 0, r.stderr[-3000:]

  # No --config: the model (hidden=8) comes from config.json, not from _tiny.py's default (16).
  r = _launch(f"--workdir={wd}", "--mode=eval", "--config.train.eval_batch_size=16")
  assert r.returncode == 0, r.stderr[-3000:]
  assert json.loads(r.stdout.strip().splitlines()[-1])["split"] == "eval"

  # The training command repeated (its --config file ignored) evaluates the same workdir.
  r = _launch(TINY, f"--workdir={wd}", "--mode=eval", *trained)
  assert r.returncode == 0 and f"using {wd}/config.json" in r.stderr, r.stderr[-3000:]

  _user_error(_launch(f"--workdir={wd}", "--mode=eval", "--config.task_args.hidden=16"),
              "--config.task_args.hidden=16", "trained with 8", "train.eval_batch_size")

  (tmp_path / "in.jsonl").write_text('{"tokens": [1, 2, 3]}\n{"tokens": [30, 31]}\n')
  r = _launch(f"--workdir={wd}", "--mode=predict", f"--input={tmp_path / 'in.jsonl'}",
              f"--output={tmp_path / 'out.jsonl'}")
  assert r.returncode == 0, r.stderr[-3000:]
  assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2


def test_eval_and_predict_before_any_checkpoint(tmp_path):
  wd = tmp_path / "w"
  _saved_config(wd, "_tiny")
  _user_error(_launch(f"--workdir={wd}", "--mode=eval"), "no checkpoint in", "--mode train")
  (tmp_path / "in.jsonl").write_text('{"tokens": [1, 2, 3]}\n')
  _user_error(_launch(f"--workdir={wd}", "--mode=predict", f"--input={tmp_path / 'in.jsonl'}",
                      f"--output={tmp_path / 'out.jsonl'}"), "no checkpoint in")
  assert sorted(p.name for p in wd.iterdir()) == ["config.json"]  # no empty checkpoint folders
  assert not (tmp_path / "out.jsonl").exists()
  _user_error(_launch(f"--workdir={tmp_path / 'never'}", "--mode=eval"), "no config.json")


# ---- Data errors ---------------------------------------------------------------------------------
def _ner(data_dir, workdir, *flags):
  return _launch(f"--config={ROOT}/experiments/ner_cluener_egp.py:scratch", f"--workdir={workdir}",
                 f"--config.task_args.data_dir={data_dir}", *TINY_BERT, *flags)


def test_missing_data_file_leaves_nothing_behind(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  created = tmp_path / "new"
  msg = _user_error(_ner(data, created), f"{data / 'train.json'} not found",
                    "experiments/ner_cluener_egp.py", "task_args.data_dir")
  assert "DATA.md" not in msg
  assert not created.exists()

  existing = tmp_path / "existing"  # a workdir the user made: only what the run added goes
  existing.mkdir()
  (existing / "notes.txt").write_text("mine")
  _user_error(_ner(data, existing), "train.json not found")
  assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"]


def test_malformed_line_names_file_and_line(tmp_path):
  good = {"text": "浙商银行", "label": {"company": {"浙商银行": [[0, 3]]}}}
  (tmp_path / "train.json").write_text(json.dumps(good, ensure_ascii=False) + "\n{oops\n")
  _user_error(_ner(tmp_path, tmp_path / "w"), f"{tmp_path / 'train.json'}:2:", "JSON")
  assert not (tmp_path / "w").exists()


def test_predict_input_without_its_field_names_file_and_line(tmp_path):
  ner_wd, re_wd = tmp_path / "ner", tmp_path / "re"
  _saved_config(ner_wd, "ner_cluener_egp", "scratch", data_dir=str(tmp_path))
  (tmp_path / "all_50_schemas").write_text(json.dumps(
      {"subject_type": "图书作品", "predicate": "作者", "object_type": "人物"},
      ensure_ascii=False) + "\n")
  _saved_config(re_wd, "re_duie_gplinker", "scratch", data_dir=str(tmp_path))
  (tmp_path / "in.jsonl").write_text('{"text": "北京"}\n\n{"txt": "上海"}\n')
  for wd, expected in ((ner_wd, '"text"'), (re_wd, "no 'text' field")):
    _user_error(_launch(f"--workdir={wd}", "--mode=predict", f"--input={tmp_path / 'in.jsonl'}",
                        f"--output={tmp_path / 'out.jsonl'}"),
                f"{tmp_path / 'in.jsonl'}:3:", expected)
    assert not (tmp_path / "out.jsonl").exists()
    assert sorted(p.name for p in wd.iterdir()) == ["config.json"]


# ---- Warm starts -----------------------------------------------------------------------------------
def test_wrong_init_checkpoint_path(tmp_path):
  wd = tmp_path / "w"
  _user_error(_launch(TINY, f"--workdir={wd}", f"--config.init_checkpoint={tmp_path / 'nope'}"),
              f"config.init_checkpoint={tmp_path / 'nope'} does not exist")
  assert not wd.exists()


def test_pretrained_variant_requires_init_checkpoint(tmp_path):
  wd = tmp_path / "w"
  _user_error(_launch(f"--config={ROOT}/experiments/re_duie_gplinker.py:pretrained",
                      f"--workdir={wd}"), "--config.init_checkpoint=")
  assert not wd.exists()
