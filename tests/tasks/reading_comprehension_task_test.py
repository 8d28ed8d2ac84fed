"""Task "reading_comprehension": samples, batches, loss mask, the eval path and the metrics.

References written here: the expected token layouts are rebuilt by hand from the tokenizer's
per-text encodings; the loss is recomputed in numpy from the model's logits; the task's eval
predictions are compared with `rc_samples.answer_questions` (the standalone decoder, tested in
rc_samples_test / rc_vote_test) and checked to be n-grams of the passages; the metrics are
hand-worked; the step-0 diagnostic is recomputed passage by passage from the full logits.
"""
import json

import jax
import numpy as np
import pytest

from flaxnlp import configs, paths
from flaxnlp.data import tokenizer as tok_lib
from flaxnlp.data.formats.qa import Passage, QAExample
from flaxnlp.models import checkpoints
from flaxnlp.diagnostics import reading_comprehension as rc_diagnostics
from flaxnlp.tasks import rc_samples, registry
from flaxnlp.tasks import reading_comprehension as rc

EX = QAExample("q1", "谁发明了电话？",
               [Passage("贝尔，发明了电话", "贝尔"), Passage("电话很好用", "")], ("贝尔",))
EX2 = QAExample("q2", "天空是什么颜色", [Passage("天空是蓝色的", "蓝色")], ("蓝色",))
EX3 = QAExample("q3", "天空是什么颜色",
                [Passage("天空是蓝色的", "蓝色"), Passage("草是绿的", ""), Passage("海水", "")])


@pytest.fixture(scope="module")
def task():
  c = configs.base_config()
  c.task = "reading_comprehension"
  c.task_args = rc.rc_task_args(max_p_len=32, max_q_len=16, max_a_len=5)
  c.model = configs.bert_config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=64)
  return registry.get("reading_comprehension")(c)


def _ids(task, text):
  return [task.tokenizer.token_to_id(t) for t in task.tokenizer.tokenize(text)]


def test_training_sample_layout(task):
  cls, sep = task.tokenizer.cls_id, task.tokenizer.sep_id
  q = _ids(task, EX.question)
  seen = set()
  for seed in range(8):
    f = task.featurize(EX, train=True, rng=np.random.default_rng(seed))
    ids, segs = f["token_ids"].tolist(), f["segment_ids"].tolist()
    first = ids[1:ids.index(sep)]
    if first == _ids(task, "贝尔,发明了电话"):      # '，' → ',' ; the answer is in this passage
      answer = _ids(task, "贝尔")
    else:                                           # "电话很好用": no answer → target [SEP] only
      assert first == _ids(task, "电话很好用")
      answer = []
    seen.add(len(answer))
    expected = [cls] + first + [sep] + q + [sep] + answer + [sep]
    assert ids == expected
    assert segs == [0] * (len(first) + len(q) + 3) + [1] * (len(answer) + 1)
  assert seen == {0, 2}   # both passages drawn across seeds


def test_collate_and_loss_mask(task):
  feats = [task.featurize(EX, train=True, rng=np.random.default_rng(s)) for s in range(3)]
  batch = task.collate(feats, 40)
  assert batch["token_ids"].shape == batch["segment_ids"].shape == (3, 40)
  for f, ids, segs in zip(feats, batch["token_ids"], batch["segment_ids"]):
    n = len(f["token_ids"])
    assert ids[:n].tolist() == f["token_ids"].tolist() and not ids[n:].any() and not segs[n:].any()
  model = task.build_model()
  params = model.init(jax.random.key(0), batch["token_ids"], batch["segment_ids"])["params"]
  loss, aux = task.loss(params, batch, jax.random.key(1), deterministic=True)
  logits = np.asarray(model.apply({"params": params}, batch["token_ids"], batch["segment_ids"],
                                  "unilm").mlm_logits, np.float64)
  logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
      - logits.max(-1, keepdims=True)
  total = count = 0.0
  for b in range(3):
    for t in range(39):
      if batch["segment_ids"][b, t + 1]:        # answer tokens and the final [SEP]
        total -= logp[b, t, batch["token_ids"][b, t + 1]]
        count += 1
  np.testing.assert_allclose(float(loss), total / count, rtol=1e-5)
  assert 0.0 <= float(aux["target_accuracy"]) <= 1.0


