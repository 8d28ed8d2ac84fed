"""Tiger: a Tight-fisted Optimizer (Su, 2023), sign momentum with LAMB-like per-parameter rates.

Tiger is Lion with β1 = β2, or SignSGD with momentum and decoupled weight decay. Its update is
built from the momentum alone, so gradient accumulation needs no second buffer: the k micro-step
gradients are summed into the momentum itself (blog https://kexue.fm/archives/8634).

References:
  J. Su, "Tiger: A Tight-fisted Optimizer", https://github.com/bojone/tiger (2023);
  blog https://kexue.fm/archives/9512.
"""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

PARAM_KINDS = ("embedding", "kernel", "bias", "norm_scale", "norm_offset")


class TigerState(NamedTuple):
  """State of `tiger`."""
  count: jax.Array  # shape=(), dtype=jnp.int32: number of micro-steps (calls to update) so far.
  m: optax.Updates  # momentum, in the params' dtypes.


def _key_name(key) -> str:
  """The name of one pytree path entry (dict key, attribute or sequence index)."""
  for attr in ("key", "name", "idx"):
    if hasattr(key, attr):
      return str(getattr(key, attr))
  return str(key)


def tiger_param_kinds(params: Any) -> Any:
  """The Tiger kind (one of `PARAM_KINDS`) of every leaf of a Flax params tree, from its path.

  Rules (case-insensitive; the leaf name is the last path entry): a name containing "embedding"
  (`nn.Embed`'s `embedding`) → "embedding"; "scale" → "norm_scale" (Flax norm gains); a name
  containing "bias" → "norm_offset" when an enclosing module name contains "norm" (e.g.
  `layer_norm/bias`, `attention_norm/bias`), else "bias" (`bias`, `mlm_bias`); anything else →
  "kernel".

  Args:
    params: a pytree of arrays (e.g. Flax params).

  Returns:
    A pytree of the same structure whose leaves are kind strings.
  """
  def kind(path, _):
    names = [_key_name(k).lower() for k in path]
    leaf = names[-1] if names else ""
    if "embedding" in leaf:
      return "embedding"
    if leaf == "scale":
      return "norm_scale"
    if "bias" in leaf:
      return "norm_offset" if any("norm" in n for n in names[:-1]) else "bias"
    return "kernel"

  return jax.tree_util.tree_map_with_path(kind, params)


