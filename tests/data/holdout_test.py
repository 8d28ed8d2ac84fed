"""The held-out part of the training examples (`train.holdout_fraction`): the split itself, and
the trainer training on one part and evaluating on the other without reading the eval split."""
import importlib.util
import pathlib

import pytest

from flaxnlp.data import holdout
from flaxnlp.tasks import toy
from flaxnlp.train import trainer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_split_partitions_in_order_and_keeps_groups_whole():
  examples = [(article, q) for article in "abcdefghij" for q in range(ord(article) % 3 + 1)]
  kept, held = holdout.split(examples, 0.3, seed=7, group=lambda ex: ex[0])
  assert sorted(kept + held) == sorted(examples)
  assert kept == [ex for ex in examples if ex in kept]  # input order
  assert held == [ex for ex in examples if ex in held]
  assert len({a for a, _ in held}) == 3                  # round(0.3 * 10 groups)
  assert not {a for a, _ in held} & {a for a, _ in kept}
  assert holdout.split(examples, 0.3, seed=7, group=lambda ex: ex[0]) == (kept, held)
  draws = {tuple(holdout.split(examples, 0.3, seed=s, group=lambda ex: ex[0])[1])
           for s in range(8)}
  assert len(draws) > 1                                   # the seed draws the groups


def test_split_without_groups_holds_out_single_examples():
  kept, held = holdout.split(list(range(20)), 0.25, seed=0)
  assert len(held) == 5 and sorted(kept + held) == list(range(20))


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.01, 0.99])
def test_split_refuses_an_empty_side(fraction):
  with pytest.raises(ValueError, match="holdout_fraction"):
    holdout.split(list(range(10)), fraction, seed=0)


def _tiny_config():
  spec = importlib.util.spec_from_file_location("_tiny", ROOT / "experiments" / "_tiny.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def test_a_training_run_never_reads_the_eval_split(tmp_path, monkeypatch):
  c = _tiny_config()
  c.unlock()
  c.train.holdout_fraction = 0.25
  c.lock()
  t = trainer.Trainer(c, tmp_path / "split")
  all_train = t.task.examples("train")
  kept, held = t.examples("train"), t.examples("holdout")
  assert len(held) == round(0.25 * len(all_train)) and len(kept) + len(held) == len(all_train)
  assert sorted(map(str, kept + held)) == sorted(map(str, all_train))
  assert t.eval_split == "holdout"

  read = []
  original = toy.ToyTask.examples
  monkeypatch.setattr(toy.ToyTask, "examples",
                      lambda self, split: read.append(split) or original(self, split))
  result = trainer.run(c, tmp_path / "run")
  assert result.metrics and set(read) == {"train"}