def test_eval_batch_layout(task):
  cls, sep = task.tokenizer.cls_id, task.tokenizer.sep_id
  feats = [task.featurize(ex, train=False, rng=None) for ex in (EX, EX2)]
  assert feats[0]["token_ids"].shape[0] == 2 and feats[1]["token_ids"].shape[0] == 1
  batch = task.collate(feats, 24)
  assert batch["token_ids"].shape == (2, 2, 24)
  assert batch["present"].tolist() == [[True, True], [True, False]]
  q = _ids(task, EX2.question)
  assert batch["token_ids"][1, 0].tolist() == ([cls] + _ids(task, "天空是蓝色的") + [sep] + q
                                               + [sep] + [0] * (24 - 9 - len(q)))
  assert batch["token_ids"][1, 1].tolist() == [cls, sep] + [0] * 22   # padding passage
  three = task.collate([task.featurize(QAExample("x", "问", [Passage("a", "")] * 3), train=False,
                                       rng=None)], 16)
  assert three["token_ids"].shape == (1, 4, 16)   # group size rounded up to a power of two


def test_eval_path_matches_answer_questions(task):
  examples = [EX, EX2, QAExample("q3", "没有段落", [], ("无",))]
  feats = [task.featurize(ex, train=False, rng=None) for ex in examples]
  batch = task.collate(feats, 32)
  model = task.build_model()
  params = model.init(jax.random.key(3), batch["token_ids"][:, 0])["params"]
  out = jax.device_get(jax.jit(task.predict)(params, batch))
  preds = task.decode(out, batch, examples)
  a = task.config.task_args
  reference = rc_samples.answer_questions(
      model, params, task.tokenizer, [(ex.question, [p.text for p in ex.passages])
                                      for ex in examples],
      beam_size=a.beam_size, max_p_len=a.max_p_len, max_q_len=a.max_q_len, max_a_len=a.max_a_len,
      answerable_rule=task.answerable_rule)
  assert task.answerable_rule == "all"   # cmrc2018: every question has an answer
  assert preds == reference
  assert preds[2] == "" and all(preds[:2])  # no passage → no answer; else never empty
  for ex, pred in zip(examples[:2], preds):   # extractive: an n-gram of a passage (lower-cased)
    assert any(pred.replace(" ", "") in p.text.replace("，", ",").lower() for p in ex.passages)
  m = task.metrics(preds, examples)
  assert m["num_scored"] == 3 and 0.0 <= m["sogou_final"] <= 1.0 and 0.0 <= m["cmrc_f1"] <= 100


def test_metrics_hand_worked(task):
  examples = [EX, EX2, QAExample("q3", "问", [Passage("x", "")], ()),
              QAExample("q4", "问", [Passage("x", "")], ("中华人民", "人民共和国"))]
  m = task.metrics(["贝尔", "上海", "随便", "人民"], examples)
  # q1 exact; q2 no overlap; q3 no gold → not scored; q4: Sogou F1 vs standard "中华人民" = 2·(1·½)/
  # (1+½) = 2/3, vs "人民共和国" = 2·(1·0.4)/1.4 = 4/7 → max 2/3, accuracy 0. CMRC F1 (LCS, chars)
  # is the same 2/3 here.
  assert m["num_scored"] == 3
  assert m["answered"] == 1.0
  assert task.metrics(["贝尔", "", "随便", ""], examples)["answered"] == 1 / 3
  np.testing.assert_allclose(m["sogou_accuracy"], 1 / 3)
  np.testing.assert_allclose(m["sogou_f1"], (1 + 0 + 2 / 3) / 3)
  np.testing.assert_allclose(m["sogou_final"], (1 / 3 + (1 + 2 / 3) / 3) / 2)
  np.testing.assert_allclose(m["cmrc_em"], 100 / 3)
  np.testing.assert_allclose(m["cmrc_f1"], 100 * (1 + 2 / 3) / 3)