def tiger(
    learning_rate: optax.ScalarOrSchedule,
    beta: float = 0.965,
    weight_decay: float = 0.01,
    shrink_ratio: float = 0.99,
    grad_accum_steps: int = 1,
    param_kinds: Any = None,
) -> optax.GradientTransformation:
  r"""Tiger (bojone/tiger): sign of the momentum, per-kind learning rates, NaN shrinkage.

  With t the 0-based micro-step index, k = `grad_accum_steps`, g_t the gradient of one leaf θ:

  .. math::
    b_t &= \beta \text{ if } t \bmod k = 0 \text{ else } 1,\qquad
    m_t = b_t\, m_{t-1} + \tfrac{1-\beta}{k}\, g_t\\
    \Delta\theta_t &= -\eta_t\, (\operatorname{sign}(m_t) + \lambda\theta)
      \text{ if } (t+1) \bmod k = 0 \text{ else } 0

  so the momentum decays once per cycle and sums the cycle's k gradients, and θ moves only at the
  cycle's last micro-step. The per-leaf rate η_t and decay λ depend on the leaf's kind, with α_u
  the learning rate (or schedule) at update u = ⌊t/k⌋:

  * "kernel": η = α_u · RMS(θ) over the whole tensor, λ = `weight_decay`;
  * "embedding": η = α_u · RMS(θ) per row (over the last axis; shape [..., 1]), λ = `weight_decay`;
  * "bias", "norm_offset", "norm_scale": η = α_u / 2, λ = 0 (no RMS scaling).

  RMS(θ) = sqrt(mean θ²) is not floored, as in the original: a kernel (or an embedding row) that
  is exactly zero never moves. Give such a leaf the kind "bias" in `param_kinds` to train it.

  A leaf whose gradient contains a NaN keeps its momentum (b_t = 1, g_t = 0) and is shrunk
  toward its neutral value c (1 for "norm_scale", else 0), θ ← c + s·(θ − c) with s =
  `shrink_ratio`, on any micro-step; the other leaves update normally.

  Differences from the original: its `lr_schedule` is indexed by micro-step t; here a schedule
  receives the update index ⌊t/k⌋, like `optax.MultiSteps` and the trainer (identical for k = 1).
  Its kinds come from Keras variable names (bias/beta/gamma/embeddings); here from Flax names.

  Args:
    learning_rate: the global relative learning rate α (a float or an optax schedule).
    beta: momentum decay β (one decay per accumulation cycle).
    weight_decay: decoupled decay λ of kernels and embeddings, scaled by their η.
    shrink_ratio: s, the factor toward the neutral value applied on a NaN gradient.
    grad_accum_steps: k, micro-steps per update (the caller passes each micro-batch's mean
      gradient; the update uses their mean). 1 when the caller averages the gradients itself.
    param_kinds: optional pytree of kind strings ("embedding", "kernel", "bias", "norm_scale",
      "norm_offset") with the params' structure; default `tiger_param_kinds(params)`.

  Returns:
    An `optax.GradientTransformation`; `update` needs `params`.

  Examples:
    >>> import jax, jax.numpy as jnp, optax
    >>> from flaxnlp.optim import tiger
    >>> params = {"dense": {"kernel": jnp.array([[1.0, -1.0], [1.0, -1.0]]), "bias": jnp.zeros(2)}}
    >>> tx = tiger(learning_rate=0.1)
    >>> state = tx.init(params)
    >>> grads = jax.tree.map(jnp.ones_like, params)
    >>> updates, state = tx.update(grads, state, params)
    >>> new = optax.apply_updates(params, updates)
    >>> print(new["dense"]["kernel"])  # θ − 0.1·RMS(θ)·(sign(m) + 0.01θ), RMS(θ) = 1
    [[ 0.899 -1.099]
     [ 0.899 -1.099]]
    >>> print(new["dense"]["bias"])    # θ − (0.1/2)·sign(m): half rate, no RMS, no decay
    [-0.05 -0.05]
  """
  if isinstance(grad_accum_steps, int) and grad_accum_steps < 1:
    raise ValueError(f"grad_accum_steps must be ≥ 1, got {grad_accum_steps}")

  def init_fn(params):
    return TigerState(count=jnp.zeros([], jnp.int32), m=optax.tree.zeros_like(params))

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError("tiger needs params: call update(grads, state, params)")
    kinds = tiger_param_kinds(params) if param_kinds is None else param_kinds
    t, k = state.count, grad_accum_steps
    first, last = t % k == 0, (t + 1) % k == 0
    lr = learning_rate(t // k) if callable(learning_rate) else learning_rate
    lr = jnp.where(last, lr, 0.0)

    def leaf(g, m, p, kind):
      if kind not in PARAM_KINDS:
        raise ValueError(f"unknown tiger param kind {kind!r}; valid: {', '.join(PARAM_KINDS)}")
      dtype = jnp.promote_types(p.dtype, jnp.float32)
      g, m_in, theta = g.astype(dtype), m.astype(dtype), p.astype(dtype)
      is_nan = jnp.any(jnp.isnan(g))
      b1 = jnp.where(first & ~is_nan, beta, 1.0).astype(dtype)
      m_new = b1 * m_in + ((1 - beta) / k) * jnp.where(is_nan, 0.0, g)
      if kind == "kernel":
        eta = lr * jnp.sqrt(jnp.mean(jnp.square(theta)))
      elif kind == "embedding":
        eta = lr * jnp.sqrt(jnp.mean(jnp.square(theta), axis=-1, keepdims=True))
      else:
        eta = 0.5 * lr
      decay = weight_decay if kind in ("kernel", "embedding") else 0.0
      neutral = 1.0 if kind == "norm_scale" else 0.0
      step = -eta * (jnp.sign(m_new) + decay * theta)
      shrink = (shrink_ratio - 1.0) * (theta - neutral)
      u = jnp.where(is_nan, shrink, step)
      return u.astype(p.dtype), m_new.astype(m.dtype)

    treedef = jax.tree.structure(updates)
    flat = [treedef.flatten_up_to(tree) for tree in (updates, state.m, params, kinds)]
    new_updates, new_m = zip(*(leaf(*xs) for xs in zip(*flat))) if flat[0] else ((), ())
    new_updates, new_m = treedef.unflatten(new_updates), treedef.unflatten(new_m)
    return new_updates, TigerState(count=optax.safe_increment(state.count), m=new_m)

  return optax.GradientTransformation(init_fn, update_fn)
