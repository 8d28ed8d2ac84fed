"""The "mlm" and "span" readers of task "reading_comprehension": rows, training targets, loss,
the eval path, the answer text cut by offsets, and the `answerable` defaults.

References written here: the row layouts are rebuilt from the tokenizer's per-text encodings, the
losses are recomputed in numpy from the model's logits, the span text is worked by hand.
"""
import jax
import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.data.formats.qa import Passage, QAExample
from flaxnlp.decoding import rc_span
from flaxnlp.tasks import reading_comprehension as rc
from flaxnlp.tasks import registry

EX = QAExample("q1", "谁发明了电话？",
               [Passage("Bell，发明了电话", "Bell"), Passage("电话很好用", "")], ("Bell",))
EX2 = QAExample("q2", "天空是什么颜色", [Passage("天空是蓝色的", "蓝色")], ("蓝色",))


def make_task(reader, **task_args):
  c = configs.base_config()
  c.task = "reading_comprehension"
  c.task_args = rc.rc_task_args(reader=reader, max_p_len=16, max_q_len=8, max_a_len=4,
                                **task_args)
  c.model = configs.bert_config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=64)
  return registry.get("reading_comprehension")(c)


@pytest.fixture(scope="module")
def mlm():
  return make_task("mlm")


@pytest.fixture(scope="module")
def span():
  return make_task("span")


def ids(task, text):
  return [task.tokenizer.token_to_id(t) for t in task.tokenizer.tokenize(text)]


def log_softmax(x):
  x = np.asarray(x, np.float64)
  m = x.max(-1, keepdims=True)
  return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def test_reader_and_answerable_arguments():
  with pytest.raises(ValueError, match=r"reader='gen'; one of seq2seq \| mlm \| span$"):
    make_task("gen")
  with pytest.raises(ValueError, match="reader='sapn'.*did you mean 'span'"):
    make_task("sapn")
  with pytest.raises(ValueError, match=r"answerable_rule='any'; one of all \| lowest_sep"):
    make_task("seq2seq", answerable_rule="any")
  assert make_task("seq2seq").answerable_rule == "all"                       # cmrc2018
  assert make_task("seq2seq", dataset="webqa").answerable_rule == ""          # bojone's rule
  assert make_task("seq2seq", dataset="webqa", answerable=True).answerable_rule == "all"
  assert not make_task("span", answerable=False).answerable
  with pytest.raises(ValueError, match="span_stride=15; 0 .* max_p_len - 2 = 14 tokens"):
    make_task("span", span_stride=15)


def test_mlm_rows_and_targets(mlm):
  tok = mlm.tokenizer
  assert tok.mask_id is not None   # the simplified vocabulary keeps [MASK] for this reader
  f = mlm.featurize(EX2, train=True, rng=np.random.default_rng(0))
  row = [tok.cls_id] + [tok.mask_id] * 4 + [tok.sep_id] + ids(mlm, EX2.question) + [tok.sep_id]
  assert f["token_ids"].tolist() == row + ids(mlm, "天空是蓝色的") + [tok.sep_id]
  assert f["answer_ids"].tolist() == ids(mlm, "蓝色") + [tok.sep_id, 0]
  rows = mlm.featurize(EX, train=False, rng=None)
  assert rows["token_ids"].shape[0] == 2 and rows["present"].all()
  q = ids(mlm, EX.question)
  assert rows["token_ids"][1, :8 + len(q)].tolist() == (
      [tok.cls_id] + [tok.mask_id] * 4 + [tok.sep_id] + q + [tok.sep_id]
      + ids(mlm, "电话很好用")[:1])


def test_mlm_loss_is_the_masked_cross_entropy(mlm):
  feats = [mlm.featurize(ex, train=True, rng=np.random.default_rng(s))
           for s, ex in enumerate([EX, EX2, EX])]
  batch = mlm.collate(feats, 40)
  params = mlm.init_params(jax.random.key(0), batch)
  loss, aux = mlm.loss(params, batch, jax.random.key(1), deterministic=True)
  logits = mlm.model.apply({"params": params}, batch["token_ids"]).mlm_logits
  logp = log_softmax(logits)[:, 1:5]
  targets = batch["answer_ids"]
  nll = [-logp[b, i, t] for b in range(3) for i, t in enumerate(targets[b]) if t]
  np.testing.assert_allclose(float(loss), np.mean(nll), rtol=1e-5)
  assert 0.0 <= float(aux["target_accuracy"]) <= 1.0


@pytest.mark.parametrize("reader", ["mlm", "span"])
def test_eval_path_answers_from_the_passages(reader):
  task = make_task(reader)
  examples = [EX, EX2, QAExample("q3", "没有段落", [], ("无",))]
  batch = task.collate([task.featurize(ex, train=False, rng=None) for ex in examples], 32)
  params = task.init_params(jax.random.key(2), {"token_ids": batch["token_ids"][:, 0]})
  preds = task.decode(jax.device_get(jax.jit(task.predict)(params, batch)), batch, examples)
  assert preds[2] == ""
  for ex, pred in zip(examples[:2], preds):   # answerable data: never empty, from a passage
    assert pred and any(pred.replace(" ", "").lower() in p.text.replace("，", ",").lower()
                        for p in ex.passages), pred


