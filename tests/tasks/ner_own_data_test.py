"""NER on the user's own files: the CoNLL and span-JSON-lines readers, and `task_args.dataset` =
conll | jsonl | cluener | cmeee with `task_args.files` through the task and through launch.py.

The launch test is the done-means check of issue 14: a CoNLL dataset with entity types the code
has never seen trains, evaluates and predicts with config overrides only.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from flaxnlp import configs
from flaxnlp.data import ner_datasets
from flaxnlp.data.formats import (DataFormatError, NerExample, detect_scheme, read_conll,
                                  read_span_jsonl)
from flaxnlp.tasks import ner, registry

ROOT = pathlib.Path(__file__).resolve().parents[2]
BROKEN_EMOJI = "\ufffd\ufffd"  # one token of two code points


def _write(tmp_path, name, text):
  path = tmp_path / name
  path.write_text(text, encoding="utf-8")
  return path


# ---- CoNLL reader --------------------------------------------------------------------------------
@pytest.mark.parametrize("tags, scheme", [
    (["B-X", "I-X", "O"], "BIO"),
    (["O", "O"], "BIO"),
    (["B-X", "I-X", "E-X", "S-Y"], "BIOES"),
    (["S-X", "O"], "BIOES"),
    (["B-X", "M-X", "E-X", "S-Y"], "BMES"),
])
def test_scheme_is_detected_from_the_tags(tmp_path, tags, scheme):
  path = _write(tmp_path, "a.conll", "".join(f"字 {t}\n" for t in tags))
  assert detect_scheme(path) == scheme


def test_mixed_i_and_m_tags_name_both_lines(tmp_path):
  path = _write(tmp_path, "a.conll", "北 B-X\n京 I-X\n\n上 B-X\n海 M-X\n海 E-X\n")
  with pytest.raises(DataFormatError, match=r"a.conll:5: the tags mix I- \(first at line 2\) "
                                            r"and M- \(first at line 5\)"):
    read_conll(path)


def test_the_detected_scheme_decodes_each_file(tmp_path):
  bio = _write(tmp_path, "bio", "张 B-PER\n三 I-PER\n在 O\n京 B-LOC\n")
  bioes = _write(tmp_path, "bioes", "张 B-PER\n三 I-PER\n丰 E-PER\n在 O\n京 S-LOC\n")
  bmes = _write(tmp_path, "bmes", "张 B-PER\n三 M-PER\n丰 E-PER\n在 O\n京 S-LOC\n")
  assert read_conll(bio).examples == [NerExample("张三在京", [(0, 1, "PER"), (3, 3, "LOC")])]
  for path in (bioes, bmes):
    assert read_conll(path).examples == [NerExample("张三丰在京", [(0, 2, "PER"), (4, 4, "LOC")])]
  # BIOES: a span not closed by E- is a counted repair, as in BMES.
  corpus = read_conll(_write(tmp_path, "open", "张 B-PER\n三 I-PER\n在 O\n"), "BIOES")
  assert corpus.examples == [NerExample("张三在", [(0, 1, "PER")])]
  assert corpus.repairs == {"PER span without E-PER": 1}


def test_a_set_scheme_overrides_detection(tmp_path):
  path = _write(tmp_path, "a.conll", "张 B-PER\n三 E-PER\n")
  with pytest.raises(DataFormatError, match=r"a.conll:2: tag 'E-PER' .* \(BIO scheme\)"):
    read_conll(path, "BIO")
  with pytest.raises(ValueError, match="tag scheme must be 'auto' or one of"):
    read_conll(path, "IOB2")


def test_multi_code_point_tokens_map_to_their_own_offsets(tmp_path):
  # Tab-separated tokens of 1, 2 (a broken emoji) and 3 code points; a space-separated line too.
  path = _write(tmp_path, "a.conll",
                f"我\tO\n{BROKEN_EMOJI}\tB-EMO\n们\tI-EMO\nabc\tS-ORG\n北京 B-GPE.NAM\n\n"
                f"{BROKEN_EMOJI}\tB-PER.NOM\n")
  examples = read_conll(path).examples
  text = f"我{BROKEN_EMOJI}们abc北京"
  assert examples[0] == NerExample(text, [(1, 3, "EMO"), (4, 6, "ORG"), (7, 8, "GPE.NAM")])
  assert [text[s:e + 1] for s, e, _ in examples[0].spans] == [f"{BROKEN_EMOJI}们", "abc", "北京"]
  assert examples[1] == NerExample(BROKEN_EMOJI, [(0, 1, "PER.NOM")])


def test_i_without_b_is_repaired(tmp_path):
  corpus = read_conll(_write(tmp_path, "a.conll", "在 O\n北 I-LOC\n京 I-LOC\n"))
  assert corpus.examples == [NerExample("在北京", [(1, 2, "LOC")])]
  assert corpus.repairs == {"I-LOC without B-LOC": 1}


@pytest.mark.parametrize("line_text", ["北京", "北\tB-LOC\tX", "\tO", "北 NR B-LOC"])
def test_a_line_without_one_tag_names_file_and_line(tmp_path, line_text):
  path = _write(tmp_path, "bad.conll", f"张 O\n\n三 O\n{line_text}\n")
  with pytest.raises(DataFormatError) as info:
    read_conll(path)
  assert str(info.value).startswith(f"{path}:4: expected 'token<tab or space>tag'")


# ---- Span JSON lines -----------------------------------------------------------------------------
def test_span_jsonl(tmp_path):
  lines = [{"text": "张三在北京", "spans": [[3, 4, "GPE.NAM"], [0, 1, "PER.NAM"], [0, 4, "X"]]},
           {"text": "无", "spans": [], "id": 7}]
  path = _write(tmp_path, "a.jsonl",
                "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n")
  assert read_span_jsonl(path) == [
      NerExample("张三在北京", [(0, 1, "PER.NAM"), (0, 4, "X"), (3, 4, "GPE.NAM")]),
      NerExample("无", [])]


@pytest.mark.parametrize("record, message", [
    ('{"text": "北京", "spans": [[0, 2, "LOC"]]}', "not inside the text of length 2"),
    ('{"text": "北京", "spans": [[1, 0, "LOC"]]}', "not inside the text"),
    ('{"text": "北京", "spans": [[0, 1]]}', "is not [start, end_inclusive, type]"),
    ('{"text": "北京", "spans": [[0, 1, ""]]}', "is not [start, end_inclusive, type]"),
    ('{"text": "北京"}', 'expected "spans"'),
    ('{"spans": []}', 'expected an object with a string "text"'),
    ("{oops", "not valid JSON"),
])
def test_span_jsonl_malformed_names_file_and_line(tmp_path, record, message):
  path = _write(tmp_path, "a.jsonl", '{"text": "上海", "spans": [[0, 1, "LOC"]]}\n' + record + "\n")
  with pytest.raises(DataFormatError) as info:
    read_span_jsonl(path)
  assert str(info.value).startswith(f"{path}:2: ") and message in str(info.value)


# ---- The task on the user's files ---------------------------------------------------------------
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "张", "三", "在", "北", "京"]


def _task(tmp_path, **task_args):
  vocab = _write(tmp_path, "vocab.txt", "\n".join(VOCAB) + "\n")
  c = configs.base_config()
  c.task = "ner"
  c.task_args = ner.ner_task_args(vocab=str(vocab), head_size=8, **task_args)
  c.model = configs.bert_config(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32)
  c.lock()
  c = registry.resolve(c)
  return c, registry.get("ner")(c)


def test_types_come_from_the_training_file_into_the_resolved_config(tmp_path):
  train = _write(tmp_path, "train.jsonl", '{"text": "张三在北京", "spans": [[3, 4, "GPE.NAM"], '
                 '[0, 1, "PER.NAM"]]}\n{"text": "张三", "spans": [[0, 1, "PER.NOM"]]}\n')
  evaluation = _write(tmp_path, "eval.jsonl", '{"text": "北京", "spans": [[0, 1, "ORG.NAM"]]}\n')
  config, task = _task(tmp_path, dataset="jsonl",
                       files=dict(train=str(train), eval=str(evaluation), test=""))
  assert task.types == config.task_args.types == ("GPE.NAM", "PER.NAM", "PER.NOM")
  assert json.loads(configs.to_json(config))["task_args"]["types"] == list(task.types)
  assert len(task.examples("train")) == 2
  unresolved = json.loads(configs.to_json(config))
  unresolved["task_args"]["types"] = []
  with pytest.raises(ValueError, match="task_args.types is empty: resolve the dataset first"):
    registry.get("ner")(configs.from_json(json.dumps(unresolved)))  # building reads no data
  with pytest.raises(ValueError, match=r"entity types \['ORG.NAM'\] are not in"):
    task.examples("eval")
  with pytest.raises(ValueError, match=r"set --config.task_args.files.test=PATH"):
    task.examples("test")
  # Given types are kept (e.g. a saved config.json), and the training file is not needed.
  config, task = _task(tmp_path, dataset="jsonl", types=("PER.NAM",),
                       files=dict(train=str(tmp_path / "gone.jsonl"), eval="", test=""))
  assert task.types == ("PER.NAM",)


def test_missing_user_file_names_its_path(tmp_path):
  with pytest.raises(FileNotFoundError, match=f"conll train file {tmp_path / 'no.conll'} not "
                                              r"found \(--config.task_args.files.train\)"):
    _task(tmp_path, dataset="conll", files=dict(train=str(tmp_path / "no.conll"), eval="",
                                                test=""))


def test_cluener_shape_on_user_files_and_presets_unchanged(tmp_path):
  train = _write(tmp_path, "mine.json", json.dumps(
      {"text": "张三在北京", "label": {"person": {"张三": [[0, 1]]}}}, ensure_ascii=False) + "\n")
  _, task = _task(tmp_path, dataset="cluener", files=dict(train=str(train), eval="", test=""))
  assert task.types == ("person",)
  _, task = _task(tmp_path, dataset="cluener")  # no files: the named dataset and its 10 types
  assert task.types == ner_datasets.DATASET_TYPES["cluener"]
  with pytest.raises(ValueError, match="types can be set for task_args.files only"):
    _task(tmp_path, dataset="msra", types=("PER.NAM",))


# ---- Done means: launch.py on a CoNLL dataset with new types, overrides only ------------------------
TRAIN_CONLL = f"""张\tB-PER.NAM
三\tI-PER.NAM
在\tO
北\tB-GPE.NAM
京\tI-GPE.NAM

