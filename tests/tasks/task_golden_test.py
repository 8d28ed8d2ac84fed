"""Golden values of every registered task: loss on a fixed batch with fixed params, and decodes.

For each case a tiny random model is initialised from a fixed key; the test pins, against
`fixtures/task_golden.json`, the loss and aux metrics (deterministic, and with dropout from a
fixed key), and the decoded predictions of a fixed evaluation batch (their sha256 and sizes). The values were written by
the code before the task contract was refactored (`python tests/tasks/task_golden_test.py` rewrites
them: do that only for a deliberate change of behaviour), so a refactor that changes any task's
numbers or decoding fails here.
"""
from __future__ import annotations

import hashlib
import json
import math
import pathlib
import shutil
import sys

import flax.linen as nn
import jax
import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.data.formats import NerExample, duee, duie, goemotions, qa
from flaxnlp.tasks import classification, event_extraction, ner, pretraining
from flaxnlp.tasks import reading_comprehension, registry, relation_extraction, toy

GOLDEN = pathlib.Path(__file__).parents[1] / "fixtures" / "task_golden.json"
FIX = pathlib.Path(__file__).parents[1] / "fixtures" / "gplinker"
LENGTH = 32


def _tiny_model(**overrides):
  return configs.bert_config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=32, **overrides)


def _config(task: str, task_args, **model):
  c = configs.base_config()
  c.task, c.task_args, c.model = task, task_args, _tiny_model(**model)
  return c


NER_TEXTS = [NerExample("张三在北京大学读书", [(0, 1, "PER"), (3, 6, "ORG")]),
             NerExample("李四去了上海", [(0, 1, "PER"), (4, 5, "LOC")])]


def _ner(**args):
  return lambda tmp: (_config("ner", ner.ner_task_args(head_size=8, **args)), NER_TEXTS,
                      NER_TEXTS)


def _classification(tmp):
  (tmp / "labels.txt").write_text("joy\nanger\nfear\n", encoding="utf-8")
  from flaxnlp import paths  # pylint: disable=import-outside-toplevel
  c = _config("classification", classification.task_args(str(tmp), str(paths.chinese_bert_vocab()),
                                                          maxlen=16))
  exs = [goemotions.MultiLabelExample("今天很开心", (0,), "a"),
         goemotions.MultiLabelExample("我很生气也害怕", (1, 2), "b")]
  return c, exs, exs


def _relation_extraction(tmp):
  shutil.copy(FIX / "duie_v1.json", tmp / "train_data.json")
  shutil.copy(FIX / "duie_v1.json", tmp / "dev_data.json")
  (tmp / "all_50_schemas").write_text(
      '{"object_type": "人物", "predicate": "作曲", "subject_type": "歌曲"}\n'
      '{"object_type": "人物", "predicate": "歌手", "subject_type": "歌曲"}\n', encoding="utf-8")
  c = _config("relation_extraction",
              relation_extraction.re_task_args(data_dir=str(tmp), head_size=8))
  exs = duie.read_duie(tmp / "train_data.json")
  return c, exs, exs


def _event_extraction(tmp):
  shutil.copy(FIX / "duee.json", tmp / "dev.json")
  (tmp / "event_schema.json").write_text(
      '{"event_type": "司法行为-入狱", "role_list": [{"role": "入狱者"}, {"role": "刑期"}]}\n',
      encoding="utf-8")
  c = _config("event_extraction",
              event_extraction.ee_task_args(data_dir=str(tmp), head_size=8, num_train=2))
  exs = duee.read_duee(tmp / "dev.json")
  return c, exs, exs


def _reading_comprehension(tmp):
  c = _config("reading_comprehension", reading_comprehension.rc_task_args(
      "cmrc2018", str(tmp), max_p_len=20, max_q_len=8, max_a_len=4, beam_size=2))
  exs = [qa.QAExample("q1", "谁在北京读书", [qa.Passage("张三在北京大学读书", "张三"),
                                             qa.Passage("李四去了上海", "")], ("张三",)),
         qa.QAExample("q2", "李四去了哪里", [qa.Passage("李四去了上海", "上海")], ("上海",))]
  return c, exs, exs


def _pretraining(tmp):
  c = _config("pretraining", pretraining.task_args(
      corpus_dir=str(tmp), seq_len=16,
      objectives=configs.ml_collections.ConfigDict(dict(mlm=0.5, unilm=0.5))))
  task = registry.get("pretraining")(c)
  np.save(tmp / "unigram.npy", np.arange(task.tokenizer.vocab_size, dtype=np.int64) % 7)
  exs = []
  for text in ("张三在北京大学读书。李四去了上海。", "今天很开心，我们去公园玩。"):
    ids = np.asarray(task.tokenizer.encode(text).ids[1:-1], np.int32)
    flags = np.full(len(ids), 1, np.int32)
    flags[::5] |= 2
    exs.append((ids, flags))
  return c, exs, exs


