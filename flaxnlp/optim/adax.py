"""AdaX and AdaX-W: Adam with exponential long-term memory (Li, Zhang, Wang, Luo, 2020).

AdaX replaces Adam's decaying second moment by one that *grows*, v_t = (1+β2) v_{t-1} + β2 g_t²
with β2 = 1e-4, normalised by (1+β2)^t − 1. Early on the normalised moment is close to the uniform
average of all past g² (AdaGrad-like); later it becomes an EMA whose decay β̂_t → 1, so the update
tends to SGD with momentum (blog https://kexue.fm/archives/7387).

References:
  Li et al., "AdaX: Adaptive Gradient Descent with Exponential Long Term Memory",
  arXiv:2004.09740.
"""
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

EpsPlacement = Literal["sqrt_vhat", "sqrt_v", "inside_sqrt"]


class ScaleByAdaxState(NamedTuple):
  """State of `scale_by_adax`."""
  count: jax.Array  # shape=(), dtype=jnp.int32: number of updates so far.
  mu: optax.Updates  # first moment m_t (no bias correction).
  nu: optax.Updates  # bias-corrected second moment v̂_t (stored instead of the overflowing v_t).


def _memory_weight(count: jax.Array, b2: float) -> tuple[jax.Array, jax.Array]:
  """(w_t, c_t) with c_t = (1+β2)^t − 1 and w_t = β2 / c_t = 1 − β̂_t (w_1 = 1).

  c_t is computed as expm1(t·log1p(β2)), which keeps full precision for small t where
  pow(1+β2, t) − 1 loses about three digits in float32. Both are computed in JAX's default
  float type (float32, or float64 under `jax.enable_x64`). c_t overflows to +inf near
  t ≈ 887,000 in float32; w_t is then exactly 0 and nothing downstream becomes inf or NaN.
  """
  dtype = jnp.result_type(float)
  t = count.astype(dtype)
  c = jnp.expm1(t * jnp.log1p(jnp.asarray(b2, dtype)))
  return jnp.asarray(b2, dtype) / c, c


def scale_by_adax(
    b1: float = 0.9,
    b2: float = 1e-4,
    eps: float = 1e-6,
    eps_placement: EpsPlacement = "sqrt_vhat",
    mu_dtype=None,
) -> optax.GradientTransformation:
  r"""Rescales updates by AdaX's long-term second moment.

  .. math::
    m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \qquad\text{(no bias correction)}\\
    v_t &= (1+\beta_2) v_{t-1} + \beta_2 g_t^2,\qquad
    \hat v_t = v_t / ((1+\beta_2)^t - 1)\\
    u_t &= m_t / (\sqrt{\hat v_t} + \epsilon)

  Storage: v_t itself overflows float32 near t ≈ 887k steps, so the state keeps v̂_t, updated
  with the equivalent EMA form v̂_t = v̂_{t-1} + w_t (g_t² − v̂_{t-1}), w_t = β2/((1+β2)^t − 1)
  (= 1 − β̂_t; w_1 = 1 so v̂_1 = g_1²). Ten million float32 steps stay finite.

  ε placement (the implementations differ: arXiv:2004.09740's code, bojone/adax, blog 7387):
    * ``"sqrt_vhat"`` (default; bojone's AdaX_V2): m / (sqrt(v̂) + ε), ε = 1e-6.
    * ``"sqrt_v"`` (paper's PyTorch code, ε = 1e-12 there): lr·sqrt(c_t)·m / (sqrt(v_t) + ε),
      i.e. m / (sqrt(v̂) + ε/sqrt(c_t)).
    * ``"inside_sqrt"`` (blog 7387): m / sqrt(v̂ + ε).

  Args:
    b1: decay of the first moment.
    b2: growth rate of the second moment (AdaX's β2; 1e-4 in the paper).
    eps: numerical stability term, placed as `eps_placement` says.
    eps_placement: one of "sqrt_vhat", "sqrt_v", "inside_sqrt".
    mu_dtype: optional dtype of the first moment (defaults to the params' dtype). v̂ takes
      the params' dtype: keep float32 master params, because in bfloat16 the weight
      w_t ≈ 1/t of the long-term average falls below the 8-bit mantissa after a few hundred
      steps and v̂ would stop moving.

  Returns:
    An `optax.GradientTransformation`.

  Examples:
    >>> import jax.numpy as jnp, optax
    >>> from flaxnlp.optim import scale_by_adax
    >>> tx = scale_by_adax()
    >>> state = tx.init(jnp.zeros(2))
    >>> u, state = tx.update(jnp.array([1.0, -2.0]), state)
    >>> [round(float(x), 3) for x in u]   # m_1 / |g_1| = (1 - b1) * sign(g)
    [0.1, -0.1]
  """
  if eps_placement not in ("sqrt_vhat", "sqrt_v", "inside_sqrt"):
    raise ValueError(f"eps_placement must be 'sqrt_vhat', 'sqrt_v' or 'inside_sqrt', "
                     f"got {eps_placement!r}")

  def init_fn(params):
    mu = optax.tree.zeros_like(params, dtype=mu_dtype)
    nu = optax.tree.zeros_like(params)
    return ScaleByAdaxState(count=jnp.zeros([], jnp.int32), mu=mu, nu=nu)

  def update_fn(updates, state, params=None):
    del params
    count = optax.safe_increment(state.count)
    w, c = _memory_weight(count, b2)
    mu = optax.tree.update_moment(updates, state.mu, b1, 1)
    nu = jax.tree.map(lambda v, g: v + w.astype(v.dtype) * (jnp.square(g) - v), state.nu, updates)

    def scale(m, v):
      if eps_placement == "sqrt_vhat":
        denom = jnp.sqrt(v) + eps
      elif eps_placement == "sqrt_v":
        denom = jnp.sqrt(v) + (eps * jax.lax.rsqrt(c)).astype(v.dtype)
      else:
        denom = jnp.sqrt(v + eps)
      return (m / denom.astype(m.dtype)).astype(m.dtype)

    new_updates = jax.tree.map(scale, mu, nu)
    new_updates = jax.tree.map(lambda u, g: u.astype(g.dtype), new_updates, updates)
    mu = optax.tree.cast(mu, mu_dtype)
    return new_updates, ScaleByAdaxState(count=count, mu=mu, nu=nu)

  return optax.GradientTransformation(init_fn, update_fn)


