"""The optimizer registry (`flaxnlp.optim.registry.OPTIMIZERS`): every name builds from
`config.optimizer` and steps the trainer, weight decay reaches only ndim ≥ 2 leaves, Tiger's
config fields arrive, the encoder's lr multiplier scales exactly its subtree, unknown names fail
helpfully."""
import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp import configs, paths
from flaxnlp.optim import registry as optimizers
from flaxnlp.tasks import classification
from flaxnlp.train import trainer

import own_data_testing

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAMES = sorted(optimizers.OPTIMIZERS)


def tiny_config(arg=None):
  spec = importlib.util.spec_from_file_location("_tiny", ROOT / "experiments" / "_tiny.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def opt_config(name, **fields):
  c = configs.base_config().optimizer
  c.name, c.schedule, c.learning_rate = name, "constant", 0.1
  if name in ("adax", "adaxw"):
    c.b2 = 1e-4
  c.update(fields)
  return c


def test_registry_has_the_expected_names():
  assert set(NAMES) >= {"adamw", "adam", "sgd", "lamb", "lion", "adafactor", "adax", "adaxw",
                        "tiger"}


@pytest.mark.parametrize("name", NAMES)
def test_every_name_builds_and_steps_the_trainer(name, tmp_path):
  config = tiny_config()
  with config.unlocked():
    config.optimizer.update(opt_config(name, learning_rate=1e-2, weight_decay=0.01))
  tr = trainer.Trainer(config, tmp_path, devices=jax.devices()[:1])
  state = tr._init(tr.rng)  # pylint: disable=protected-access
  params0 = jax.tree.map(np.asarray, state.params)
  state, metrics = tr.train_step(state, next(tr.train_iterator()))
  assert int(state.step) == 1 and np.isfinite(float(metrics["loss"]))
  moved = [not np.array_equal(a, np.asarray(b))
           for a, b in zip(jax.tree.leaves(params0), jax.tree.leaves(state.params))]
  assert any(moved) and all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state.params))


def _decay_probe_params():
  rng = np.random.default_rng(0)
  return {"embed": {"embedding": jnp.asarray(rng.normal(size=(4, 2)), jnp.float32)},
          "dense": {"kernel": jnp.asarray(rng.normal(size=(2, 3)), jnp.float32),
                    "bias": jnp.asarray(rng.normal(size=3), jnp.float32)},
          "layer_norm": {"scale": jnp.asarray(1 + rng.normal(size=2), jnp.float32),
                         "bias": jnp.asarray(rng.normal(size=2), jnp.float32)}}


@pytest.mark.parametrize("name", NAMES)
def test_weight_decay_reaches_only_matrices(name):
  """Zero gradients: with weight_decay > 0 exactly the ndim ≥ 2 leaves move; with 0 none do."""
  params = _decay_probe_params()
  zeros = jax.tree.map(jnp.zeros_like, params)
  for wd in (0.0, 0.1):
    tx, _ = optimizers.make_optimizer(opt_config(name, weight_decay=wd), num_steps=10)
    updates, _ = tx.update(zeros, tx.init(params), params)
    moved = jax.tree.map(lambda u: bool(np.any(np.asarray(u) != 0)), updates)
    assert moved == jax.tree.map(lambda p: wd > 0 and p.ndim >= 2, params), (wd, moved)


def test_tiger_reads_beta_shrink_ratio_and_weight_decay():
  """Hand-worked: one step with β = 0.9, λ = 0.5, lr = 0.1 on a kernel [[3, 4]] (RMS = sqrt(12.5));
  then a NaN gradient shrinks it by shrink_ratio = 0.5."""
  tx, _ = optimizers.make_optimizer(
      opt_config("tiger", beta=0.9, shrink_ratio=0.5, weight_decay=0.5), num_steps=10)
  params = {"kernel": jnp.array([[3.0, 4.0]])}
  state = tx.init(params)
  updates, state = tx.update({"kernel": jnp.array([[2.0, -1.0]])}, state, params)
  np.testing.assert_allclose(np.asarray(state.m["kernel"]), [[0.2, -0.1]], rtol=1e-6)
  rms = np.sqrt(12.5)
  np.testing.assert_allclose(np.asarray(updates["kernel"]),
                             [[-0.1 * rms * (1 + 1.5), -0.1 * rms * (-1 + 2.0)]], rtol=1e-6)
  updates, _ = tx.update({"kernel": jnp.array([[np.nan, 1.0]])}, state, params)
  np.testing.assert_allclose(np.asarray(updates["kernel"]), [[-1.5, -2.0]], rtol=1e-6)


