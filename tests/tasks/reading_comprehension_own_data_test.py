"""Reading comprehension on your own files (issue 14): "squad" (SQuAD / CMRC-shaped JSON) and
"webqa" (WebQA / SogouQA-shaped JSON) per split, malformed records and missing files, and a run
that trains and predicts on files written here."""
import json

import pytest

from flaxnlp import configs
from flaxnlp.data.formats import DataFormatError
from flaxnlp.data.formats.qa import Passage, QAExample
from flaxnlp.tasks import reading_comprehension as rc
from flaxnlp.tasks import registry

from own_data_testing import tiny_config, train_then_predict, write

SQUAD = {"version": "v1.1", "data": [{"title": "电话", "paragraphs": [{
    "context": "贝尔发明了电话。电话很好用。",
    "qas": [{"id": "q1", "question": "谁发明了电话？", "answers": [{"text": "贝尔", "answer_start": 0}]},
            {"id": "q2", "question": "电话好用吗？", "answers": []}]}]}]}
WEBQA = [{"id": 7, "question": "天空是什么颜色",
          "passages": [{"passage": "天空是蓝色的", "answer": "蓝色"}, {"passage": "草是绿的", "answer": ""}]},
         {"question": "谁发明了电话", "passages": [{"passage": "贝尔发明了电话", "answer": "贝尔"}]}]


def _files(**paths):
  return dict(dict(train="", eval="", test=""), **{k: str(v) for k, v in paths.items()})


def _task(**task_args):
  c = configs.base_config()
  c.task = "reading_comprehension"
  c.task_args = rc.rc_task_args(max_p_len=16, max_q_len=8, max_a_len=4, **task_args)
  c.model = configs.bert_config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32)
  c.lock()
  return registry.get("reading_comprehension")(c)


def test_squad_files_per_split(tmp_path):
  train = write(tmp_path, "train.json", json.dumps(SQUAD, ensure_ascii=False, indent=1))
  task = _task(dataset="squad", cmrc_window_chars=8, files=_files(train=train, eval=train))
  one, two = task.examples("eval")
  assert one == QAExample("q1", "谁发明了电话？", [Passage("贝尔发明了电话。", "贝尔"),
                                                 Passage("电话很好用。", "")], ("贝尔",))
  assert two.gold_answers == () and [p.answer for p in two.passages] == ["", ""]
  assert [ex.id for ex in task.examples("train")] == ["q1", "q2"]
  with pytest.raises(ValueError, match="set --config.task_args.files.test=PATH"):
    task.examples("test")


def test_webqa_files_per_split(tmp_path):
  train = write(tmp_path, "train.json", json.dumps(WEBQA, ensure_ascii=False))
  task = _task(dataset="webqa", files=_files(train=train, test=train))
  assert task.examples("test") == [
      QAExample("7", "天空是什么颜色", [Passage("天空是蓝色的", "蓝色"), Passage("草是绿的", "")],
                ("蓝色",)),
      QAExample("1", "谁发明了电话", [Passage("贝尔发明了电话", "贝尔")], ("贝尔",))]
  assert len(task.examples("train")) == 2  # as it is: no held-out part, no duplication


def test_errors_name_the_file(tmp_path):
  with pytest.raises(FileNotFoundError, match=rf"webqa eval file {tmp_path / 'no.json'} not found "
                                              r"\(--config.task_args.files.eval\)"):
    _task(dataset="webqa", files=_files(eval=tmp_path / "no.json")).examples("eval")
  with pytest.raises(ValueError, match=r"dataset='csv'; a preset cmrc2018 \| webqa_sogouqa or a "
                                       r"file format squad \| webqa"):
    _task(dataset="csv")
  bad = write(tmp_path, "bad.json", '[\n {"question": "a", "passages": []},\n'
              ' {"question": "b", "passages": [{"passage": "p"}]}\n]\n')
  with pytest.raises(DataFormatError, match=rf"^{bad}:3: record 1: passage 0 must be "):
    _task(dataset="webqa", files=_files(train=bad)).examples("train")
  bad = write(tmp_path, "bad_squad.json", '{"data": [\n {"paragraphs": [{"context": "c"}]}\n]}\n')
  with pytest.raises(DataFormatError, match=rf"^{bad}:2: data\[0\].paragraphs\[0\]: expected"):
    _task(dataset="squad", files=_files(train=bad)).examples("train")


@pytest.mark.slow
@pytest.mark.parametrize("reader", list(rc.READERS))
def test_trains_and_predicts_on_own_files(tmp_path, reader):
  records = [dict(r, id=f"{k}-{i}") for k in range(4) for i, r in enumerate(WEBQA)]  # unique ids
  train = write(tmp_path, "train.json", json.dumps(records, ensure_ascii=False))
  config = tiny_config("reading_comprehension", rc.rc_task_args(
      dataset="webqa", reader=reader, max_p_len=16, max_q_len=8, max_a_len=4, beam_size=1,
      files=_files(train=train, eval=train)), buckets=(48,))
  metrics, saved, outputs = train_then_predict(config, tmp_path / "w", [
      {"id": "a", "question": "天空是什么颜色", "passages": ["天空是蓝色的", {"passage": "草是绿的"}]},
      {"question": "谁发明了电话", "passages": ["贝尔发明了电话"]}], remove=(train,))
  assert saved.task_args.dataset == "webqa" and saved.task_args.reader == reader
  assert metrics["num_scored"] == 8
  assert [(o["id"], o["question"]) for o in outputs] == [("a", "天空是什么颜色"), ("", "谁发明了电话")]
  passages = {"a": "天空是蓝色的草是绿的", "": "贝尔发明了电话"}
  for o in outputs:  # every reader extracts: an answer is a piece of its passages (or "")
    assert o["answer"].replace(" ", "") in passages[o["id"]] or not o["answer"]
