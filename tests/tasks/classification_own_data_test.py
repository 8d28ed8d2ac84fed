"""Classification on your own files (issue 14): the "tsv" and "jsonl" readers, the label list
(given, from a labels file, or from the training file, recorded by resolving the config), malformed
lines, and a run that trains and predicts on files written here."""
import json

import pytest

from flaxnlp import configs, paths
from flaxnlp.data.formats import DataFormatError, multilabel
from flaxnlp.data.formats.goemotions import MultiLabelExample
from flaxnlp.tasks import classification, registry

from own_data_testing import tiny_config, train_then_predict, write

TSV = "今天很开心\t喜悦\n气死我了，真烦\t愤怒,厌恶\tc7\n\n没什么感觉\t\n"
JSONL = [{"text": "今天很开心", "labels": ["喜悦"]},
         {"text": "气死我了，真烦", "labels": ["愤怒", "厌恶"], "id": 7, "extra": 1},
         {"text": "没什么感觉", "labels": []}]


def test_tsv_reader(tmp_path):
  assert multilabel.read_label_tsv(write(tmp_path, "a.tsv", TSV)) == [
      multilabel.LabelledText("今天很开心", ("喜悦",), None, 1),
      multilabel.LabelledText("气死我了，真烦", ("愤怒", "厌恶"), "c7", 2),
      multilabel.LabelledText("没什么感觉", (), None, 4)]


def test_jsonl_reader(tmp_path):
  assert multilabel.read_label_jsonl(write(tmp_path, "a.jsonl", JSONL)) == [
      multilabel.LabelledText("今天很开心", ("喜悦",), None, 1),
      multilabel.LabelledText("气死我了，真烦", ("愤怒", "厌恶"), "7", 2),
      multilabel.LabelledText("没什么感觉", (), None, 3)]


def test_entries_are_names_else_ids(tmp_path):
  path = write(tmp_path, "a.tsv", "甲\t愤怒,0\n乙\t2,喜悦,2\n")
  records = multilabel.read_label_tsv(path)
  assert multilabel.to_examples(path, records, ("喜悦", "愤怒", "厌恶")) == [
      MultiLabelExample("甲", (0, 1)), MultiLabelExample("乙", (0, 2))]
  with pytest.raises(DataFormatError, match=r"a.tsv:2: label '2' is neither one of the 1 labels "
                                            r"\(愤怒\) nor a label id in \[0, 1\)"):
    multilabel.to_examples(path, records, ("愤怒",))


@pytest.mark.parametrize("line, message", [
    ("只有文本", r"expected 'text<TAB>labels' or 'text<TAB>labels<TAB>id' .* found 1 "),
    ("文本\t喜悦\tid\t多余", "found 4 tab-separated"),
    ("\t喜悦", r"the text \(before the first tab\) is empty"),
    ("文本\t喜悦,,愤怒", r"empty label in '喜悦,,愤怒'"),
])
def test_tsv_malformed_names_file_and_line(tmp_path, line, message):
  path = write(tmp_path, "bad.tsv", f"好\t喜悦\n{line}\n")
  with pytest.raises(DataFormatError, match=rf"^{path}:2: .*{message}"):
    multilabel.read_label_tsv(path)


@pytest.mark.parametrize("line, message", [
    ('{"labels": ["喜悦"]}', 'expected an object with a string "text"'),
    ('{"text": "好"}', r'"labels" must be a list of label names .* found None'),
    ('{"text": "好", "labels": [""]}', r'"labels" must be a list'),
    ('{"text": "好", "labels": [true]}', r'"labels" must be a list'),
    ('{"text": "好", "labels": [], "id": [1]}', '"id" must be a string or integer'),
    ("{oops", "not valid JSON"),
])
def test_jsonl_malformed_names_file_and_line(tmp_path, line, message):
  path = write(tmp_path, "bad.jsonl", '{"text": "好", "labels": ["喜悦"]}\n' + line + "\n")
  with pytest.raises(DataFormatError, match=rf"^{path}:2: {message}"):
    multilabel.read_label_jsonl(path)


def _task(**task_args):
  c = configs.base_config()
  c.task = "classification"
  c.task_args = classification.task_args(vocab=str(paths.chinese_bert_vocab()), **task_args)
  c.model = configs.bert_config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32)
  c.lock()
  c = registry.resolve(c)
  return c, registry.get("classification")(c)


def _files(**paths_):
  return dict(dict(train="", eval="", test="", labels=""), **{k: str(v) for k, v in
                                                              paths_.items()})


