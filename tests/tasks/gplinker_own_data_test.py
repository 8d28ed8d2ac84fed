"""Relation and event extraction on your own files (issue 14): DuIE-shaped JSON lines with a schema
(or predicates from the training file), DuEE / DuEE-fin JSON lines with an event schema; what
resolving the config records; malformed lines and missing files; and a run per task that trains
and predicts on files written here."""
import json

import pytest

from flaxnlp import configs
from flaxnlp.data.formats import DataFormatError, duee, duie
from flaxnlp.tasks import registry
from flaxnlp.tasks.event_extraction import ee_task_args
from flaxnlp.tasks.relation_extraction import re_task_args

from own_data_testing import tiny_config, train_then_predict, write

RE_TRAIN = [{"text": "《星空》是周杰伦演唱的歌曲",
             "spo_list": [{"subject": "星空", "predicate": "歌手", "object": "周杰伦"}]},
            {"text": "《晴天》由周杰伦作曲", "spo_list": [
                {"subject": "晴天", "predicate": "作曲", "object": "周杰伦"},
                {"subject": "晴天", "predicate": "歌手", "object": "周杰伦"}]},
            {"text": "没有关系的句子", "spo_list": []}]
RE_SCHEMA = [{"predicate": "歌手", "subject_type": "歌曲", "object_type": "人物"},
             {"predicate": "作曲", "subject_type": "歌曲", "object_type": "人物"},
             {"predicate": "作词", "subject_type": "歌曲", "object_type": "人物"}]
EE_TRAIN = [{"text": "张三被判处有期徒刑3年", "event_list": [
    {"event_type": "司法行为-入狱", "trigger": "有期徒刑", "trigger_start_index": 5, "arguments": [
        {"role": "入狱者", "argument": "张三", "argument_start_index": 0},
        {"role": "刑期", "argument": "3年", "argument_start_index": 9}]}]},
            {"text": "无事件"}]
EE_SCHEMA = [{"event_type": "司法行为-入狱", "role_list": [{"role": "入狱者"}, {"role": "刑期"}]},
             {"event_type": "公司上市", "role_list": [
                 {"role": "上市公司"}, {"role": "环节", "enum_items": ["筹备上市", "正式上市"]}]}]
MODEL = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)


def _files(**paths):
  return dict(dict(train="", eval="", test="", schema=""),
              **{k: str(v) for k, v in paths.items()})


def _task(name, args):
  c = configs.base_config()
  c.task = name
  c.task_args = args
  c.model = configs.bert_config(**MODEL)
  c.lock()
  c = registry.resolve(c)
  return c, registry.get(name)(c)


# ---- Relation extraction -----------------------------------------------------------------------
def test_re_predicates_from_the_schema_into_the_config(tmp_path):
  train, schema = write(tmp_path, "train.jsonl", RE_TRAIN), write(tmp_path, "s.json", RE_SCHEMA)
  config, task = _task("relation_extraction", re_task_args(
      head_size=8, files=_files(train=train, eval=train, schema=schema)))
  assert task.predicates == config.task_args.predicates == ("歌手", "作曲", "作词")  # file order
  assert json.loads(configs.to_json(config))["task_args"]["predicates"] == ["歌手", "作曲", "作词"]
  assert task.examples("train") == duie.read_duie(train)
  assert task.examples("train")[1].triples == (("晴天", "作曲", "周杰伦"), ("晴天", "歌手", "周杰伦"))
  with pytest.raises(ValueError, match="set --config.task_args.files.test=PATH"):
    task.examples("test")


def test_re_predicates_from_the_training_file_or_given(tmp_path):
  train = write(tmp_path, "train.jsonl", RE_TRAIN)
  _, task = _task("relation_extraction", re_task_args(files=_files(train=train)))
  assert task.predicates == ("作曲", "歌手")  # sorted
  _, task = _task("relation_extraction", re_task_args(
      predicates=("歌手",), files=_files(train=tmp_path / "gone", schema=tmp_path / "gone")))
  assert task.predicates == ("歌手",)  # given: neither the schema nor the training file is read


def test_re_errors_name_the_file(tmp_path):
  train = write(tmp_path, "train.jsonl", RE_TRAIN)
  with pytest.raises(FileNotFoundError, match=rf"duie schema file {tmp_path / 'no.json'} not "
                                              r"found \(--config.task_args.files.schema\)"):
    _task("relation_extraction", re_task_args(files=_files(train=train,
                                                           schema=tmp_path / "no.json")))
  bad = write(tmp_path, "bad.jsonl", json.dumps(RE_TRAIN[0], ensure_ascii=False)
              + '\n{"text": "甲", "spo_list": [{"subject": "甲"}]}\n')
  _, task = _task("relation_extraction", re_task_args(predicates=("歌手",),
                                                      files=_files(train=bad)))
  with pytest.raises(DataFormatError, match=rf"^{bad}:2: spo item needs subject/predicate/object"):
    task.examples("train")
  _, task = _task("relation_extraction", re_task_args(predicates=("作曲",),
                                                      files=_files(train=train)))
  with pytest.raises(ValueError, match=rf"^{train}: predicates \['歌手'\] are not among the 1 "):
    task.examples("train")
  with pytest.raises(ValueError, match="task_args.dataset='duie2'; relation extraction reads"):
    _task("relation_extraction", re_task_args(dataset="duie2"))
  with pytest.raises(ValueError, match="predicates can be set for task_args.files only"):
    _task("relation_extraction", re_task_args(predicates=("歌手",)))


