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
"""
from __future__ import annotations

import functools
import json
import pathlib

import ml_collections
import numpy as np

from flaxnlp import paths
from flaxnlp.data.formats import qa


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
  window = int(args.cmrc_window_chars) or None
  read = functools.partial(qa.read_cmrc2018, max_passage_chars=window,
                           stride=int(args.cmrc_stride) or None)
  dev_file = data_dir / "cmrc2018_dev.json"
  if not dev_file.is_file():
    raise FileNotFoundError(f"{dev_file} not found (CMRC 2018 dev set, SQuAD format, from "
                            "github.com/ymcui/cmrc2018 squad-style-data/)")
  dev = read(dev_file)
  articles = sorted({ex.id.split("_QUERY_")[0] for ex in dev})
  rng = np.random.default_rng(seed)
  n_eval = int(round(len(articles) * float(args.cmrc_eval_fraction)))
  held_out = {articles[i] for i in rng.permutation(len(articles))[:n_eval]}
  splits = {"train": [ex for ex in dev if ex.id.split("_QUERY_")[0] not in held_out],
            "eval": [ex for ex in dev if ex.id.split("_QUERY_")[0] in held_out]}
  trial_file = data_dir / "cmrc2018_trial.json"
  if trial_file.is_file():
    splits["trial"] = read(trial_file)
    if args.cmrc_train_trial:
      splits["train"] = splits["train"] + splits["trial"]
  return splits
