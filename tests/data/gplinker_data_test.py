"""DuIE / DuEE readers on hand-written fixtures (expected values worked out by hand)."""
import os

import pytest

from flaxnlp import paths
from flaxnlp.data import extraction_datasets
from flaxnlp.data.formats import duee, duie
from flaxnlp.data.formats.errors import DataFormatError
from flaxnlp.tasks.event_extraction import ee_task_args

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


def test_duee_preset_split_is_a_seeded_document_draw(tmp_path):
  """"train" = `num_train` dev documents drawn by `split_seed`, "eval" the rest, both in file
  order; the draw mixes a type-ordered file (what a prefix split would not)."""
  docs = [f"文档{i}" for i in range(12)]
  (tmp_path / "dev.json").write_text(
      "".join(f'{{"text": "{t}", "id": "{i}"}}\n' for i, t in enumerate(docs)), encoding="utf-8")
  (tmp_path / "event_schema.json").write_text('{"event_type": "甲", "role_list": []}\n',
                                              encoding="utf-8")

  def split(seed, num_train=8):
    args = ee_task_args(data_dir=str(tmp_path), num_train=num_train, split_seed=seed)
    schema = extraction_datasets.schema_from_rows(extraction_datasets.event_schema_rows(args))
    return [[ex.text for ex in extraction_datasets.read_ee_split(args, s, schema)]
            for s in ("train", "dev")]

  train, held = split(0)
  assert len(train) == 8 and sorted(train + held) == sorted(docs)
  assert train == [t for t in docs if t in train] and held == [t for t in docs if t in held]
  assert split(0) == [train, held]
  assert train != docs[:8]
  assert len({tuple(split(seed)[0]) for seed in range(5)}) > 1
  assert split(0, num_train=12)[1] == []
  with pytest.raises(ValueError, match="num_train=13: dev.json has 12 documents"):
    split(0, num_train=13)