def test_labels_from_the_training_file_into_the_config(tmp_path):
  train = write(tmp_path, "train.tsv", TSV)
  evaluation = write(tmp_path, "eval.jsonl", [{"text": "烦", "labels": ["厌恶", "悲伤"]}])
  config, task = _task(dataset="tsv", files=_files(train=train, eval=evaluation))
  assert task.label_names == config.task_args.labels == ("厌恶", "喜悦", "愤怒")
  assert json.loads(configs.to_json(config))["task_args"]["labels"] == ["厌恶", "喜悦", "愤怒"]
  assert task.examples("train") == [MultiLabelExample("今天很开心", (1,)),
                                    MultiLabelExample("气死我了，真烦", (0, 2), "c7"),
                                    MultiLabelExample("没什么感觉", ())]
  with pytest.raises(ValueError, match="set --config.task_args.files.test=PATH"):
    task.examples("test")
  # The eval file is read as "tsv" (the dataset's one format): its JSON line is malformed.
  with pytest.raises(DataFormatError, match=r"eval.jsonl:1: expected 'text<TAB>labels'"):
    task.examples("eval")


def test_labels_given_or_from_a_labels_file(tmp_path):
  train = write(tmp_path, "train.jsonl", JSONL)
  names = write(tmp_path, "labels.txt", "愤怒\n喜悦\n厌恶\n中性\n")
  config, task = _task(dataset="jsonl", files=_files(train=train, labels=names))
  assert task.label_names == config.task_args.labels == ("愤怒", "喜悦", "厌恶", "中性")
  assert [ex.labels for ex in task.examples("train")] == [(1,), (0, 2), ()]
  _, task = _task(dataset="jsonl", labels=("喜悦",), files=_files(train=tmp_path / "gone"))
  assert task.label_names == ("喜悦",)  # given labels: the training file is not read
  _, task = _task(dataset="jsonl", labels=("喜悦",), files=_files(train=train))
  with pytest.raises(DataFormatError, match=r"train.jsonl:2: label '愤怒' is neither one of"):
    task.examples("train")


def test_missing_files_and_presets(tmp_path):
  with pytest.raises(FileNotFoundError, match=rf"tsv train file {tmp_path / 'no.tsv'} not found "
                                              r"\(--config.task_args.files.train\)"):
    _task(dataset="tsv", files=_files(train=tmp_path / "no.tsv"))
  with pytest.raises(ValueError, match=r"set --config.task_args.files.train=PATH"):
    _task(dataset="jsonl")
  with pytest.raises(ValueError, match=r"task_args.dataset='csv'; the preset goemotions or a file "
                                       r"format tsv \| jsonl"):
    _task(dataset="csv")
  (tmp_path / "labels.txt").write_text("x\ny\n", encoding="utf-8")
  with pytest.raises(ValueError, match=r"labels=\('a',\) but .*labels.txt gives \('x', 'y'\); "
                                       "labels can be set for task_args.files only"):
    _task(data_dir=str(tmp_path), labels=("a",))
  config, _ = _task(data_dir=str(tmp_path))  # the preset's labels are recorded, and accepted again
  assert config.task_args.labels == ("x", "y") and registry.resolve(config) == config
  write(tmp_path, "labels.txt", "a\nb\n")
  _, task = _task(data_dir=str(tmp_path))  # the preset: labels.txt in data_dir
  assert task.label_names == ("a", "b")


@pytest.mark.slow
def test_trains_and_predicts_on_own_files(tmp_path):
  train = write(tmp_path, "train.tsv", TSV * 3)
  evaluation = write(tmp_path, "eval.tsv", "开心\t喜悦\n真烦\t厌恶,1\n")
  config = tiny_config("classification", classification.task_args(
      vocab=str(paths.chinese_bert_vocab()), maxlen=16, dataset="tsv",
      files=_files(train=train, eval=evaluation)), buckets=(16,))
  metrics, saved, outputs = train_then_predict(
      config, tmp_path / "w", [{"text": "今天很开心"}, {"text": "烦", "id": "x"}],
      remove=(train, evaluation))
  assert saved.task_args.labels == ("厌恶", "喜悦", "愤怒")
  assert 0.0 <= metrics["macro_f1"] <= 1.0
  assert [(o["text"], o["id"]) for o in outputs] == [("今天很开心", None), ("烦", "x")]
  for o in outputs:
    assert o["label_names"] == [saved.task_args.labels[i] for i in o["labels"]]
