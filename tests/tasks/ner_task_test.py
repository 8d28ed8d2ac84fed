"""NER task (flaxnlp.tasks.ner) and entity metrics (flaxnlp.metrics.ner) on hand-made examples.

A 19-token vocabulary written into tmp_path makes every token id and offset predictable, so
features, labels and decoded spans are checked against values worked out by hand; the loss of all
three label formats is checked against a numpy ZLPR reference computed in the test.
"""
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.data.formats import NerExample
from flaxnlp.metrics import entity_f1
from flaxnlp.tasks import ner, registry

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "我", "爱", "北", "京", "天", "安", "门",
         "上", "海", "hel", "##lo", "中", "国", "在"]
ID = {t: i for i, t in enumerate(VOCAB)}
LOC, ORG, PER = 0, 1, 2  # MSRA types, sorted


def make_task(tmp_path, **task_args):
  vocab = tmp_path / "vocab.txt"
  vocab.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
  c = configs.base_config()
  c.task = "ner"
  c.task_args = ner.ner_task_args(dataset="msra", vocab=str(vocab), head_size=8, **task_args)
  c.model = configs.bert_config(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32)
  return registry.get("ner")(c)


def test_registered():
  assert registry.get("ner") is ner.NerTask


def test_featurize_aligned_misaligned_and_truncated(tmp_path):
  task = make_task(tmp_path)
  # 我 爱 北 京 hello 天 安 门: tokens [CLS] 我 爱 北 京 hel ##lo 天 安 门 [SEP]
  text = "我爱北京hello天安门"
  spans = [(2, 3, "LOC"),      # 北京 -> tokens 3..4
           (4, 5, "ORG"),      # "he": ends inside "hel" -> misaligned, dropped
           (7, 8, "PER"),      # "lo" = the word piece ##lo -> token 6
           (9, 11, "LOC")]     # 天安门 -> tokens 7..9
  example = NerExample(text, spans)
  f = task.featurize(example, train=True, rng=np.random.default_rng(0))
  assert f["token_ids"].tolist() == [ID[t] for t in ["[CLS]", "我", "爱", "北", "京", "hel",
                                                      "##lo", "天", "安", "门", "[SEP]"]]
  assert f["spans"].tolist() == [[LOC, 3, 4], [PER, 6, 6], [LOC, 7, 9]]
  # Evaluation features carry no labels; the example keeps all four gold spans.
  assert set(task.featurize(example, train=False, rng=None)) == {"token_ids"}
  assert len(example.spans) == 4
  # maxlen 6 keeps [CLS] 我 爱 北 京 [SEP]: only 北京 survives.
  short = make_task(tmp_path, maxlen=6)
  f = short.featurize(example, train=True, rng=None)
  assert len(f["token_ids"]) == 6 and f["spans"].tolist() == [[LOC, 3, 4]]


def test_collate_dense_and_sparse_labels(tmp_path):
  examples = [NerExample("我在北京", [(2, 3, "LOC")]),
              NerExample("中国上海", [(0, 1, "LOC"), (0, 3, "ORG"), (2, 3, "LOC")])]
  dense = make_task(tmp_path, loss="dense")
  batch = dense.collate([dense.featurize(e, train=True, rng=None) for e in examples], 8)
  assert batch["token_ids"].shape == (2, 8)
  assert batch["token_ids"][0].tolist() == [2, 5, 18, 7, 8, 3, 0, 0]
  labels = batch["labels"]
  assert labels.shape == (2, 3, 8, 8)
  assert sorted(zip(*np.nonzero(labels))) == [(0, LOC, 3, 4), (1, LOC, 1, 2), (1, LOC, 3, 4),
                                              (1, ORG, 1, 4)]
  sparse = make_task(tmp_path, loss="sparse")
  batch = sparse.collate([sparse.featurize(e, train=True, rng=None) for e in examples], 8)
  # K = N = 8; cell (i, j) -> i * 8 + j, sorted, 0-padded.
  expected = np.zeros((2, 3, 8), np.int32)
  expected[0, LOC, :1] = [3 * 8 + 4]
  expected[1, LOC, :2] = [1 * 8 + 2, 3 * 8 + 4]
  expected[1, ORG, :1] = [1 * 8 + 4]
  np.testing.assert_array_equal(batch["labels"], expected)


