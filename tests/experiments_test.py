"""Every experiment config loads for each of its documented variants, is locked, names a registered
task, and its docstring states the command; unknown variants are refused."""
import ast
import pathlib
import runpy

import pytest

from flaxnlp import configs, paths, sweep
from flaxnlp.errors import UserError
from flaxnlp.tasks import ner, registry

ROOT = pathlib.Path(__file__).resolve().parents[1] / "experiments"
VARIANTS = {
    "_tiny": [None, "adamw", "ema", "accum"],
    "classification_goemotions": [None, "pretrained", "tiny"],
    "ee_duee_gplinker": [None, "scratch", "zh-small", "pretrained", "fin"],
    "ner_cluener_crf": [None, "scratch", "zh-small", "pretrained"],
    "ner_cluener_egp": [None, "scratch", "zh-small", "pretrained"],
    "ner_cluener_gp": [None, "scratch", "zh-small", "pretrained"],
    "ner_cmeee_egp": [None, "scratch", "zh-small", "pretrained"],
    "ner_msra_egp": [None, "scratch", "zh-small", "long", "pretrained"],
    "ner_peoples_daily_egp": [None, "scratch", "zh-small", "pretrained"],
    "pretrain_zh_small": [None, "tiny"],
    "rc_cmrc2018_seq2seq": [None, "scratch", "zh-small", "long", "mlm", "span"],
    "rc_webqa_sogouqa_seq2seq": [None],
    "re_duie_gplinker": [None, "scratch", "zh-small", "pretrained"],
    "claim_adax": [None, "msra", "msra,holdout", "cluener", "cluener,holdout", "pretrain",
                   "pretrain,holdout"],
    "claim_ner_heads": [None, "cluener", "cluener,holdout"],
    "claim_regularizers": [None, "cluener", "cluener,holdout"],
    "claim_zlpr": [None, "goemotions", "goemotions,holdout"],
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
  assert set(c.task_args) == set(registry.get(c.task).default_args())  # its complete arguments
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


CHINESE_FINE_TUNING = ["ee_duee_gplinker", "ner_cluener_crf", "ner_cluener_egp", "ner_cluener_gp", "ner_cmeee_egp",
                       "ner_msra_egp", "ner_peoples_daily_egp", "rc_cmrc2018_seq2seq",
                       "re_duie_gplinker"]


@pytest.mark.parametrize("name", CHINESE_FINE_TUNING)
def test_chinese_experiments_start_from_zh_small_scratch_or_the_default(name):
  get_config = runpy.run_path(str(ROOT / f"{name}.py"))["get_config"]
  zh_small, scratch = get_config("zh-small"), get_config("scratch")
  assert zh_small.init_checkpoint == str(paths.zh_small_dir())
  assert {k: zh_small.model[k] for k in configs.ENCODER_SIZES["small"]} == (
      configs.ENCODER_SIZES["small"])
  assert scratch.init_checkpoint is None
  assert get_config(None) == get_config(configs.DEFAULT_START)
  if "pretrained" in VARIANTS[name]:  # BERT-base weights come from the user, never zh-small
    pretrained = get_config("pretrained")
    assert pretrained.init_checkpoint is None and pretrained.model.hidden_size == 768


def test_encoder_presets_and_warm_starts_refuse_unknown_names():
  assert configs.encoder("base", hidden_dropout_prob=0.0).num_hidden_layers == 12
  with pytest.raises(UserError, match="tiny | small | base"):
    configs.encoder("large")
  with pytest.raises(UserError, match="zh-small"):
    configs.base_config(warm_start="zh-big")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_experiment_configs_import_only_configs_paths_and_their_task(name):
  """An experiment is data: `configs`, `paths` and its task's declared arguments
  (`flaxnlp.tasks.<task>.<Task>.task_args`), nothing else of the package."""
  tree = ast.parse((ROOT / f"{name}.py").read_text(encoding="utf-8"))
  flaxnlp_imports = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.module.startswith("flaxnlp"):
      flaxnlp_imports |= {f"{node.module}.{a.name}" for a in node.names}
    elif isinstance(node, ast.Import):
      flaxnlp_imports |= {a.name for a in node.names if a.name.startswith("flaxnlp")}
  tasks = {i for i in flaxnlp_imports if i.startswith("flaxnlp.tasks.")}
  assert flaxnlp_imports - tasks <= {"flaxnlp.configs", "flaxnlp.paths", "flaxnlp.sweep"}
  assert len(tasks) <= 1 and all(i.count(".") == 2 for i in tasks)  # one task module



@pytest.mark.parametrize("name,variant", [(n, v) for n, vs in VARIANTS.items() for v in vs
                                          if "def get_sweep" in (ROOT / f"{n}.py").read_text()])
def test_sweeps_build_a_config_for_every_point(name, variant):
  """Every point of `get_sweep` applies to `get_config`'s config (known keys, right types); the
  holdout stage holds out training data, the seeded stage evaluates on the experiment's split."""
  module = runpy.run_path(str(ROOT / f"{name}.py"))
  base, points = module["get_config"](variant), module["get_sweep"](variant)
  runs = sweep.expand(points, [], seeds=3)
  assert len({run.name for run in runs}) == len(runs) == 3 * len(points) >= 6
  for run in runs:
    c = sweep.with_overrides(base, run.overrides)
    assert c.train.num_steps > c.optimizer.warmup_steps
  assert (base.train.holdout_fraction > 0) == ("holdout" in (variant or ""))


def test_published_ner_setup_is_bojones():
  """bojone/GlobalPointer: BERT-base, maxlen 256 (512 to evaluate), batch 16, 10 epochs, Adam 2e-5
  constant, no warm-up or decay; CLUENER has 10,748 training sentences → 10 × 672 steps."""
  c = runpy.run_path(str(ROOT / "ner_cluener_egp.py"))["get_config"]("pretrained")
  assert (c.model.hidden_size, c.model.num_hidden_layers, c.model.intermediate_size) == (
      768, 12, 3072)
  assert (c.task_args.maxlen, c.task_args.eval_maxlen) == (256, 512)
  assert (c.train.batch_size, c.train.num_steps) == (16, 6720)
  assert (c.optimizer.learning_rate, c.optimizer.schedule, c.optimizer.warmup_steps,
          c.optimizer.weight_decay) == (2e-5, "constant", 0, 0.0)
  assert c.init_checkpoint_required
  with pytest.raises(UserError, match="gp_ner"):
    configs.published_setup("gp-ner", 100)


def test_ner_fine_tuning_arithmetic():
  """People's Daily's numbers by hand: 4,636 sentences at batch 32 → 144.875 steps per epoch;
  10 epochs = 1,448 steps, warm-up 144, evaluation and checkpoint every 2 epochs = 289 steps."""
  args = ner.NerTask.task_args(dataset="peoples_daily", head="egp")
  c = configs.ner_fine_tuning("zh-small", args, num_train=4636, epochs=10, eval_every_epochs=2,
                              batch_size=32, learning_rate=3e-4, buckets=[32, 64])
  assert (c.task, c.task_args.dataset, c.task_args.head) == ("ner", "peoples_daily", "egp")
  assert c.init_checkpoint == str(paths.zh_small_dir()) and c.model.architecture == "roformer"
  assert (c.train.num_steps, c.optimizer.warmup_steps) == (1448, 144)
  assert c.train.eval_every == c.train.checkpoint_every == 289
  assert (c.train.buckets, c.train.eval_batch_size, c.train.best_metric) == ((32, 64), 32, "f1")
  assert (c.optimizer.name, c.optimizer.learning_rate, c.optimizer.weight_decay,
          c.optimizer.schedule) == ("adamw", 3e-4, 0.01, "linear")
  scratch = configs.ner_fine_tuning("scratch", ner.NerTask.task_args(dataset="msra", head="gp"),
                                    num_train=100, epochs=1, eval_every_epochs=1, batch_size=10,
                                    eval_batch_size=7, learning_rate=1e-3, buckets=[16])
  assert not scratch.init_checkpoint and scratch.train.eval_batch_size == 7
  published = configs.ner_fine_tuning("pretrained", ner.NerTask.task_args(dataset="msra"),
                                       num_train=100, epochs=1, eval_every_epochs=1, batch_size=10,
                                       learning_rate=1e-3, buckets=[16])
  assert (published.train.num_steps, published.train.eval_every) == (70, 6)  # 10 × ⌈100/16⌉


def test_variant_helpers():
  assert configs.variant(None, ("a", "b"), "b") == "b"
  assert configs.variant("a", ("a", "b"), "b") == "a"
  with pytest.raises(UserError, match="one of a | b"):
    configs.variant("c", ("a", "b"), "b")
  assert configs.variant_set("x,z", ("x", "y", "z")) == {"x", "z"}
  assert configs.variant_set(None, ()) == set()
  with pytest.raises(UserError, match=r"\['w'\]; valid: x, y"):
    configs.variant_set("x,w", ("x", "y"))
  with pytest.raises(ValueError, match="did you mean 'maxlen'"):
    ner.NerTask.task_args(maxlne=3)