def test_span_training_target_is_the_answer(span):
  tok = span.tokenizer
  f = span.featurize(EX, train=True, rng=np.random.default_rng(1))   # draws passage 0
  start, end = f["span"].tolist()
  row = f["token_ids"].tolist()
  assert row == [tok.cls_id] + ids(span, "Bell，发明了电话") + [tok.sep_id] + ids(
      span, EX.question) + [tok.sep_id]
  assert tok.decode(row[start:end + 1]) == "bell"
  f = span.featurize(EX2, train=True, rng=np.random.default_rng(0))
  assert tok.decode(f["token_ids"][f["span"][0]:f["span"][1] + 1].tolist()) == "蓝色"
  no_answer = QAExample("q", "问", [Passage("电话很好用", "")])
  assert span.featurize(no_answer, train=True, rng=np.random.default_rng(0))["span"].tolist() == [
      0, 0]


def test_span_windows_and_answer_text_by_offsets(span):
  # 18 tokens ("Bell" is one, "bell", token 14); windows of 14 (max_p_len 16 - 2) every 7:
  # [0, 14), then the last one reaching the end, [4, 18).
  text = "一二三四五六七八九十甲乙丙丁Bell戊己庚"
  ex = QAExample("q", "问", [Passage(text, "Bell")])
  f = span.featurize(ex, train=True, rng=np.random.default_rng(0))
  assert tok_ids(span, f) == ids(span, text[4:])   # the window that holds the answer
  assert f["span"].tolist() == [11, 11]            # token 14 → row position 14 - 4 + 1
  batch = span.collate([span.featurize(ex, train=False, rng=None)], 32)
  assert batch["present"].tolist() == [[True, True]]
  # Row 1, positions 11..12 are tokens 14..15 = "Bell" + "戊": the text keeps the original case.
  outputs = {"start": np.array([[1, 11]]), "end": np.array([[1, 12]]),
             "score": np.array([[0.5, 2.0]], np.float32), "null": np.zeros((1, 2), np.float32)}
  assert span.decode(outputs, batch, [ex]) == ["Bell戊"]
  outputs["score"] = np.array([[-1.0, -2.0]], np.float32)   # no span beats [CLS]
  assert span.decode(outputs, batch, [ex]) == ["一"]        # answerable: the best span anyway
  assert rc_span.choose_span(rc_span.RowSpans(**{k: v[0] for k, v in outputs.items()}),
                             np.array([True, True]), answerable=False) is None


def tok_ids(task, feature):
  row = feature["token_ids"].tolist()
  return row[1:row.index(task.tokenizer.sep_id)]


def test_span_loss_is_the_mean_start_end_cross_entropy(span):
  feats = [span.featurize(ex, train=True, rng=np.random.default_rng(s))
           for s, ex in enumerate([EX, EX2])]
  batch = span.collate(feats, 32)
  params = span.init_params(jax.random.key(0), batch)
  loss, _ = span.loss(params, batch, jax.random.key(1), deterministic=True)
  logits = np.asarray(span.model.apply({"params": params}, batch["token_ids"]), np.float64)
  total = 0.0
  for b, f in enumerate(feats):
    n = f["token_ids"].tolist().index(span.tokenizer.sep_id)   # [CLS] + window tokens
    for k in range(2):
      total -= log_softmax(logits[b, :n, k])[f["span"][k]]
  np.testing.assert_allclose(float(loss), total / 4, rtol=1e-5)


def test_step0_diagnostic_rows_of_the_mlm_and_span_readers(mlm, span):
  ex = QAExample("q", "问", [Passage("一二三四五六七八九十甲乙丙丁Bell戊己庚", "Bell")])
  params = span.init_params(jax.random.key(0), {"token_ids": np.ones((1, 8), np.int32)})
  probs, gold, null = span.reader.first_answer_distributions(params, [ex, EX2])
  # windows [0, 14) (no whole answer: [CLS]) and [4, 18) ("bell" at row position 11); EX2: "蓝色"
  # starts at token 3 of "天空是蓝色的", row position 4.
  assert null == 0 and gold.tolist() == [0, 11, 4]
  row = span.featurize(ex, train=False, rng=None)["token_ids"][1]
  n = row.tolist().index(span.tokenizer.sep_id)
  logits = np.asarray(span.model.apply({"params": params}, row[None]))[0, :n, 0]
  np.testing.assert_allclose(probs[1, :n], np.exp(log_softmax(logits)), rtol=1e-4)
  assert not probs[1, n:].any()

  params = mlm.init_params(jax.random.key(0), {"token_ids": np.ones((1, 8), np.int32)})
  probs, gold, null = mlm.reader.first_answer_distributions(params, [EX])
  assert null == mlm.tokenizer.sep_id and gold.tolist() == [ids(mlm, "Bell")[0], null]
  row = mlm.featurize(EX, train=False, rng=None)["token_ids"][1]
  row = row[:np.count_nonzero(row)]
  logits = mlm.model.apply({"params": params}, row[None]).mlm_logits[0, 1]
  np.testing.assert_allclose(probs[1], np.exp(log_softmax(logits)), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("reader, passage_limit", [("seq2seq", 14), ("mlm", 15), ("span", None)])
def test_predict_counts_what_each_reader_would_cut(reader, passage_limit):
  # max_p_len = 16, max_q_len = 8: a seq2seq row holds [CLS] + 14 passage tokens + [SEP], the MLM
  # row 15 (its passage is encoded with maxlen 17, [CLS] dropped); span windows read all.
  task = make_task(reader)
  question_ok = "问" * 7   # max_q_len - 1 tokens: whole
  for n in (14, 15, 16):
    example = QAExample("q", question_ok, [Passage("字" * n, "")], ())
    assert task.truncates(example) == (passage_limit is not None and n > passage_limit), n
  assert task.truncates(QAExample("q", "问" * 8, [Passage("字", "")], ()))
