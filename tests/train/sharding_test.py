"""Sharded training on 8 simulated devices matches one device (SGD, which exposes gradient-scale
bugs that Adam hides); checkpoints move between meshes; shardings follow the logical rules."""
import importlib.util
import pathlib

import flax.linen as nn
import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from flaxnlp.train import sharding, trainer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def tiny_config(arg=None):
  spec = importlib.util.spec_from_file_location("_tiny", ROOT / "experiments" / "_tiny.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def sgd_losses(mesh, devices, steps=4):
  config = tiny_config()
  with config.unlocked():
    config.mesh.data, config.mesh.fsdp, config.mesh.tensor = mesh
    config.optimizer.momentum = 0.9
  tr = trainer.Trainer(config, "/nonexistent", devices=devices)
  state, data = tr._init(tr.rng), tr.train_iterator()
  losses = []
  for _ in range(steps):
    state, metrics = tr.train_step(state, next(data))
    losses.append(float(metrics["loss"]))
  return losses, jax.device_get(state.params), tr


@pytest.fixture(scope="module")
def single_device():
  return sgd_losses((1, 1, 1), jax.devices()[:1])


@pytest.mark.parametrize("mesh", [(8, 1, 1), (2, 4, 1), (2, 2, 2)])
def test_sharded_sgd_matches_single_device(single_device, mesh):
  ref_losses, ref_params, _ = single_device
  losses, params, tr = sgd_losses(mesh, jax.devices())
  np.testing.assert_allclose(losses, ref_losses, rtol=2e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), params, ref_params)
  # Shardings follow the rules: vocab -> tensor, embed -> fsdp; the (4,) output bias is replicated.
  sh = tr.state_sharding.params
  assert sh["embed"]["embedding"].spec == P("tensor", "fsdp")
  assert sh["hidden"]["kernel"].spec == P("fsdp", "tensor")
  assert sh["out"]["bias"].spec == P()


def test_mesh_resolves_minus_one_and_rejects_bad_shapes():
  assert sharding.make_mesh({"data": -1, "fsdp": 2, "tensor": 1}).shape == {
      "data": 4, "fsdp": 2, "tensor": 1}
  with pytest.raises(ValueError, match="needs 6 devices, but 8"):
    sharding.make_mesh({"data": 3, "fsdp": 2, "tensor": 1})
  with pytest.raises(ValueError, match="unknown mesh axes"):
    sharding.make_mesh({"model": 8})


def test_indivisible_dims_are_replicated():
  mesh = sharding.make_mesh({"data": 1, "fsdp": 8, "tensor": 1})
  boxed = {"a": nn.LogicallyPartitioned(jax.ShapeDtypeStruct((12, 16), np.float32), ("embed", "mlp")),
           "b": nn.LogicallyPartitioned(jax.ShapeDtypeStruct((16, 3), np.float32), ("embed", None)),
           "c": jax.ShapeDtypeStruct((5,), np.float32)}
  sh = sharding.logical_shardings(boxed, mesh, (("embed", "fsdp"),))
  assert sh["a"].spec == P(None, None)  # 12 is not divisible by 8
  assert sh["b"].spec == P("fsdp", None)
  assert sh["c"].spec == P()


def test_checkpoint_from_8_devices_restores_on_1(tmp_path):
  config = tiny_config("adamw")
  with config.unlocked():
    config.mesh.data, config.mesh.fsdp, config.mesh.tensor = 2, 2, 2
    config.train.num_steps = 4
    config.train.eval_every = 0
  trainer.run(config, tmp_path)
  big = trainer.Trainer(config, tmp_path)
  from flaxnlp.train import checkpointing  # pylint: disable=import-outside-toplevel
  on8 = big.restore_or_init(checkpointing.manager(tmp_path / "checkpoints", 2))
  assert len(jax.tree.leaves(on8.params)[0].sharding.device_set) == 8
  with config.unlocked():
    config.mesh.data, config.mesh.fsdp, config.mesh.tensor = 1, 1, 1
  small = trainer.Trainer(config, tmp_path, devices=jax.devices()[:1])
  on1 = small.restore_or_init(checkpointing.manager(tmp_path / "checkpoints", 2))
  assert int(on1.step) == 4
  assert len(jax.tree.leaves(on1.params)[0].sharding.device_set) == 1
  for a, b in zip(jax.tree.leaves(jax.device_get(on8)), jax.tree.leaves(jax.device_get(on1))):
    np.testing.assert_array_equal(a, b)


def test_adaxw_state_is_sharded_like_params():
  config = tiny_config()
  with config.unlocked():
    config.mesh.data, config.mesh.fsdp, config.mesh.tensor = 2, 2, 2
    config.optimizer.name, config.optimizer.b2, config.optimizer.weight_decay = "adaxw", 1e-4, 0.05
  tr = trainer.Trainer(config, "/nonexistent")
  param_sh = tr.state_sharding.params["embed"]["embedding"]
  mirrored = [s for s in jax.tree.leaves(tr.state_sharding.opt_state)
              if s.spec == param_sh.spec]
  assert len(mirrored) == 2  # AdaX's mu and nu of the embedding
  state, data = tr._init(tr.rng), tr.train_iterator()
  for _ in range(2):
    state, metrics = tr.train_step(state, next(data))
  assert np.isfinite(float(metrics["loss"]))
  with config.unlocked():
    config.optimizer.b2 = 0.999
  with pytest.raises(ValueError, match="looks like Adam's"):
    trainer.Trainer(config, "/nonexistent")
