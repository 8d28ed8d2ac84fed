"""Former home of the toy task, now `flaxnlp.tasks.toy`; kept until experiments/_tiny.py imports it
from there (then delete this module)."""
from flaxnlp.tasks.toy import ToyModel, ToyTask, toy_task_args  # noqa: F401
