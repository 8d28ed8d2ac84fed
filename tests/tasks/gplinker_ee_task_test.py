"""Event-extraction task on the hand-written DuEE fixture with a tiny random BERT."""
import os
import shutil

import jax
import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.tasks import registry
from flaxnlp.tasks.event_extraction import ee_task_args

FIX = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "gplinker")


@pytest.fixture()
def task(tmp_path):
  shutil.copy(os.path.join(FIX, "duee.json"), tmp_path / "dev.json")
  (tmp_path / "event_schema.json").write_text(
      '{"event_type": "司法行为-入狱", "role_list": [{"role": "入狱者"}, {"role": "刑期"}]}\n',
      encoding="utf-8")
  c = configs.base_config()
  c.task = "event_extraction"
  c.task_args = ee_task_args(data_dir=str(tmp_path), head_size=8, num_train=2)
  c.model = configs.bert_config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=32)
  return registry.get("event_extraction")(registry.resolve(c))


def test_labels_perfect_decode_and_metrics(task):
  exs = task.examples("train")
  assert task.labels == [("司法行为-入狱", "触发词"), ("司法行为-入狱", "入狱者"), ("司法行为-入狱", "刑期")]
  # "[CLS]程杰、王绍伟被法院一审判处有期徒刑22年和20年[SEP]": one token per char, "22" and "20" one each.
  f = task.featurize(exs[0], train=True, rng=None)
  np.testing.assert_array_equal(f["nodes"], [[0, 0, 14, 17], [0, 1, 1, 2], [0, 2, 18, 19],
                                             [1, 0, 14, 17], [1, 1, 4, 6], [1, 2, 21, 22]])
  n = 32
  batch = task.collate([f, task.featurize(exs[1], train=True, rng=None)], n)
  assert batch["argument_labels"].shape == (2, 3, n)  # K = n: shapes follow the length bucket
  np.testing.assert_array_equal(batch["argument_labels"][0, 0], [14 * n + 17] + [0] * (n - 1))
  head = batch["head_labels"][0, 0]
  assert sorted(head[head > 0].tolist()) == sorted(
      [1 * n + 14, 14 * n + 18, 1 * n + 18, 4 * n + 14, 14 * n + 21, 4 * n + 21])
  params = task.build_model().init(jax.random.PRNGKey(0), batch["token_ids"])["params"]
  loss, _ = task.loss(params, batch, jax.random.PRNGKey(1), deterministic=True)
  assert np.isfinite(loss) and loss > 0
  assert [o.shape for o in task.predict(params, batch)] == [(2, 3, n, n), (2, 1, n, n), (2, 1, n, n)]
  perfect = []
  for key, heads in (("argument_labels", 3), ("head_labels", 1), ("tail_labels", 1)):
    x = -np.ones((2, heads, n * n))
    for b in range(2):
      for h in range(heads):
        x[b, h, batch[key][b, h][batch[key][b, h] > 0]] = 1
    perfect.append(x.reshape(2, heads, n, n))
  preds = task.decode(perfect, batch, exs)
  m = task.metrics(preds, exs)
  assert m["f1"] == 1.0 and m["argument_f1"] == 1.0
  out = task.to_json(exs[0], preds[0])
  assert sorted(len(e["arguments"]) for e in out["event_list"]) == [2, 2]
