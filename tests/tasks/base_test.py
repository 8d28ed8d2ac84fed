"""The task contract's shared parts (`flaxnlp.tasks.base`): task arguments completed from the
declared defaults without touching the config, resolved into a copy (`registry.resolve`), unknown
ones refused naming the closest field, and the padding helpers."""
import ml_collections
import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.tasks import base, registry, toy


def toy_config(**task_args):
  c = configs.base_config()
  c.task = "toy"
  c.task_args = ml_collections.ConfigDict(task_args)
  c.lock()
  return c


def test_partial_task_args_are_completed_and_the_config_is_left_alone():
  c = toy_config(hidden=8)
  task = registry.get("toy")(c)
  assert task.args.hidden == 8 and task.args.num_train == 64 and task.args.maxlen == 12
  assert task.args.is_locked and dict(c.task_args) == {"hidden": 8}  # building writes nothing
  with pytest.raises(AttributeError):
    task.args.hiddn = 3


def test_resolve_records_every_argument_in_a_copy():
  c = toy_config(hidden=8)
  resolved = registry.resolve(c)
  assert dict(resolved.task_args) == dict(registry.get("toy").task_args(hidden=8))
  assert resolved.is_locked and resolved.task_args.is_locked
  assert dict(c.task_args) == {"hidden": 8} and resolved.train.to_dict() == c.train.to_dict()
  assert registry.resolve(resolved).to_dict() == resolved.to_dict()  # resolving twice: the same


def test_resolve_fills_the_data_fields_from_the_complete_arguments():
  class Sized(toy.ToyTask):
    data_fields = {"hidden": lambda args: 2 * args.maxlen + args.num_train}

  given = ml_collections.ConfigDict(dict(maxlen=5))
  resolved = Sized.resolve_args(given)
  assert (resolved.hidden, resolved.maxlen, resolved.num_train) == (74, 5, 64)  # 2·5 + 64
  assert dict(given) == {"maxlen": 5}


def test_resolved_refuses_an_unresolved_label_set():
  assert base.resolved(ml_collections.ConfigDict(dict(types=("a", "b"))), "types") == ("a", "b")
  with pytest.raises(ValueError, match="task_args.types is empty: resolve the dataset first"):
    base.resolved(ml_collections.ConfigDict(dict(types=())), "types")


def test_unknown_task_arg_names_the_closest_field():
  with pytest.raises(ValueError, match=r"unknown field config.task_args.hiden; did you mean "
                                       r"'hidden'\? \(fields: dropout, hidden, maxlen"):
    registry.get("toy")(toy_config(hiden=8))
  with pytest.raises(ValueError, match=r"unknown field task_args.zzz \(fields"):
    registry.get("toy").task_args(zzz=1)


def test_nested_arguments_merge_field_by_field():
  defaults = lambda: ml_collections.ConfigDict(dict(a=1, sub=dict(x=1.0, y="b")))
  merged = base.merge_args(defaults(), {"sub": {"y": "c"}, "a": 2})
  assert (merged.a, merged.sub.x, merged.sub.y) == (2, 1.0, "c")
  with pytest.raises(ValueError, match="unknown field task_args.sub.z"):
    base.merge_args(defaults(), {"sub": {"z": 1}})


def test_pad_and_token_lengths():
  batch = {"token_ids": base.pad([np.array([5, 6, 7]), np.array([8])], 4)}
  np.testing.assert_array_equal(batch["token_ids"], [[5, 6, 7, 0], [8, 0, 0, 0]])
  assert batch["token_ids"].dtype == np.int32
  np.testing.assert_array_equal(base.token_lengths(batch), [3, 1])
  assert base.pad([np.ones(2)], 3, np.float32).dtype == np.float32
