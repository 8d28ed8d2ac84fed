"""Relation-extraction task on the hand-written DuIE fixture with a tiny random BERT."""
import os
import shutil

import jax
import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.tasks import registry
from flaxnlp.tasks.relation_extraction import re_task_args

FIX = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "gplinker")


@pytest.fixture()
def task(tmp_path):
  shutil.copy(os.path.join(FIX, "duie_v1.json"), tmp_path / "train_data.json")
  shutil.copy(os.path.join(FIX, "duie_v1.json"), tmp_path / "dev_data.json")
  (tmp_path / "all_50_schemas").write_text(
      '{"object_type": "人物", "predicate": "作曲", "subject_type": "歌曲"}\n'
      '{"object_type": "人物", "predicate": "歌手", "subject_type": "歌曲"}\n', encoding="utf-8")
  c = configs.base_config()
  c.task = "relation_extraction"
  c.task_args = re_task_args(data_dir=str(tmp_path), head_size=8)
  c.model = configs.bert_config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32)
  return registry.get("relation_extraction")(registry.resolve(c))


def test_the_preset_schema_is_resolved_into_the_config_not_read_by_the_task(task):
  assert task.args.predicates == task.predicates == ("作曲", "歌手")  # all_50_schemas, file order
  unresolved = task.config.copy_and_resolve_references()
  with unresolved.unlocked():
    unresolved.task_args.predicates = ()
  with pytest.raises(ValueError, match="task_args.predicates is empty: resolve the dataset first"):
    registry.get("relation_extraction")(unresolved)
  os.remove(os.path.join(task.args.data_dir, "all_50_schemas"))
  assert registry.get("relation_extraction")(task.config).predicates == ("作曲", "歌手")


def test_featurize_collate_labels_by_hand(task):
  ex = task.examples("train")[0]  # "《星空》是周杰伦演唱的歌曲": 星空 = tokens 2..3, 周杰伦 = 6..8
  f = task.featurize(ex, train=True, rng=np.random.default_rng(0))
  np.testing.assert_array_equal(f["quintuples"], [[2, 3, 1, 6, 8]])
  n = 16
  batch = task.collate([f, task.featurize(task.examples("train")[1], train=True, rng=None)], n)
  assert batch["entity_labels"].shape == (2, 2, n)  # K = n: shapes follow the length bucket
  assert not batch["entity_labels"][..., 1:].any()  # one pair per set here, 0-padded
  np.testing.assert_array_equal(batch["entity_labels"][0, :, 0], [2 * n + 3, 6 * n + 8])
  np.testing.assert_array_equal(batch["head_labels"][0, :, 0], [0, 2 * n + 6])
  np.testing.assert_array_equal(batch["tail_labels"][0, :, 0], [0, 3 * n + 8])
  assert not batch["entity_labels"][1].any()  # empty sample: dummy 0


def test_loss_predict_decode_metrics(task):
  exs = task.examples("eval")
  batch = task.collate([task.featurize(e, train=True, rng=None) for e in exs], 16)
  params = task.build_model().init(jax.random.PRNGKey(0), batch["token_ids"])["params"]
  loss, _ = task.loss(params, batch, jax.random.PRNGKey(1), deterministic=True)
  assert np.isfinite(loss) and loss > 0
  outputs = task.predict(params, batch)
  assert [o.shape for o in outputs] == [(2, 2, 16, 16), (2, 2, 16, 16), (2, 2, 16, 16)]
  # Perfect logits built from the labels decode back to the gold triples.
  perfect = []
  for key, heads in (("entity_labels", 2), ("head_labels", 2), ("tail_labels", 2)):
    x = -np.ones((2, heads, 16 * 16))
    for b in range(2):
      for h in range(heads):
        x[b, h, batch[key][b, h][batch[key][b, h] > 0]] = 1
    perfect.append(x.reshape(2, heads, 16, 16))
  preds = task.decode(perfect, batch, exs)
  assert preds == [{("星空", "歌手", "周杰伦")}, set()]
  assert task.metrics(preds, exs)["f1"] == 1.0