@pytest.mark.slow
def test_re_trains_and_predicts_on_own_files(tmp_path):
  train, schema = write(tmp_path, "train.jsonl", RE_TRAIN), write(tmp_path, "s.json", RE_SCHEMA)
  config = tiny_config("relation_extraction", re_task_args(
      head_size=8, maxlen=32, files=_files(train=train, eval=train, schema=schema)))
  metrics, saved, outputs = train_then_predict(
      config, tmp_path / "w", [{"text": "《星空》是周杰伦演唱的歌曲"}, {"text": "无"}],
      remove=(train, schema))
  assert saved.task_args.predicates == ("歌手", "作曲", "作词")
  assert 0.0 <= metrics["f1"] <= 1.0
  assert [o["text"] for o in outputs] == ["《星空》是周杰伦演唱的歌曲", "无"]
  for o in outputs:
    for spo in o["spo_list"]:
      assert spo["predicate"] in saved.task_args.predicates
      assert spo["subject"] in o["text"] and spo["object"] in o["text"]


# ---- Event extraction ----------------------------------------------------------------------------
def test_ee_schema_into_the_config_and_own_files(tmp_path):
  train, schema = write(tmp_path, "train.jsonl", EE_TRAIN), write(tmp_path, "s.json", EE_SCHEMA)
  config, task = _task("event_extraction", ee_task_args(
      dataset="duee", head_size=8, files=_files(train=train, eval=train, schema=schema)))
  rows = (("司法行为-入狱", "入狱者"), ("司法行为-入狱", "刑期"), ("公司上市", "上市公司"),
          ("公司上市", "环节", "筹备上市", "正式上市"))
  assert config.task_args.event_schema == rows
  assert task.schema == duee.read_event_schema(schema)
  assert task.examples("train") == duee.read_duee(train)
  assert task.examples("eval")[0].events[0].arguments[1] == duee.Argument("刑期", "3年", 9)
  # The saved rows alone rebuild the schema: the schema file is no longer read.
  _, again = _task("event_extraction", ee_task_args(
      dataset="duee", event_schema=rows, files=_files(train=train, schema=tmp_path / "gone")))
  assert again.schema == task.schema and again.labels == task.labels


def test_ee_fin_shape(tmp_path):
  train = write(tmp_path, "fin.jsonl", [{"title": "甲公司上市", "text": "甲公司今日正式上市。",
                                         "event_list": [{"event_type": "公司上市", "trigger": "上市",
                                                         "arguments": [{"role": "环节",
                                                                        "argument": "正式上市"}]}]}])
  schema = write(tmp_path, "s.json", EE_SCHEMA)
  _, task = _task("event_extraction", ee_task_args(
      dataset="duee_fin", files=_files(train=train, schema=schema)))
  assert task.format.fin
  (example,) = task.examples("train")
  assert example.text == "甲公司上市 甲公司今日正式上市。"
  assert example.events[0].arguments == (duee.Argument("环节", "正式上市", -1),)  # enum role


def test_ee_errors_name_the_file(tmp_path):
  train = write(tmp_path, "train.jsonl", EE_TRAIN)
  with pytest.raises(ValueError, match=r"set --config.task_args.files.schema=PATH \(the event "
                                       r"schema file\)"):
    _task("event_extraction", ee_task_args(dataset="duee", files=_files(train=train)))
  with pytest.raises(ValueError, match=r"unknown event_extraction task_args.dataset 'ace'"):
    _task("event_extraction", ee_task_args(dataset="ace"))
  _, task = _task("event_extraction", ee_task_args(
      event_schema=(("司法行为-入狱", "入狱者"),), files=_files(train=train)))
  with pytest.raises(ValueError, match=rf"^{train}: \(event type, role\) pairs "
                                       r"\[\('司法行为-入狱', '刑期'\)\] are not among the 1 "):
    task.examples("train")
  bad_schema = write(tmp_path, "bad_schema.json", '{"event_type": "X", "role_list": [{}]}\n')
  with pytest.raises(DataFormatError, match=rf"^{bad_schema}:1: missing or ill-typed field 'role'"):
    _task("event_extraction", ee_task_args(files=_files(train=train, schema=bad_schema)))
  bad = dict(EE_TRAIN[0], event_list=[dict(EE_TRAIN[0]["event_list"][0], trigger_start_index=4)])
  bad_train = write(tmp_path, "bad.jsonl", [EE_TRAIN[1], bad])
  _, task = _task("event_extraction", ee_task_args(
      files=_files(train=bad_train, schema=write(tmp_path, "s.json", EE_SCHEMA))))
  with pytest.raises(DataFormatError, match=rf"^{bad_train}:2: '有期徒刑' is not at "
                                            r"trigger_start_index=4"):
    task.examples("train")


@pytest.mark.slow
def test_ee_trains_and_predicts_on_own_files(tmp_path):
  train = write(tmp_path, "train.jsonl", EE_TRAIN)
  schema = write(tmp_path, "s.json", EE_SCHEMA[:1])  # no enumerated role: every start is real
  config = tiny_config("event_extraction", ee_task_args(
      dataset="duee", head_size=8, maxlen=32, files=_files(train=train, eval=train,
                                                           schema=schema)))
  metrics, saved, outputs = train_then_predict(
      config, tmp_path / "w", [{"text": "李四被判处有期徒刑5年"}, "无事件"], remove=(train, schema))
  assert saved.task_args.event_schema == (("司法行为-入狱", "入狱者"), ("司法行为-入狱", "刑期"))
  assert 0.0 <= metrics["f1"] <= 1.0
  assert [o["text"] for o in outputs] == ["李四被判处有期徒刑5年", "无事件"]
  types = {row[0] for row in saved.task_args.event_schema}
  for o in outputs:
    for event in o["event_list"]:
      assert event["event_type"] in types
      for argument in event["arguments"]:
        assert o["text"][argument["start"]:].startswith(argument["argument"])
