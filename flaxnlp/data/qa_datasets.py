"""The reading-comprehension datasets and their splits (task "reading_comprehension").

Datasets (`task_args.dataset`):
  * "webqa_sogouqa": `data_dir` with SogouQA.json and WebQA.json (bojone's Baidu-pan files);
    eval = 1/3 of Sogou (`qa.sogou_split`, `random_order.json` in data_dir when present, else a
    seeded permutation); train = Sogou-train twice + WebQA (Sogou:WebQA = 2:1).
  * "cmrc2018": the dev + trial files under `data_dir` (default `paths.shared_data_dir()/cmrc2018`;
    the official train file is not available here). Contexts are cut into windows of
    `cmrc_window_chars` characters, each a passage, so the vote matters. Split by article:
    `cmrc_eval_fraction` of the dev articles (seeded) is "eval", the rest of dev (+ trial when
    `cmrc_train_trial`) is "train"; "trial" is also a split. Scores are NOT comparable to the
    official CMRC 2018 dev results (different training data, windowed multi-passage input).
Your own data: `dataset` = "squad" | "webqa" reads `task_args.files.train` / `.eval` / `.test`
(test optional), each a file of that shape: "squad" = SQuAD v1.1 / CMRC 2018 JSON
(`{"data": [{"paragraphs": [{"context", "qas": [{"id", "question", "answers": [{"text"}]}]}]}]}`,
contexts cut into `cmrc_window_chars` windows as for "cmrc2018"), "webqa" = bojone's WebQA /
SogouQA JSON list (`[{"id"?, "question", "passages": [{"passage", "answer"}]}]`, `answer` "" in a
passage without it). Every split is that file as it is (no held-out part, no duplication).
"""
from __future__ import annotations

import functools
import json
import pathlib

import ml_collections
import numpy as np

from flaxnlp import paths
from flaxnlp.data import own_files
from flaxnlp.data.formats import qa

PRESETS = ("cmrc2018", "webqa_sogouqa")
FILE_FORMATS = ("squad", "webqa")


def check(args: ml_collections.ConfigDict) -> None:
  """ValueError unless `task_args.dataset` is a preset (with its data_dir) or a file format."""
  if args.dataset not in PRESETS + FILE_FORMATS:
    raise ValueError(f"config.task_args.dataset={args.dataset!r}; a preset "
                     f"{' | '.join(PRESETS)} or a file format {' | '.join(FILE_FORMATS)} with "
                     "task_args.files")
  if args.dataset == "webqa_sogouqa" and not args.data_dir:
    raise ValueError("config.task_args.data_dir is not set (folder with SogouQA.json and "
                     f"WebQA.json; see {qa.SOGOU_WEBQA_DOWNLOAD})")


def _read_squad(args: ml_collections.ConfigDict):
  """`qa.read_cmrc2018` with the configured context windows."""
  return functools.partial(qa.read_cmrc2018,
                           max_passage_chars=int(args.cmrc_window_chars) or None,
                           stride=int(args.cmrc_stride) or None)


def read_split(args: ml_collections.ConfigDict, split: str, seed: int,
               cache: dict[str, list[qa.QAExample]]) -> list[qa.QAExample]:
  """The examples of `split` that `task_args` name, read once into `cache` (a preset reads all
  its splits at once, `read_splits`; a file format the file of `split` alone)."""
  if args.dataset in FILE_FORMATS:
    split = own_files.split_name(split)
    if split not in cache:
      path = own_files.file_path(args.dataset, args.files, split)
      cache[split] = (qa.read_webqa if args.dataset == "webqa" else _read_squad(args))(path)
  elif not cache:
    cache.update(read_splits(args, seed))
  if split not in cache:
    raise ValueError(f"unknown split {split!r}; valid: {sorted(cache)}")
  return cache[split]


def article_id(example: qa.QAExample) -> str:
  """The article of a SQuAD-style question (`{article}_QUERY_{n}` ids; else the question id)."""
  return example.id.split("_QUERY_")[0]


def example_from_json(obj) -> qa.QAExample:
  """A predict-mode input `{"question": str, "passages": [str | {"passage": str}], ["id"],
  ["answers"]}` as a question."""
  if not isinstance(obj, dict) or "question" not in obj or "passages" not in obj:
    raise ValueError("predict input needs 'question' and 'passages' fields, got "
                     f"{sorted(obj) if isinstance(obj, dict) else type(obj).__name__}")
  passages = [qa.Passage(p["passage"] if isinstance(p, dict) else str(p),
                         p.get("answer", "") if isinstance(p, dict) else "")
              for p in obj["passages"]]
  return qa.QAExample(str(obj.get("id", "")), obj["question"], passages,
                      tuple(obj.get("answers", ())))


def read_splits(args: ml_collections.ConfigDict, seed: int) -> dict[str, list[qa.QAExample]]:
  """Every split of the dataset that reading-comprehension `task_args` name (module docstring);
  `seed` draws the held-out part."""
  data_dir = (pathlib.Path(args.data_dir) if args.data_dir
              else paths.shared_data_dir() / "cmrc2018")
  if args.dataset == "webqa_sogouqa":
    sogou, webqa = qa.read_sogou_webqa_dir(data_dir)
    order_file = data_dir / "random_order.json"
    order = json.loads(order_file.read_text()) if order_file.is_file() else None
    train_idx, valid_idx = qa.sogou_split(len(sogou), order, seed=seed)
    sogou_train = [sogou[i] for i in train_idx]
    return {"train": sogou_train + sogou_train + webqa, "eval": [sogou[i] for i in valid_idx]}
  read = _read_squad(args)
  dev_file = data_dir / "cmrc2018_dev.json"
  if not dev_file.is_file():
    raise FileNotFoundError(f"{dev_file} not found (CMRC 2018 dev set, SQuAD format, from "
                            "github.com/ymcui/cmrc2018 squad-style-data/)")
  dev = read(dev_file)
  articles = sorted({article_id(ex) for ex in dev})
  rng = np.random.default_rng(seed)
  n_eval = int(round(len(articles) * float(args.cmrc_eval_fraction)))
  held_out = {articles[i] for i in rng.permutation(len(articles))[:n_eval]}
  splits = {"train": [ex for ex in dev if article_id(ex) not in held_out],
            "eval": [ex for ex in dev if article_id(ex) in held_out]}
  trial_file = data_dir / "cmrc2018_trial.json"
  if trial_file.is_file():
    splits["trial"] = read(trial_file)
    if args.cmrc_train_trial:
      splits["train"] = splits["train"] + splits["trial"]
  return splits
