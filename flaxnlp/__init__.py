"""flaxnlp: the bert4keras line of Chinese NLP techniques (UniLM, GlobalPointer, GPLinker, ZLPR, AdaX,
gradient penalties) in JAX/Flax."""

__version__ = "0.1.0"


def load(workdir, *, latest: bool = False):
  """The predictor of a trained run: `flaxnlp.load("runs/default").predict([text, ...])`
  (`flaxnlp.api.load`; imported on first use, so `import flaxnlp` stays light)."""
  from flaxnlp import api  # pylint: disable=import-outside-toplevel
  return api.load(workdir, latest=latest)
