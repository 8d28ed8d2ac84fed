"""Every experiment config loads for each of its documented variants, is locked, names a registered
task, and its docstring states the command; unknown variants are refused."""
import pathlib
import runpy

import pytest

from flaxnlp.errors import UserError
from flaxnlp.tasks import registry

ROOT = pathlib.Path(__file__).resolve().parents[1] / "experiments"
VARIANTS = {
    "_tiny": [None, "adamw", "ema", "accum"],
    "classification_goemotions": [None, "pretrained", "tiny"],
    "ee_duee_gplinker": [None, "pretrained", "fin"],
    "ner_cluener_egp": [None, "long", "pretrained"],
    "ner_cluener_gp": [None, "long", "pretrained"],
    "ner_cmeee_egp": [None, "pretrained"],
    "ner_msra_egp": [None, "long", "pretrained"],
    "ner_peoples_daily_egp": [None, "pretrained"],
    "pretrain_zh_small": [None, "tiny"],
    "rc_cmrc2018_seq2seq": [None, "long"],
    "rc_webqa_sogouqa_seq2seq": [None],
    "re_duie_gplinker": [None, "pretrained"],
}


def test_every_config_file_is_listed():
  configs = {p.stem for p in ROOT.glob("*.py") if "def get_config" in p.read_text()}
  assert configs == set(VARIANTS)


@pytest.mark.parametrize("name,variant",
                         [(n, v) for n, vs in VARIANTS.items() for v in vs])
def test_config_loads_locked_with_a_registered_task(name, variant):
  module = runpy.run_path(str(ROOT / f"{name}.py"))
  c = module["get_config"](variant)
  assert c.is_locked
  with pytest.raises(AttributeError):
    c.train.num_stepz = 1  # a misspelled key is refused
  assert c.train.num_steps > 0 and c.train.batch_size > 0
  assert max(c.train.buckets) >= 8
  assert c.optimizer.warmup_steps < c.train.num_steps
  assert registry.get(c.task) is not None
  assert f"experiments/{name}.py" in module["__doc__"]


@pytest.mark.parametrize("name", list(VARIANTS))
def test_unknown_variant_is_refused(name):
  with pytest.raises(UserError, match="unknown variant"):
    runpy.run_path(str(ROOT / f"{name}.py"))["get_config"]("nonsense")


@pytest.mark.parametrize("name", [n for n, vs in VARIANTS.items() if "pretrained" in vs] +
                         ["rc_webqa_sogouqa_seq2seq"])  # BERT-base fine-tuning by default
def test_pretrained_variants_require_init_checkpoint(name):
  get_config = runpy.run_path(str(ROOT / f"{name}.py"))["get_config"]
  c = get_config(None if name == "rc_webqa_sogouqa_seq2seq" else "pretrained")
  assert c.init_checkpoint_required
