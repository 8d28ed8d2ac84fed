"""GPLinker learns: the real trainer memorises 16 real DuIE-subset sentences in 120 steps (RE) and
16 real DuEE documents in 150 steps (EE).

Why a broken model cannot pass: a triple is only output when all four GPLinker scores (subject
span, object span, head-head link, tail-tail link of the right predicate) are > 0 at the exact
token pairs, and it only counts when both strings match the gold ones after tokenisation;
F1 ≥ 0.3 needs ≥ 8 of the ~24 gold triples exact (measured: 0.59, precision 1.0). Sparse
labels built with a wrong flattening (e.g. t·N+h, wrong N),
swapped head/tail heads, or a decoder reading the wrong cells cannot produce exact triples, and a
loss that ignores the labels cannot learn them.
"""
import os

import pytest

from flaxnlp import paths, train
from flaxnlp.tasks.event_extraction import ee_task_args
from flaxnlp.tasks.relation_extraction import re_task_args
from learning_testing import memorisation_config

RE_DATA = paths.shared_data_dir() / "duie" / "duie_v1_subset"
EE_DATA = paths.shared_data_dir() / "duee1.0"


def memorise(task: str, task_args, num_steps: int, workdir) -> dict:
  """Trains a 1-layer 64-wide encoder on the task's first 16 training examples (lr 1e-2, constant)
  and returns the evaluation on those same 16 examples."""
  if not os.path.exists(task_args.data_dir):
    pytest.skip(f"shared data absent: {task_args.data_dir}")
  c = memorisation_config(task, task_args, num_steps=num_steps, learning_rate=1e-2,
                          num_hidden_layers=1, buckets=(64,))
  c.train.max_eval_examples = 16
  return train.run(c, workdir, "train").metrics


@pytest.mark.slow
def test_relation_extraction_memorises_duie_subset(tmp_path):
  args = re_task_args(data_dir=str(RE_DATA), maxlen=64, head_size=16, max_train_examples=16)
  metrics = memorise("relation_extraction", args, 120, tmp_path)
  assert metrics["f1"] >= 0.3, metrics


@pytest.mark.slow
def test_event_extraction_memorises_duee_documents(tmp_path):
  """dev.json's first 16 documents (19 of their 22 events are 组织关系-裁员), given as your own
  training file. The preset's seeded split draws 16 documents with 23 events of 7 types, which
  this 1-layer encoder has not memorised in 150 steps (train loss 28.5 and F1 0.0 at step 150,
  against 2.1 and 0.98 here)."""
  dev = EE_DATA / "dev.json"
  if not dev.exists():
    pytest.skip(f"shared data absent: {dev}")
  train_file = tmp_path / "train.json"
  with open(dev, encoding="utf-8") as f:
    train_file.write_text("".join(next(f) for _ in range(16)), encoding="utf-8")
  args = ee_task_args(data_dir=str(EE_DATA), maxlen=64, head_size=16, files=dict(
      train=str(train_file), eval="", test="", schema=str(EE_DATA / "event_schema.json")))
  metrics = memorise("event_extraction", args, 150, tmp_path / "workdir")
  # Measured: event F1 0.977 (P 1.0), argument F1 0.967. An event counts only when its trigger
  # and every argument cell fire at the exact token spans with the right (type, role) label and
  # all head-head / tail-tail links between them fire, so a loss that ignores the labels, a
  # wrong label index or flattening, or a decoder reading the wrong cells stays near 0.
  assert metrics["f1"] >= 0.6 and metrics["argument_f1"] >= 0.6, metrics