def adax(
    learning_rate: optax.ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 1e-4,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    mask=None,
    eps_placement: EpsPlacement = "sqrt_vhat",
    mu_dtype=None,
) -> optax.GradientTransformation:
  r"""AdaX with coupled L2 regularisation (the paper's ``AdaX``).

  The L2 term is added to the gradient before the moments, g ← g + λθ, then
  θ ← θ − α_t · m_t / (sqrt(v̂_t) + ε). Paper defaults: α = 1.5e-3, λ = 5e-4.

  Args:
    learning_rate: a float or an optax schedule.
    b1, b2, eps, eps_placement, mu_dtype: see `scale_by_adax`.
    weight_decay: L2 coefficient λ added to the gradient (0 disables it).
    mask: optional pytree (or callable) of booleans selecting the leaves that get the L2 term
      (as in `optax.add_decayed_weights`); default all.

  Returns:
    An `optax.GradientTransformation` (arXiv:2004.09740, Algorithm "AdaX").

  Examples:
    >>> import jax.numpy as jnp, optax
    >>> from flaxnlp.optim import adax
    >>> tx = adax(learning_rate=0.1)
    >>> params = jnp.array([1.0, -1.0]); state = tx.init(params)
    >>> updates, state = tx.update(2 * params, state, params)
    >>> [round(float(x), 3) for x in optax.apply_updates(params, updates)]
    [0.99, -0.99]
  """
  return optax.chain(
      optax.add_decayed_weights(weight_decay, mask) if weight_decay else optax.identity(),
      scale_by_adax(b1, b2, eps, eps_placement, mu_dtype),
      optax.scale_by_learning_rate(learning_rate),
  )


def adaxw(
    learning_rate: optax.ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 1e-4,
    eps: float = 1e-6,
    weight_decay: float = 5e-2,
    mask=None,
    eps_placement: EpsPlacement = "sqrt_vhat",
    mu_dtype=None,
) -> optax.GradientTransformation:
  r"""AdaX-W: AdaX with decoupled weight decay (the paper's ``AdaXW``, arXiv:2004.09740).

  θ ← θ·(1 − α_t λ) − α_t · m_t / (sqrt(v̂_t) + ε), with the *scheduled* learning rate α_t and
  the decay applied to the pre-update θ. Paper defaults: α = 5e-3, λ = 5e-2.

  Args:
    learning_rate: a float or an optax schedule.
    b1, b2, eps, eps_placement, mu_dtype: see `scale_by_adax`.
    weight_decay: decoupled decay λ.
    mask: optional pytree (or callable) of booleans selecting the leaves that decay
      (as in `optax.add_decayed_weights`), e.g. to exclude biases and LayerNorm scales.

  Returns:
    An `optax.GradientTransformation`.

  Examples:
    >>> import jax.numpy as jnp, optax
    >>> from flaxnlp.optim import adaxw
    >>> tx = adaxw(learning_rate=0.1, weight_decay=0.5)
    >>> params = jnp.array([1.0, -1.0]); state = tx.init(params)
    >>> updates, state = tx.update(jnp.zeros(2), state, params)  # zero gradient: decay only
    >>> [round(float(x), 3) for x in optax.apply_updates(params, updates)]  # θ·(1 − 0.1·0.5)
    [0.95, -0.95]
  """
  return optax.chain(
      scale_by_adax(b1, b2, eps, eps_placement, mu_dtype),
      optax.add_decayed_weights(weight_decay, mask),
      optax.scale_by_learning_rate(learning_rate),
  )