def test_clip_norm_prepends_global_norm_clipping():
  tx, _ = optimizers.make_optimizer(opt_config("sgd", clip_norm=1.0), num_steps=10)
  params = {"w": jnp.zeros(2)}
  updates, _ = tx.update({"w": jnp.array([6.0, 8.0])}, tx.init(params), params)
  np.testing.assert_allclose(np.asarray(updates["w"]), [-0.06, -0.08], rtol=1e-6)


def test_unknown_name_names_the_closest_and_lists_all():
  with pytest.raises(ValueError, match=r"unknown optimizer 'tigr' \(did you mean 'tiger'\?\)") as e:
    optimizers.make_optimizer(opt_config("tigr"), num_steps=10)
  assert all(name in str(e.value) for name in NAMES)


def test_adax_rejects_an_adam_b2():
  with pytest.raises(ValueError, match="looks like Adam's β2"):
    optimizers.make_optimizer(opt_config("adax", b2=0.999), num_steps=10)



@pytest.mark.parametrize("name", ["adamw", "tiger"])
def test_encoder_lr_multiplier_is_the_encoder_subtrees_learning_rate(name):
  """Two steps with lr 0.1 and multiplier 0.25: the encoder leaves move exactly as the same
  optimizer at lr 0.025 moves them (decoupled decay included), the head as at lr 0.1."""
  rng = np.random.default_rng(0)
  params = {"encoder": {"kernel": jnp.asarray(rng.normal(size=(3, 2)), jnp.float32),
                        "bias": jnp.asarray(rng.normal(size=2), jnp.float32)},
            "head": {"kernel": jnp.asarray(rng.normal(size=(2, 2)), jnp.float32)}}
  grads = [jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)
           for _ in range(2)]

  def run(tx, tree):
    state, out = tx.init(tree), []
    for g in grads:
      updates, state = tx.update({k: g[k] for k in tree}, state, tree)
      out.append(updates)
    return out

  tx, _ = optimizers.make_optimizer(
      opt_config(name, weight_decay=0.1, encoder_lr_multiplier=0.25), num_steps=10)
  scaled = run(tx, params)
  for key, lr in (("encoder", 0.025), ("head", 0.1)):
    ref_tx, _ = optimizers.make_optimizer(opt_config(name, weight_decay=0.1, learning_rate=lr),
                                          num_steps=10)
    expected = run(ref_tx, {key: params[key]})
    for got, want in zip(scaled, expected):
      jax.tree.map(lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b),
                                                           rtol=1e-6, atol=1e-9),
                   got[key], want[key])



def test_trainer_applies_the_multiplier_to_the_tasks_encoder(tmp_path):
  """Multiplier 0 freezes exactly the task's `encoder_key` subtree; the classifier still trains."""
  train = own_data_testing.write(tmp_path, "train.tsv", "今天很开心\t喜悦\n气死我了\t愤怒\n" * 4)
  config = own_data_testing.tiny_config("classification", classification.task_args(
      vocab=str(paths.chinese_bert_vocab()), maxlen=16, dataset="tsv",
      files=dict(train=str(train), eval=str(train), test="", labels="")), buckets=(16,))
  with config.unlocked():
    config.optimizer.update(opt_config("adamw", learning_rate=1e-2, encoder_lr_multiplier=0.0))
  tr = trainer.Trainer(config, tmp_path / "w", devices=jax.devices()[:1])
  state = tr._init(tr.rng)  # pylint: disable=protected-access
  before = jax.tree.map(np.asarray, state.params)
  state, _ = tr.train_step(state, next(tr.train_iterator()))
  changed = jax.tree.map(lambda a, b: not np.array_equal(a, np.asarray(b)), before, state.params)
  assert tr.task.encoder_key == ("encoder",) and set(changed) == {"encoder", "classifier"}
  assert not any(jax.tree.leaves(changed["encoder"]))
  assert all(jax.tree.leaves(changed["classifier"]))