def test_sparse_labels_hold_every_span_of_a_full_sentence(tmp_path):
  task = make_task(tmp_path, loss="sparse")
  text = "北京" * 7  # 14 tokens + [CLS]/[SEP] = N; 14 one-character LOC spans
  example = NerExample(text, [(k, k, "LOC") for k in range(14)])
  batch = task.collate([task.featurize(example, train=True, rng=None)], 16)
  assert batch["labels"].shape == (1, 3, 16)
  np.testing.assert_array_equal(batch["labels"][0, LOC, :14], [k * 16 + k for k in range(1, 15)])
  assert not batch["labels"][0, LOC, 14:].any() and not batch["labels"][0, ORG:].any()


def test_decode_maps_cells_to_char_spans_and_ignores_specials(tmp_path):
  task = make_task(tmp_path)
  example = NerExample("我爱北京hello天安门", [])
  f = task.featurize(example, train=False, rng=None)
  batch = task.collate([f], 16)
  cells = np.zeros((1, 3, 16, 16), bool)
  cells[0, LOC, 3, 4] = True      # 北京 (2, 3)
  cells[0, ORG, 3, 9] = True      # nested: 北京hello天安门 (2, 11)
  cells[0, PER, 5, 6] = True      # hello (4, 8)
  cells[0, LOC, 0, 4] = True      # [CLS] row: ignored
  cells[0, LOC, 7, 10] = True     # [SEP] column: ignored
  cells[0, LOC, 12, 12] = True    # padding: ignored
  (prediction,) = task.decode(cells, batch, [example])
  assert prediction == [(2, 3, "LOC"), (2, 11, "ORG"), (4, 8, "PER")]
  out = task.to_json(example, prediction)
  assert out["entities"][2] == {"start": 4, "end": 8, "type": "PER", "entity": "hello"}
  assert task.from_json(json.loads('{"text": "北京"}')).text == "北京"
  assert task.from_json("上海").text == "上海"
  with pytest.raises(ValueError):
    task.from_json({"txt": "x"})


def _zlpr_reference(logits, dense_labels, skip_cls_cell=False):
  """numpy ZLPR over valid cells (logit > -1e11), mean over batch × heads.

  `skip_cls_cell` also drops cell (0, 0) ([CLS], [CLS]): the sparse loss's `mask_zero` padding.
  """
  out = []
  for s, y in zip(logits.reshape(-1, logits.shape[-1] ** 2), dense_labels.reshape(
      -1, logits.shape[-1] ** 2)):
    valid = s > -1e11
    valid[0] &= not skip_cls_cell
    pos, neg = s[valid & (y > 0)], s[valid & (y == 0)]
    out.append(np.log1p(np.exp(-pos).sum()) + np.log1p(np.exp(neg).sum()))
  return np.mean(out)


@pytest.mark.parametrize("head,loss_names", [("egp", ("dense", "sparse", "blockwise")),
                                             ("gp", ("dense",))])
