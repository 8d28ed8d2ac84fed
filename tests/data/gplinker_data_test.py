"""DuIE / DuEE readers on hand-written fixtures (expected values worked out by hand)."""
import os

import pytest

from flaxnlp import paths
from flaxnlp.data.formats import duee, duie
from flaxnlp.data.formats.errors import DataFormatError

FIX = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "gplinker")


def test_duie_v1():
  examples = duie.read_duie(os.path.join(FIX, "duie_v1.json"))
  assert examples[0] == duie.RelationExample("《星空》是周杰伦演唱的歌曲", (("星空", "歌手", "周杰伦"),))
  assert examples[1].triples == ()


def test_duie_v2_complex_object_flattened():
  (ex,) = duie.read_duie(os.path.join(FIX, "duie_v2.json"))
  assert ex.triples == (("王宝强", "饰演", "许三多"), ("王宝强", "饰演_inWork", "士兵突击"))
  assert duie.read_duie_schema(os.path.join(FIX, "duie_v2_schema.json")) == ["饰演", "饰演_inWork", "歌手"]


def test_duie_errors_name_file_and_line(tmp_path):
  path = tmp_path / "bad.json"
  path.write_text('{"text": "a", "spo_list": []}\n{"text": "b", "spo_list": [{"subject": "b"}]}\n',
                  encoding="utf-8")
  with pytest.raises(DataFormatError, match=r"bad.json:2: spo item"):
    duie.read_duie(path)
  path.write_text('{"text": 1}\n', encoding="utf-8")
  with pytest.raises(DataFormatError, match=r"bad.json:1:"):
    duie.read_duie(path)


def test_duee_shared_trigger():
  examples = duee.read_duee(os.path.join(FIX, "duee.json"))
  first, second = examples[0].events
  trigger = duee.Argument("触发词", "有期徒刑", 13)
  assert first == duee.Event("司法行为-入狱", trigger,
                             (duee.Argument("入狱者", "程杰", 0), duee.Argument("刑期", "22年", 17)))
  assert second.trigger == trigger and second.arguments[1] == duee.Argument("刑期", "20年", 21)
  assert examples[1].events == ()


def test_duee_bad_offset_is_reported():
  with pytest.raises(DataFormatError, match=r"duee_bad_offset.json:2: '裁员' is not at"):
    duee.read_duee(os.path.join(FIX, "duee_bad_offset.json"))


def test_duee_fin_normalisation_first_occurrence_and_enums():
  schema = duee.read_event_schema(os.path.join(FIX, "duee_fin_schema.json"))
  assert schema.roles == {"公司上市": ("上市公司", "环节"), "中标": ("中标公司",)}
  assert schema.enum_values == {("公司上市", "环节"): ("筹备上市", "暂停上市", "正式上市", "终止上市")}
  examples = duee.read_duee_fin(os.path.join(FIX, "duee_fin.json"))
  text = "甲公司 上市 甲公司和乙公司 今日上市。"
  assert examples[0].text == text
  e1, e2 = examples[0].events
  assert e1.trigger == e2.trigger == duee.Argument("触发词", "上市", 4)
  assert e1.arguments == (duee.Argument("上市公司", "甲公司", 0), duee.Argument("环节", "正式上市", -1))
  assert e2.arguments[0] == duee.Argument("上市公司", "乙公司", 11)
  assert examples[1].events == ()


def test_real_files_parse():
  root = str(paths.shared_data_dir())
  dev = os.path.join(root, "duee1.0", "dev.json")
  if not os.path.exists(dev):
    pytest.skip("shared DuEE/DuIE data absent")
  assert len(duee.read_duee(dev)) > 1000
  assert len(duee.read_event_schema(os.path.join(root, "duee1.0", "event_schema.json")).roles) == 65
  assert len(duie.read_duie_schema(os.path.join(root, "duie", "duie_v1_subset", "all_50_schemas"))) in (49, 50)
  assert duie.read_duie(os.path.join(root, "duie", "duie_v1_subset", "dev_data.json"))
