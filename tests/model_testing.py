"""Helpers shared by the encoder tests (bert_test.py, roformer_test.py, roformer_v2_test.py)."""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# Three rows of token ids (2 = [CLS]-like, 3 = [SEP]-like, 0 = padding) and their segments.
IDS = np.array([[2, 17, 33, 41, 3, 25, 9, 3, 44, 3],
                [2, 5, 6, 3, 11, 3, 0, 0, 0, 0],
                [2, 50, 59, 3, 0, 0, 0, 0, 0, 0]])
SEGMENTS = np.array([[0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
                     [0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
                     [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])


@functools.partial(jax.jit, static_argnums=0, static_argnames=("attention", "deterministic",
                                                               "method"))
def apply_jitted(model, variables, *args, **kwargs):
  """`model.apply`, jitted (op-by-op dispatch is slow on the shared CPU)."""
  return model.apply(variables, *args, **kwargs)


def random_params(model, seed=0, std=0.1):
  """Random params without compiling `init` (XLA's RNG makes that slow): N(0, std²), scales 1 + N."""
  boxed = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.ones((1, 4), jnp.int32))
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    x = rng.normal(0.0, std, leaf.shape).astype(np.float32)
    return jnp.asarray(x + 1.0 if path[-1].key == "scale" else x)

  return jax.tree_util.tree_map_with_path(draw, nn.unbox(boxed["params"]))
