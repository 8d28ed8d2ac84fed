"""`flaxnlp.load(workdir).predict(...)` and `--mode predict` on trained runs.

* A tiny NER model memorises one sentence (厦门 and 金门 are LOC) in short windows of filler
  text; then a 2,000-character document that holds the sentence at both ends is predicted
  through `launch.py --mode predict`: both copies' entities must come back at their offsets in
  the document (a model that reads only the first `eval_maxlen` tokens finds the first copy only),
  and the document's other fields and input order are kept.
* The README's `## Use a trained run from Python` block runs as written on that run.
* Per task (NER, classification, relation / event extraction, reading comprehension), the
  predictor returns exactly the records `--mode predict` writes for the same inputs.
"""
import contextlib
import io
import json
import os
import pathlib
import random
import re
import shutil
import subprocess
import sys

import pytest

import flaxnlp
from flaxnlp import configs, paths
from flaxnlp.errors import UserError
from flaxnlp.tasks import classification, ner
from flaxnlp.tasks import reading_comprehension as rc
from flaxnlp.tasks.event_extraction import ee_task_args
from flaxnlp.tasks.relation_extraction import re_task_args
from flaxnlp.train import trainer

from learning_testing import memorisation_config
from own_data_testing import tiny_config, write

ROOT = pathlib.Path(__file__).resolve().parents[1]
SENTENCE = "海钓比赛地点在厦门与金门之间的海域。"
ENTITIES = [(7, 8, "LOC"), (10, 11, "LOC")]  # 厦门, 金门
FILLER = "我们今天去公园散步了很开心天气不错"
README_HEADING = "## Use a trained run from Python"


def _files(**given):
  return dict(dict(train="", eval="", test=""), **{k: str(v) for k, v in given.items()})


def _ner_training_records(count: int, rng: random.Random) -> list[dict]:
  """Windows of ≤ 30 characters cut at random from filler + SENTENCE + filler, with the entities
  that lie whole inside each window (the model learns the entities in any window context)."""
  records = []
  for _ in range(count):
    left = "".join(rng.choice(FILLER) for _ in range(rng.randint(0, 30)))
    right = "".join(rng.choice(FILLER) for _ in range(rng.randint(0, 30)))
    text = left + SENTENCE + right
    start = rng.randint(0, max(len(text) - 30, 0))
    window = text[start:start + 30]
    spans = [[s + len(left) - start, e + len(left) - start, t] for s, e, t in ENTITIES
             if start <= s + len(left) and e + len(left) < start + len(window)]
    records.append({"text": window, "spans": spans})
  return records


def _predict_mode(workdir, inputs, tmp_path) -> list[dict]:
  """What `trainer.run(..., "predict")` writes for `inputs`."""
  source = write(tmp_path, "in.jsonl", inputs)
  trainer.run(configs.load_workdir_config(workdir), workdir, "predict",
              predict_input=str(source), predict_output=str(tmp_path / "out.jsonl"))
  return [json.loads(l) for l in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]


@pytest.fixture(scope="module", name="ner_run")
def fixture_ner_run(tmp_path_factory):
  """A NER workdir whose tiny model has memorised SENTENCE's two entities (maxlen 32)."""
  data = tmp_path_factory.mktemp("ner_data")
  train = write(data, "train.jsonl", _ner_training_records(256, random.Random(0)))
  config = memorisation_config("ner", ner.ner_task_args(
      dataset="jsonl", files=_files(train=train, eval=train), types=("LOC",), head_size=16,
      maxlen=32), num_steps=200, learning_rate=3e-3, buckets=(32,))
  workdir = tmp_path_factory.mktemp("ner") / "run"
  trainer.run(config, workdir)
  return workdir