def test_loss_of_all_label_formats_matches_numpy_reference(tmp_path, head, loss_names):
  examples = [NerExample("我在北京", [(2, 3, "LOC")]),
              NerExample("中国上海天安门", [(0, 1, "LOC"), (0, 3, "ORG"), (4, 6, "LOC")])]
  dense = make_task(tmp_path, head=head, loss="dense")
  feats = [dense.featurize(e, train=True, rng=None) for e in examples]
  dense_batch = dense.collate(feats, 16)
  model = dense.build_model()
  params = jax.jit(model.init)(jax.random.key(0),
                               jnp.asarray(dense_batch["token_ids"]))["params"]
  logits = np.asarray(jax.jit(model.apply)({"params": params}, dense_batch["token_ids"]),
                      np.float64)
  for loss in loss_names:
    expected = _zlpr_reference(logits, dense_batch["labels"], skip_cls_cell=loss == "sparse")
    task = make_task(tmp_path, head=head, loss=loss, block_size=4)
    batch = task.collate([task.featurize(e, train=True, rng=None) for e in examples], 16)
    value, aux = jax.jit(functools.partial(task.loss, deterministic=True))(
        params, batch, jax.random.key(1))
    np.testing.assert_allclose(float(value), expected, rtol=2e-5, err_msg=loss)
    if loss != "blockwise":
      hits = (logits > 0)
      gold = dense_batch["labels"] > 0
      np.testing.assert_allclose(float(aux["span_f1"]),
                                 2 * (hits & gold).sum() / (hits.sum() + gold.sum()), rtol=1e-6)
  np.testing.assert_array_equal(np.asarray(jax.jit(dense.predict)(params, dense_batch)),
                                logits > 0)


def test_dummy_batch_and_model_shapes(tmp_path):
  for loss, shape in (("dense", (2, 3, 8, 8)), ("sparse", (2, 3, 8))):
    task = make_task(tmp_path, loss=loss)
    batch = task.dummy_batch(2, 8)
    assert batch["labels"].shape == shape
    model = task.build_model()
    params = jax.eval_shape(model.init, jax.random.key(0), jnp.asarray(batch["token_ids"]))
    assert set(params["params"]) == {"encoder", "head"}


def test_bad_config_is_an_error(tmp_path):
  with pytest.raises(ValueError, match="head"):
    make_task(tmp_path, head="softmax")
  with pytest.raises(ValueError, match="loss"):
    make_task(tmp_path, loss="focal")
  with pytest.raises(ValueError, match="unknown field task_args.heads; did you mean 'head'"):
    ner.ner_task_args(heads=3)
  with pytest.raises(ValueError, match="vocab_size"):
    vocab = tmp_path / "v.txt"
    vocab.write_text("\n".join(VOCAB), encoding="utf-8")
    c = configs.base_config()
    c.task = "ner"
    c.task_args = ner.ner_task_args(vocab=str(vocab))
    ner.NerTask(c)


# ---- metrics ----------------------------------------------------------------------------------

def test_entity_f1_hand_computed():
  gold = [[(0, 1, "LOC"), (3, 5, "PER")], [(2, 2, "ORG"), (0, 4, "LOC")]]
  pred = [[(0, 1, "LOC"), (3, 4, "PER"), (3, 4, "PER")],   # duplicate counts once
          [(2, 2, "ORG"), (0, 4, "ORG")]]
  m = entity_f1(pred, gold, types=("LOC", "ORG", "PER"))
  # X = 2 (0-1 LOC, 2-2 ORG), Y = 4, Z = 4.
  assert (m["num_correct"], m["num_pred"], m["num_gold"]) == (2, 4, 4)
  assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
  assert m["f1"] == pytest.approx(0.5)
  # LOC: X=1, Y=1, Z=2 -> 2/3; ORG: X=1, Y=2, Z=1 -> 2/3; PER: X=0, Y=1, Z=1 -> 0.
  assert m["f1/LOC"] == pytest.approx(2 / 3)
  assert m["f1/ORG"] == pytest.approx(2 / 3)
  assert m["f1/PER"] == pytest.approx(0.0, abs=1e-9)


def test_entity_f1_edge_cases():
  # Nothing predicted, nothing gold: bojone's smoothing gives 1 (for a type absent everywhere too).
  m = entity_f1([[]], [[]], types=("LOC",))
  assert m["f1"] == pytest.approx(1.0) and m["f1/LOC"] == pytest.approx(1.0)
  # All gold missed: F1 0, recall 0.
  m = entity_f1([[]], [[(0, 0, "LOC")]])
  assert m["f1"] == pytest.approx(0.0, abs=1e-9) and m["recall"] == pytest.approx(0.0, abs=1e-9)
  with pytest.raises(ValueError):
    entity_f1([[]], [[], []])