def _toy(tmp):
  del tmp
  c = _config("toy", toy.toy_task_args())
  task = registry.get("toy")(c)
  return c, task.examples("train")[:3], task.examples("eval")[:3]


CASES = {
    "toy": _toy,
    "classification": _classification,
    "ner_egp_dense": _ner(head="egp", loss="dense"),
    "ner_gp_sparse": _ner(head="gp", loss="sparse"),
    "ner_egp_blockwise": _ner(head="egp", loss="blockwise", block_size=8),
    "ner_crf": _ner(head="crf"),
    "relation_extraction": _relation_extraction,
    "event_extraction": _event_extraction,
    "reading_comprehension": _reading_comprehension,
    "pretraining": _pretraining,
}


def _init_params(task, batch):
  """Fixed params: `task.init_params` on the dummy batch, key 0 (unboxed)."""
  return nn.unbox(task.init_params(jax.random.key(0), batch))


def _canonical(x):
  """JSON-comparable form: sets sorted, tuples as lists, numpy scalars as Python numbers."""
  if isinstance(x, (set, frozenset)):
    return sorted((_canonical(v) for v in x), key=json.dumps)
  if isinstance(x, (list, tuple)):
    return [_canonical(v) for v in x]
  if isinstance(x, dict):
    return {str(k): _canonical(v) for k, v in x.items()}
  if isinstance(x, (np.generic, np.ndarray)):
    return _canonical(x.tolist())
  return x


def _rounded(x):
  """Floats inside decoded predictions to 4 decimals, so their digest ignores float32 noise."""
  if isinstance(x, float):
    return round(x, 4)
  if isinstance(x, list):
    return [_rounded(v) for v in x]
  if isinstance(x, dict):
    return {k: _rounded(v) for k, v in x.items()}
  return x


def compute(name: str, tmp: pathlib.Path) -> dict:
  """The golden record of case `name`: losses, aux metrics and decoded predictions."""
  config, train_examples, eval_examples = CASES[name](tmp)
  task = registry.get(config.task)(registry.resolve(config))
  rng = np.random.default_rng(0)
  train = task.collate([task.featurize(ex, train=True, rng=rng) for ex in train_examples], LENGTH)
  params = _init_params(task, {k: np.asarray(v) for k, v in task.dummy_batch(1, LENGTH).items()})
  record = {}
  for key, deterministic in (("loss", True), ("loss_dropout", False)):
    loss, aux = task.loss(params, train, jax.random.key(1), deterministic=deterministic)
    record[key] = float(loss)
    record[key + "_aux"] = {k: float(v) for k, v in sorted(aux.items())}
  features = [task.featurize(ex, train=False, rng=rng) for ex in eval_examples]
  batch = task.collate(features, LENGTH)
  outputs = jax.device_get(task.predict(params, batch))
  predictions = _canonical(task.decode(outputs, batch, eval_examples))
  # Random-init decodes are long (hundreds of spans): pinned by digest, with per-example sizes.
  record["prediction_sizes"] = [len(p) if isinstance(p, (list, dict, str)) else 1
                                for p in predictions]
  record["predictions_sha256"] = hashlib.sha256(json.dumps(
      _rounded(predictions), ensure_ascii=False, sort_keys=True).encode()).hexdigest()
  return record


def _assert_close(got, want, where: str):
  if isinstance(want, float):
    assert isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6), \
        f"{where}: {got} != {want}"
  elif isinstance(want, dict):
    assert sorted(got) == sorted(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
    for k in want:
      _assert_close(got[k], want[k], f"{where}.{k}")
  elif isinstance(want, list):
    assert isinstance(got, list) and len(got) == len(want), f"{where}: {got} != {want}"
    for i, (g, w) in enumerate(zip(got, want)):
      _assert_close(g, w, f"{where}[{i}]")
  else:
    assert got == want, f"{where}: {got!r} != {want!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_task_matches_golden(name, tmp_path):
  golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
  _assert_close(_canonical(compute(name, tmp_path)), golden[name], name)


def test_golden_predictions_are_not_trivial():
  """The pinned decodes say something: at least half the cases decode a non-empty prediction."""
  golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
  assert sorted(golden) == sorted(CASES)
  non_empty = [n for n, r in golden.items() if any(r["prediction_sizes"])]
  assert len(non_empty) >= len(golden) // 2, non_empty


if __name__ == "__main__":  # rewrites the golden file (a deliberate change of behaviour only)
  import tempfile  # pylint: disable=import-outside-toplevel
  records = {}
  for case in sorted(CASES) if len(sys.argv) < 2 else sys.argv[1:]:
    with tempfile.TemporaryDirectory() as d:
      records[case] = _canonical(compute(case, pathlib.Path(d)))
      print(case, json.dumps(records[case], ensure_ascii=False)[:300], flush=True)
  GOLDEN.write_text(json.dumps(records, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")
