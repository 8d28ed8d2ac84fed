"""flaxnlp: the bert4keras line of Chinese NLP techniques (UniLM, GlobalPointer, GPLinker, ZLPR, AdaX,
gradient penalties) in JAX/Flax."""

__version__ = "0.1.0"