def test_cmrc_split_by_article(tmp_path):
  data = {"data": [{"id": f"DEV_{a}", "paragraphs": [{
      "id": f"DEV_{a}", "context": "甲" * 30 + f"答案{a}" + "乙" * 30,
      "qas": [{"id": f"DEV_{a}_QUERY_{q}", "question": "问题？",
               "answers": [{"text": f"答案{a}", "answer_start": 30}]} for q in range(2)]}]}
      for a in range(10)]}
  (tmp_path / "cmrc2018_dev.json").write_text(json.dumps(data, ensure_ascii=False))
  c = configs.base_config()
  c.task = "reading_comprehension"
  c.task_args = rc.rc_task_args("cmrc2018", str(tmp_path), cmrc_window_chars=20,
                                cmrc_eval_fraction=0.3)
  t = rc.ReadingComprehensionTask(c)
  train, dev = t.examples("train"), t.examples("eval")
  assert len(train) == 14 and len(dev) == 6
  arts = lambda exs: {ex.id.split("_QUERY_")[0] for ex in exs}  # noqa: E731
  assert not arts(train) & arts(dev)
  assert len(train[0].passages) == 4     # 64 characters in windows of 20
  with pytest.raises(ValueError, match="unknown split"):
    t.examples("test")


def test_webqa_missing_data_is_a_clear_error(tmp_path):
  c = configs.base_config()
  c.task = "reading_comprehension"
  c.task_args = rc.rc_task_args("webqa_sogouqa", str(tmp_path))
  with pytest.raises(FileNotFoundError, match="Baidu pan"):
    rc.ReadingComprehensionTask(c).examples("train")


def test_simplified_vocab_warm_start_slicing(task, monkeypatch):
  full = tok_lib.load_vocab(paths.chinese_bert_vocab())
  emb = np.arange(len(full) * 2, dtype=np.float32).reshape(len(full), 2)
  bias = np.arange(len(full), dtype=np.float32)
  pre = {"embeddings": {"word_embeddings": {"embedding": emb}}, "mlm_bias": bias}
  monkeypatch.setattr(checkpoints, "load_pretrained", lambda path: (None, pre))
  out = task.pretrained_params("a checkpoint")
  assert out["embeddings"]["word_embeddings"]["embedding"].shape == (task.tokenizer.vocab_size, 2)
  assert task.build_model().config.vocab_size == task.tokenizer.vocab_size < len(full)
  for token in ("[CLS]", "[SEP]", "电", "a", "##s"):   # a token keeps its original row
    new_id = task.tokenizer.token_to_id(token)
    np.testing.assert_array_equal(out["embeddings"]["word_embeddings"]["embedding"][new_id],
                                  emb[full[token]])
    assert float(out["mlm_bias"][new_id]) == bias[full[token]]


def test_step0_diagnostic_matches_a_per_passage_recomputation(task):
  ids = np.ones((1, 8), np.int32)
  params = task.model.init(jax.random.key(0), ids, np.zeros_like(ids))["params"]
  report = rc_diagnostics.first_token_report(task, params, [EX, EX3])

  tok, p_sep, argmax_sep, p_gold, rank, has = task.tokenizer, [], [], [], [], []
  for ex in (EX, EX3):
    prompts = rc_samples.decoding_prompts(ex.question, [p.text for p in ex.passages], tok,
                                          max_p_len=32, max_q_len=16)
    for passage, prompt in zip(ex.passages, prompts):
      logits = np.asarray(task.model.apply({"params": params}, prompt[None],
                                           np.zeros_like(prompt)[None], "unilm").mlm_logits[0, -1],
                          np.float64)
      probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
      gold = tok.token_to_id(tok.tokenize(passage.answer)[0]) if passage.answer else tok.sep_id
      p_sep.append(probs[tok.sep_id])
      argmax_sep.append(probs.argmax() == tok.sep_id)
      p_gold.append(probs[gold])
      rank.append((probs > probs[gold]).sum())
      has.append(bool(passage.answer))
  has = np.asarray(has)
  assert report["answer"]["passages"] == 2 and report["no_answer"]["passages"] == 3
  p_sep = np.asarray(p_sep)
  np.testing.assert_allclose(report["answer"]["mean_p_sep"], p_sep[has].mean(), rtol=1e-4)
  np.testing.assert_allclose(report["no_answer"]["mean_p_sep"], p_sep[~has].mean(), rtol=1e-4)
  assert report["no_answer"]["sep_argmax"] == np.mean(np.asarray(argmax_sep)[~has])
  np.testing.assert_allclose(report["answer"]["mean_p_gold_first"],
                             np.asarray(p_gold)[has].mean(), rtol=1e-4)
  assert report["answer"]["median_gold_first_rank"] == np.median(np.asarray(rank)[has])


def test_step0_diagnostic_cli_names_a_missing_workdir(tmp_path, capsys):
  assert rc_diagnostics.main(["--workdir", str(tmp_path / "nope")]) == 2
  assert "config.json does not exist" in capsys.readouterr().err
