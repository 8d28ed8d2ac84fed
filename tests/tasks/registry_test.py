"""The task registry refuses unknown names and lists the valid ones."""
import pytest

from flaxnlp.tasks import registry
from flaxnlp.tasks.base import Task


def test_unknown_task_lists_registered_names():
  @registry.register("_probe_task")
  class Probe(Task):  # pylint: disable=abstract-method
    pass

  with pytest.raises(KeyError, match=r"unknown task 'nope'.*_probe_task"):
    registry.get("nope")
  assert registry.get("_probe_task") is Probe


def test_double_registration_is_an_error():
  @registry.register("_probe_twice")
  class A(Task):  # pylint: disable=abstract-method
    pass

  with pytest.raises(ValueError, match="already registered"):
    @registry.register("_probe_twice")
    class B(Task):  # pylint: disable=abstract-method,unused-variable
      pass