{BROKEN_EMOJI}\tB-PER.NOM
们\tI-PER.NOM
去\tO
上\tB-GPE.NAM
海\tI-GPE.NAM

李\tB-PER.NAM
四\tI-PER.NAM
说\tO
"""
EVAL_CONLL = "王\tB-PER.NAM\n五\tI-PER.NAM\n在\tO\n北\tB-GPE.NAM\n京\tI-GPE.NAM\n"


def _launch(*flags):
  env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
         "JAX_PLATFORMS": "cpu"}
  env.pop("JAX_NUM_CPU_DEVICES", None)
  return subprocess.run([sys.executable, str(ROOT / "launch.py"), *flags], env=env, cwd=ROOT,
                        capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_conll_with_new_types_trains_evaluates_and_predicts(tmp_path):
  train = _write(tmp_path, "train.conll", TRAIN_CONLL)
  evaluation = _write(tmp_path, "eval.conll", EVAL_CONLL)
  wd = tmp_path / "w"
  r = _launch(f"--config={ROOT}/experiments/ner_msra_egp.py:scratch", f"--workdir={wd}",
              "--config.task_args.dataset=conll", f"--config.task_args.files.train={train}",
              f"--config.task_args.files.eval={evaluation}", "--config.train.eval_split=eval",
              "--config.model.hidden_size=32", "--config.model.num_hidden_layers=1",
              "--config.model.num_attention_heads=2", "--config.model.intermediate_size=64",
              "--config.task_args.head_size=8", "--config.train.batch_size=2",
              "--config.train.eval_batch_size=2", "--config.train.num_steps=3",
              "--config.train.buckets=(16,)", "--config.train.length_group_batches=1",
              "--config.optimizer.warmup_steps=0", "--config.train.checkpoint_every=3")
  assert r.returncode == 0, r.stderr[-3000:]
  saved = json.loads((wd / "config.json").read_text())
  assert saved["task_args"]["types"] == ["GPE.NAM", "PER.NAM", "PER.NOM"]

  r = _launch(f"--workdir={wd}", "--mode=eval")
  assert r.returncode == 0, r.stderr[-3000:]
  metrics = json.loads(r.stdout.strip().splitlines()[-1])
  assert metrics["split"] == "eval" and 0.0 <= metrics["f1"] <= 1.0
  assert {k for k in metrics if k.startswith("f1/")} == {"f1/GPE.NAM", "f1/PER.NAM", "f1/PER.NOM"}

  (tmp_path / "in.jsonl").write_text('{"text": "张三在北京"}\n{"text": "李四"}\n',
                                     encoding="utf-8")
  r = _launch(f"--workdir={wd}", "--mode=predict", f"--input={tmp_path / 'in.jsonl'}",
              f"--output={tmp_path / 'out.jsonl'}")
  assert r.returncode == 0, r.stderr[-3000:]
  outputs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
  assert [o["text"] for o in outputs] == ["张三在北京", "李四"]
  for o in outputs:  # spans, each inside its text and of one of the trained types
    assert isinstance(o["entities"], list)
    for e in o["entities"]:
      assert e["type"] in saved["task_args"]["types"]
      assert o["text"][e["start"]:e["end"] + 1] == e["entity"]
