"""The optimizer registry (`flaxnlp.optim.registry.OPTIMIZERS`): every name builds from
`config.optimizer` and steps the trainer, weight decay reaches only ndim ≥ 2 leaves, Tiger's
config fields arrive, unknown names fail helpfully."""
import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp import configs
from flaxnlp.optim import registry as optimizers
from flaxnlp.train import trainer

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

