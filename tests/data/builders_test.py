"""The tfds array_record cache of task examples (`flaxnlp.data.builders`): it holds exactly the
examples `task.examples(split)` returns, on the real datasets; it is built once and reused; task
configs never share a cache; training through it gives the identical loss; malformed original files
still fail with the reader's file:line. Tests on ../shared/data skip when it is absent; the Chinese
vocabulary and MSRA come from the pinned data packages that `make test` installs, so they must be
there."""
import importlib.util
import json
import pathlib

import grain
import pytest

from flaxnlp import configs, paths
from flaxnlp.data import builders
from flaxnlp.data.formats import DataFormatError
from flaxnlp.tasks import registry
from flaxnlp.tasks import toy
from flaxnlp.train import trainer


def task_source(task, split, data_dir):
  """`task`'s examples of `split` through the tfds cache the trainer would use."""
  return builders.examples_source(lambda: task.examples(split),
                                  builders.config_name(task.config, split), split, data_dir)


ROOT = pathlib.Path(__file__).resolve().parents[2]


def tiny_config(**train):
  spec = importlib.util.spec_from_file_location("_tiny", ROOT / "experiments" / "_tiny.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  with config.unlocked():
    config.train.update(train)
  return config


def make_task(name, task_args, seed=0):
  c = configs.base_config()
  c.task, c.task_args, c.seed = name, task_args, seed
  return registry.get(name)(registry.resolve(c))


def shared(*parts) -> pathlib.Path:
  path = paths.shared_data_dir().joinpath(*parts)
  if not path.exists():
    pytest.skip(f"{path} is absent (shared developer data)")
  return path


def msra_task():
  from flaxnlp.tasks import ner  # pylint: disable=import-outside-toplevel
  return make_task("ner", ner.ner_task_args(dataset="msra", max_train_examples=3000))


def cluener_task():
  from flaxnlp.tasks import ner  # pylint: disable=import-outside-toplevel
  return make_task("ner", ner.ner_task_args(dataset="cluener",
                                            data_dir=str(shared("cluener2020"))))


def duie_task():
  from flaxnlp.tasks import relation_extraction  # pylint: disable=import-outside-toplevel
  return make_task("relation_extraction", relation_extraction.re_task_args(
      data_dir=str(shared("duie", "duie_v1_subset"))))


def duee_task():
  from flaxnlp.tasks import event_extraction  # pylint: disable=import-outside-toplevel
  return make_task("event_extraction", event_extraction.ee_task_args(
      data_dir=str(shared("duee1.0"))))


def cmrc_task():
  from flaxnlp.tasks import reading_comprehension  # pylint: disable=import-outside-toplevel
  return make_task("reading_comprehension", reading_comprehension.rc_task_args(
      "cmrc2018", data_dir=str(shared("cmrc2018"))))


def goemotions_task():
  from flaxnlp.tasks import classification  # pylint: disable=import-outside-toplevel
  return make_task("classification", classification.task_args(str(shared("goemotions"))))


# (task factory, splits): every example of every listed split is compared (MSRA train is limited
# to 3,000 sentences by `max_train_examples`; reading all of msra.txt takes 4 s per split).
REAL = {
    "msra": (msra_task, ("train", "eval")),
    "cluener": (cluener_task, ("train", "eval")),
    "duie": (duie_task, ("train", "eval")),
    "duee": (duee_task, ("train", "eval")),
    "cmrc2018": (cmrc_task, ("train", "eval")),
    "goemotions": (goemotions_task, ("eval", "test")),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_cache_holds_the_reader_examples(tmp_path, name):
  factory, splits = REAL[name]
  task = factory()
  for split in splits:
    want = list(task.examples(split))
    source = task_source(task, split, tmp_path)
    assert len(source) == len(want) > 0
    assert list(source) == want, f"{name} {split}"
    assert type(source[0]) is type(want[0])
    assert source[-1] == want[-1] and source[1:3] == want[1:3]


def test_source_is_a_lazy_grain_source(tmp_path):
  task = make_task("toy", toy.toy_task_args())
  source = task_source(task, "train", tmp_path)
  ds = grain.MapDataset.source(source)
  assert len(ds) == 64 and ds[5] == task.examples("train")[5]
  with pytest.raises(IndexError):
    source[64]  # pylint: disable=pointless-statement


def test_second_call_reuses_the_cache(tmp_path, monkeypatch):
  calls = []
  generate = builders.TaskExamples._generate_examples

  def counting(self):
    calls.append(self._split)
    return generate(self)

  monkeypatch.setattr(builders.TaskExamples, "_generate_examples", counting)
  task = make_task("toy", toy.toy_task_args())
  first = task_source(task, "train", tmp_path)
  files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
  mtimes = [p.stat().st_mtime_ns for p in files]
  again = task_source(make_task("toy", toy.toy_task_args()), "train", tmp_path)
  assert calls == ["train"]
  assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == files
  assert [p.stat().st_mtime_ns for p in files] == mtimes
  assert list(again) == list(first)


def test_configs_never_share_a_cache(tmp_path):
  base = make_task("toy", toy.toy_task_args())
  same = make_task("toy", toy.toy_task_args())
  others = [make_task("toy", toy.toy_task_args(num_train=65)),
            make_task("toy", toy.toy_task_args(maxlen=11)),
            make_task("toy", toy.toy_task_args(), seed=1)]
  names = [builders.config_name(t.config, "train") for t in [base, *others]]
  assert builders.config_name(same.config, "train") == names[0]
  assert len(set(names)) == len(names)
  assert builders.config_name(base.config, "eval") != names[0]
  assert names[0].startswith("toy-train-")
  assert len(task_source(base, "train", tmp_path)) == 64
  assert len(task_source(others[0], "train", tmp_path)) == 65
  assert sorted(p.name for p in (tmp_path / "task_examples").iterdir()) == sorted(names[:2])


def test_training_through_the_cache_gives_the_identical_loss(tmp_path):
  rows = {}
  for tag, tfds_dir in (("plain", ""), ("tfds", str(tmp_path / "tfds"))):
    summary = trainer.run(tiny_config(tfds_data_dir=tfds_dir), tmp_path / tag).summary
    assert summary["steps"] == 12
    rows[tag] = [{k: v for k, v in json.loads(line).items() if k not in ("time", "wall_s")}
                 for line in (tmp_path / tag / "metrics.jsonl").read_text().splitlines()]
  # Both the training and the evaluation split went through the cache.
  assert len(list((tmp_path / "tfds" / "task_examples").iterdir())) == 2
  assert sum("loss" in r for r in rows["tfds"] if r["split"] == "train") == 4
  assert [{k: r[k] for k in ("step", "split", "loss") if k in r} for r in rows["tfds"]] == \
      [{k: r[k] for k in ("step", "split", "loss") if k in r} for r in rows["plain"]]
  evals = [(r["step"], r["exact_match"]) for r in rows["tfds"] if "exact_match" in r]
  assert evals and evals == [(r["step"], r["exact_match"]) for r in rows["plain"]
                             if "exact_match" in r]


def test_malformed_original_file_fails_with_file_and_line(tmp_path):
  from flaxnlp.tasks import ner  # pylint: disable=import-outside-toplevel
  data = tmp_path / "cluener"
  data.mkdir()
  (data / "train.json").write_text(
      '{"text": "浙商银行", "label": {"company": {"浙商银行": [[0, 3]]}}}\n{"text": "abc", \n',
      encoding="utf-8")
  task = make_task("ner", ner.ner_task_args(dataset="cluener", data_dir=str(data)))
  with pytest.raises(DataFormatError) as info:
    task_source(task, "train", tmp_path / "tfds")
  assert str(info.value).startswith(f"{data / 'train.json'}:2: ")
