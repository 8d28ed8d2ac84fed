"""Exports the encoder of a trained workdir as a Hugging Face BERT folder.

  python -m flaxnlp.train.export --config experiments/pretrain_zh_small.py \
      --workdir runs/pretrain_zh_small --out weights/zh-small --dtype float16

The params (the best checkpoint if the run kept one, else the latest, EMA weights when the run
used EMA) are restored onto this host, their `encoder` subtree is written by
`flaxnlp.models.checkpoints.save_pretrained` with the config's encoder hyper-parameters, and the
vocabulary file of `config.task_args.vocab` (default: the bert-base-chinese vocabulary) is copied
beside it.
"""
from __future__ import annotations

import pathlib

import jax
from absl import app, flags
from ml_collections import config_flags

from flaxnlp import paths
from flaxnlp.models import checkpoints, encoders
from flaxnlp.train import trainer as trainer_lib

_CONFIG = config_flags.DEFINE_config_file("config", None, "experiment config file")
_WORKDIR = flags.DEFINE_string("workdir", None, "trained workdir", required=True)
_OUT = flags.DEFINE_string("out", None, "output folder", required=True)
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "float16"], "storage dtype")


def export_encoder(config, workdir: str | pathlib.Path, out: str | pathlib.Path,
                   dtype: str = "float32") -> pathlib.Path:
  """Writes the `encoder` params of `workdir`'s checkpoint to `out` (HF layout); returns `out`."""
  trainer = trainer_lib.Trainer(config, workdir)
  params = jax.device_get(trainer.load_eval_params())["encoder"]
  vocab_size = params["embeddings"]["word_embeddings"]["embedding"].shape[0]
  encoder_config = encoders.encoder_config(config.model, vocab_size=vocab_size, dtype="float32",
                                           remat=False)
  vocab = config.task_args.get("vocab") or paths.chinese_bert_vocab()
  checkpoints.save_pretrained(out, encoder_config, params, vocab=vocab, dtype=dtype)
  return pathlib.Path(out)


def main(argv):
  del argv
  if _CONFIG.value is None:
    raise app.UsageError("--config is required")
  print(f"wrote {export_encoder(_CONFIG.value, _WORKDIR.value, _OUT.value, _DTYPE.value)}")


if __name__ == "__main__":
  app.run(main)