@pytest.mark.slow
def test_a_long_document_is_predicted_whole_through_predict_mode(ner_run, tmp_path):
  rng = random.Random(1)
  middle = "".join(rng.choice(FILLER) for _ in range(2000 - 2 * len(SENTENCE)))
  document = SENTENCE + middle + SENTENCE
  offset = len(document) - len(SENTENCE)
  (tmp_path / "in.jsonl").write_text(
      json.dumps({"id": "doc", "text": document, "source": "news"}, ensure_ascii=False) + "\n"
      + json.dumps(SENTENCE, ensure_ascii=False) + "\n", encoding="utf-8")
  env = {**os.environ, "JAX_PLATFORMS": "cpu",
         "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
  env.pop("JAX_NUM_CPU_DEVICES", None)
  r = subprocess.run([sys.executable, str(ROOT / "launch.py"), f"--workdir={ner_run}",
                      "--mode=predict", f"--input={tmp_path / 'in.jsonl'}",
                      f"--output={tmp_path / 'out.jsonl'}"], env=env, cwd=ROOT,
                     capture_output=True, text=True, timeout=600, check=False)
  assert r.returncode == 0, r.stderr[-3000:]
  assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no tmp file
  doc, alone = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
  expected = [{"start": s, "end": e, "type": t, "entity": SENTENCE[s:e + 1]} for s, e, t in ENTITIES]
  assert alone == {"text": SENTENCE, "entities": expected}
  assert len(document) == 2000 and (doc["id"], doc["source"], doc["text"]) == ("doc", "news",
                                                                              document)
  shifted = [dict(x, start=x["start"] + offset, end=x["end"] + offset) for x in expected]
  assert doc["entities"] == expected + shifted
  for x in doc["entities"]:
    assert document[x["start"]:x["end"] + 1] == x["entity"]


def _readme_block() -> str:
  readme = (ROOT / "README.md").read_text(encoding="utf-8")
  if README_HEADING not in readme:
    pytest.fail(f"README.md has no {README_HEADING!r} section: the Python API's example belongs "
                "there (a ```python block that loads runs/default and predicts)")
  after = readme.split(README_HEADING, 1)[1]
  found = re.search(r"```python\n(.*?)```", after, re.S)
  if not found:
    pytest.fail(f"README.md: no ```python block after {README_HEADING!r}")
  return found.group(1)


@pytest.mark.slow
def test_readme_python_block_runs_as_written(ner_run, tmp_path, monkeypatch):
  block = _readme_block()
  shutil.copytree(ner_run, tmp_path / "runs" / "default")
  monkeypatch.chdir(tmp_path)
  printed = io.StringIO()
  with contextlib.redirect_stdout(printed):
    exec(compile(block, "README.md", "exec"), {})  # pylint: disable=exec-used
  assert "'entity': '厦门'" in printed.getvalue() and "'entity': '金门'" in printed.getvalue()


# ---- The predictor and --mode predict, per task ---------------------------------------------------
def _classification_run(tmp_path):
  train = write(tmp_path, "train.tsv", "今天很开心\t喜悦\n气死我了，真烦\t愤怒,厌恶\n没什么感觉\t\n")
  config = tiny_config("classification", classification.task_args(
      vocab=str(paths.chinese_bert_vocab()), maxlen=8, dataset="tsv",
      files=dict(_files(train=train, eval=train), labels="")), buckets=(8,))
  inputs = ["今天很开心", {"text": "这句话比八个字的模型长很多", "id": "long", "extra": 1}]
  return config, inputs


def _re_run(tmp_path):
  train = write(tmp_path, "train.jsonl", [{"text": "《晴天》由周杰伦作曲", "spo_list": [
      {"subject": "晴天", "predicate": "作曲", "object": "周杰伦"}]}])
  config = tiny_config("relation_extraction", re_task_args(
      head_size=8, maxlen=8, files=dict(_files(train=train, eval=train), schema="")))
  return config, [{"text": "《晴天》由周杰伦作曲，《星空》由周杰伦作曲", "id": 3}, "无"]


def _ee_run(tmp_path):
  train = write(tmp_path, "train.jsonl", [{"text": "张三被判处有期徒刑3年", "event_list": [
      {"event_type": "入狱", "trigger": "有期徒刑", "trigger_start_index": 5, "arguments": [
          {"role": "入狱者", "argument": "张三", "argument_start_index": 0}]}]}])
  schema = write(tmp_path, "s.json", [{"event_type": "入狱", "role_list": [{"role": "入狱者"}]}])
  config = tiny_config("event_extraction", ee_task_args(
      dataset="duee", head_size=8, maxlen=8, files=_files(train=train, eval=train, schema=schema)))
  return config, [{"text": "张三被判处有期徒刑3年，李四被判处有期徒刑5年", "id": "e"}]


def _rc_run(tmp_path):
  train = write(tmp_path, "train.json", json.dumps([  # WebQA shape: one JSON list
      {"question": "谁发明了电话", "passages": [{"passage": "贝尔发明了电话", "answer": "贝尔"}]}],
      ensure_ascii=False))
  config = tiny_config("reading_comprehension", rc.rc_task_args(
      dataset="webqa", max_p_len=16, max_q_len=8, max_a_len=4, beam_size=1,
      files=_files(train=train, eval=train)), buckets=(48,))
  return config, [{"id": "a", "question": "谁发明了电话", "passages": ["贝尔发明了电话"]}]


def _ner_run(tmp_path):
  train = write(tmp_path, "train.jsonl", [{"text": "我在厦门", "spans": [[2, 3, "LOC"]]}])
  config = tiny_config("ner", ner.ner_task_args(
      dataset="jsonl", files=_files(train=train, eval=train), head_size=8, maxlen=8))
  return config, ["我在厦门和金门之间的海域钓鱼", {"text": "厦门", "id": 1}]


@pytest.mark.slow
@pytest.mark.parametrize("make_run", [_ner_run, _classification_run, _re_run, _ee_run, _rc_run])
def test_predictor_returns_what_predict_mode_writes(tmp_path, make_run, capsys):
  config, inputs = make_run(tmp_path)
  workdir = tmp_path / "w"
  trainer.run(config, workdir)
  capsys.readouterr()
  outputs = flaxnlp.load(workdir).predict(inputs)
  assert outputs == _predict_mode(workdir, inputs, tmp_path)
  truncated = "predict: 1 of 2 inputs are longer than the model reads and were truncated"
  assert capsys.readouterr().err.count(truncated) == (2 if make_run is _classification_run else 0)
  assert len(outputs) == len(inputs)
  for given, out in zip(inputs, outputs):  # an input's other fields come back
    if isinstance(given, dict):
      assert {k: out[k] for k in given if k != "labels"} == given


def test_load_names_what_is_missing(tmp_path):
  with pytest.raises(UserError, match=f"{tmp_path / 'none' / 'config.json'} does not exist"):
    flaxnlp.load(tmp_path / "none")
