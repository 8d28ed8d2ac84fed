"""Tests of the WebQA / SogouQA and CMRC 2018 readers (flaxnlp.data.formats.qa)."""
import json

import numpy as np
import pytest

from flaxnlp import paths
from flaxnlp.data.formats import DataFormatError
from flaxnlp.data.formats import qa

CMRC_DIR = paths.shared_data_dir() / "cmrc2018"

RECORDS = [
    {"id": 7, "question": "金砖国家有哪些",
     "passages": [{"passage": "金砖国家是巴西、俄罗斯、印度、中国和南非。", "answer": "巴西 俄罗斯 印度 中国 南非"},
                  {"passage": "无关的文字", "answer": ""}]},
    {"question": "谁写了城南旧事",
     "passages": [{"passage": "城南旧事的作者是林海音。", "answer": "林海音"},
                  {"passage": "林海音写了城南旧事", "answer": "林海音"}]},
]


def _write(tmp_path, text, name="WebQA.json"):
  path = tmp_path / name
  path.write_text(text, encoding="utf-8")
  return path


def test_read_webqa_structure(tmp_path):
  path = _write(tmp_path, json.dumps(RECORDS, ensure_ascii=False, indent=2))
  examples = qa.read_webqa(path)
  assert [e.id for e in examples] == ["7", "1"]  # record index when there is no id
  assert examples[0].question == "金砖国家有哪些"
  assert examples[0].passages[1] == qa.Passage("无关的文字", "")
  assert examples[0].gold_answers == ("巴西 俄罗斯 印度 中国 南非",)
  assert examples[1].gold_answers == ("林海音",)  # distinct non-empty answers
  assert qa.read_webqa(_write(tmp_path, " [ ] ")) == []


def test_read_webqa_errors_name_the_record_line(tmp_path):
  bad = [RECORDS[0], {"id": "x", "passages": []}, RECORDS[1]]
  lines = ["[", json.dumps(bad[0], ensure_ascii=False) + ",", "  " + json.dumps(bad[1]) + ",",
           json.dumps(bad[2], ensure_ascii=False), "]"]
  path = _write(tmp_path, "\n".join(lines))
  with pytest.raises(DataFormatError) as info:
    qa.read_webqa(path)
  assert info.value.line == 3 and info.value.path == str(path)
  assert "record 1" in info.value.message and "question" in info.value.message

  bad_passage = [{"question": "q", "passages": [{"passage": "p"}]}]
  with pytest.raises(DataFormatError, match="passage 0"):
    qa.read_webqa(_write(tmp_path, json.dumps(bad_passage)))

  with pytest.raises(DataFormatError) as info:
    qa.read_webqa(_write(tmp_path, '[\n{"question": "q",\n "passages": [}\n]'))
  assert info.value.line == 3

  with pytest.raises(DataFormatError, match="JSON list"):
    qa.read_webqa(_write(tmp_path, '\n{"question": "q"}'))


def test_missing_files_say_where_to_get_them(tmp_path):
  _write(tmp_path, "[]", "WebQA.json")
  with pytest.raises(FileNotFoundError, match="SogouQA.json.*pan.baidu.com"):
    qa.read_sogou_webqa_dir(tmp_path)
  _write(tmp_path, json.dumps(RECORDS, ensure_ascii=False), "SogouQA.json")
  sogou, webqa = qa.read_sogou_webqa_dir(tmp_path)
  assert len(sogou) == 2 and webqa == []


def test_sogou_split():
  order = [5, 2, 0, 4, 1, 3, 6]
  train, valid = qa.sogou_split(7, order)
  np.testing.assert_array_equal(valid, [5, 4, 6])  # positions 0, 3, 6
  np.testing.assert_array_equal(train, [2, 0, 1, 3])
  train, valid = qa.sogou_split(30, seed=1)
  assert len(valid) == 10 and sorted(np.concatenate([train, valid]).tolist()) == list(range(30))
  with pytest.raises(ValueError):
    qa.sogou_split(3, [0, 0, 1])


def _cmrc(tmp_path, articles):
  return _write(tmp_path, json.dumps({"version": "v1.0", "data": articles}, ensure_ascii=False,
                                     indent=2), "cmrc.json")


def test_cmrc_windows(tmp_path):
  context = "甲" * 10 + "答案在此" + "乙" * 10
  article = {"id": "A", "paragraphs": [{"id": "P", "context": context, "qas": [
      {"id": "Q0", "question": "问?", "answers": [{"text": "答案在此", "answer_start": 10},
                                                  {"text": "答案", "answer_start": 10}]}]}]}
  path = _cmrc(tmp_path, [article])
  (whole,) = qa.read_cmrc2018(path)
  assert whole.passages == [qa.Passage(context, "答案在此")]
  assert whole.gold_answers == ("答案在此", "答案")
  (cut,) = qa.read_cmrc2018(path, max_passage_chars=12)
  # windows [0:12], [12:24]: the first holds only "答案", the second neither answer
  assert cut.passages == [qa.Passage(context[:12], "答案"), qa.Passage(context[12:], "")]
  (overlap,) = qa.read_cmrc2018(path, max_passage_chars=16, stride=8)
  assert [p.text for p in overlap.passages] == [context[0:16], context[8:24]]
  assert [p.answer for p in overlap.passages] == ["答案在此", "答案在此"]


def test_cmrc_errors(tmp_path):
  good = {"paragraphs": [{"context": "c", "qas": []}]}
  path = _cmrc(tmp_path, [good, {"title": "no paragraphs"}])
  with pytest.raises(DataFormatError, match=r"data\[1\]") as info:
    qa.read_cmrc2018(path)
  text = path.read_text(encoding="utf-8").splitlines()
  assert '"title"' in text[info.value.line]  # the line after the article's opening brace
  with pytest.raises(DataFormatError, match="qas"):
    qa.read_cmrc2018(_cmrc(tmp_path, [{"paragraphs": [{"context": "c", "qas": [{"id": "q"}]}]}]))


@pytest.mark.parametrize("name,questions,answers", [("cmrc2018_dev.json", 3219, 9657),
                                                    ("cmrc2018_trial.json", 1002, 1002)])
def test_cmrc_real_counts(name, questions, answers):
  path = CMRC_DIR / name
  if not path.is_file():
    pytest.skip(f"{path} absent (shared developer data)")
  examples = qa.read_cmrc2018(path)
  assert len(examples) == questions
  assert sum(len(e.gold_answers) for e in examples) == answers
  assert len({e.id for e in examples}) == questions
  windowed = qa.read_cmrc2018(path, max_passage_chars=254)
  for whole, cut in zip(examples, windowed):
    assert "".join(p.text for p in cut.passages) == whole.passages[0].text
    assert all(len(p.text) <= 254 for p in cut.passages)
    assert all(p.answer == "" or (p.answer in p.text and p.answer in whole.gold_answers)
               for p in cut.passages)
  assert max(len(e.passages) for e in windowed) > 1
