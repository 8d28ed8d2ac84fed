"""Gradient penalties and FGM adversarial training as loss transformers.

Every regularizer takes a loss function and returns the regularized one, so the trainer can switch
them from a config (`config.regularizer.name`) without task code:

  loss_fn(params, perturbations, *args) -> (loss, aux)          # what the task provides
  make_regularized_loss(name, loss_fn, epsilon, ...)(params, *args) -> (loss, aux)

`perturbations` is a Flax "perturbations" collection: zeros added to intermediate activations by
`nn.Module.perturb` (the BERT encoder perturbs its token embeddings), so its gradient is the
gradient with respect to the embedded input sequence.

References: Su Jianlin, blog 7234 (FGM ≈ gradient penalty), 8796 (input vs
parameter gradient penalty), after Dherin et al., arXiv:2111.15090.
"""
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

LossFn = Callable[..., tuple[jax.Array, dict[str, jax.Array]]]
REGULARIZERS = ("none", "fgm", "input_gradient_penalty", "param_gradient_penalty")


def squared_norm(tree) -> jax.Array:
  """Σ x² over all leaves, accumulated in float32 at least (bfloat16 leaves are upcast)."""
  return sum(jnp.sum(jnp.square(x.astype(jnp.promote_types(x.dtype, jnp.float32))))
             for x in jax.tree.leaves(tree))


def input_gradient_penalty(loss_fn: LossFn, epsilon: float = 1.0, *,
                           zero_perturbations: Callable[..., Any]) -> LossFn:
  r"""L + ½ε‖∇_x L‖², x = the perturbed intermediate values (the embedded tokens).

  bert4keras semantics (`task_iflytek_gradient_penalty.py`, ε = 1): the squared gradient of the
  *batch-mean* loss with respect to every (sample, position) embedding occurrence, summed (so the
  penalty scales like 1/B). A token repeated in the batch contributes once per occurrence, unlike
  ‖∇_E L‖² over the embedding matrix, where its occurrence gradients add first. Training on the
  result needs second-order gradients (double backprop), which JAX gives for free.

  Args:
    loss_fn: (params, perturbations, *args) -> (loss, aux).
    epsilon: penalty weight ε.
    zero_perturbations: (*args) -> pytree of zeros shaped like the perturbations collection for
      this batch (e.g. from `jax.eval_shape(model.init, ...)["perturbations"]`).

  Returns:
    (params, *args) -> (penalised loss, aux + {"loss_unpenalised", "gradient_penalty"}).
  """
  def penalised(params, *args):
    (loss, aux), grads = jax.value_and_grad(
        lambda p: loss_fn(params, p, *args), has_aux=True)(zero_perturbations(*args))
    penalty = 0.5 * epsilon * squared_norm(grads)
    return loss + penalty, {**aux, "loss_unpenalised": loss, "gradient_penalty": penalty}
  return penalised


def param_gradient_penalty(loss_fn: LossFn, epsilon: float) -> LossFn:
  r"""L + ½ε‖∇_θ L‖² (the penalty SGD applies implicitly; blog 8796).

  Args:
    loss_fn: (params, perturbations, *args) -> (loss, aux); called with perturbations=None.
    epsilon: penalty weight ε.

  Returns:
    (params, *args) -> (penalised loss, aux + {"loss_unpenalised", "gradient_penalty"}).
  """
  def penalised(params, *args):
    (loss, aux), grads = jax.value_and_grad(
        lambda p: loss_fn(p, None, *args), has_aux=True)(params)
    penalty = 0.5 * epsilon * squared_norm(grads)
    return loss + penalty, {**aux, "loss_unpenalised": loss, "gradient_penalty": penalty}
  return penalised


def _get(tree, path: Sequence[str]):
  for key in path:
    if key not in tree:
      raise KeyError(f"embedding path {'/'.join(path)!r}: no key {key!r} among {sorted(tree)}")
    tree = tree[key]
  return tree


def _replace(tree, path: Sequence[str], value):
  if not path:
    return value
  return {**tree, path[0]: _replace(tree[path[0]], path[1:], value)}


def fgm(loss_fn: LossFn, embedding_path: Sequence[str], epsilon: float = 0.5) -> LossFn:
  r"""Fast Gradient Method on the token-embedding matrix, with bert4keras's semantics.

  g = ∂L/∂E over the *whole* matrix E (the leaf at `embedding_path` of params), one global norm:
  Δ = ε·g / (‖g‖_F + 1e-8); the returned loss is L(θ with E + Δ) — the adversarial loss only,
  no clean term — and Δ is a constant for autodiff, so the gradient is ∇L evaluated at E + Δ and
  applies to E. Rows of tokens absent from the batch get Δ = 0; a token occurring several times
  gets one shared perturbation. Costs two backward passes (the first only wrt E). Both passes
  see the same `*args` (in the trainer: the same dropout rng). ε = 0.5 gave bojone's IFLYTEK
  result (blog 7234; bert4keras `examples/task_iflytek_adversarial_training.py`).

  Args:
    loss_fn: (params, perturbations, *args) -> (loss, aux); called with perturbations=None.
    embedding_path: keys from the params root to the embedding matrix [V, D]; for
      `flaxnlp.models.bert.Bert` named "encoder" in a task model:
      ("encoder", "embeddings", "word_embeddings", "embedding").
    epsilon: perturbation norm ε.

  Returns:
    (params, *args) -> (adversarial loss, aux + {"loss_clean", "fgm_delta_norm"}).
  """
  path = tuple(embedding_path)

  def adversarial(params, *args):
    embedding = _get(params, path)
    clean, g = jax.value_and_grad(
        lambda e: loss_fn(_replace(params, path, e), None, *args)[0])(embedding)
    delta = jax.lax.stop_gradient(epsilon * g / (jnp.sqrt(squared_norm(g)) + 1e-8))
    loss, aux = loss_fn(_replace(params, path, embedding + delta), None, *args)
    return loss, {**aux, "loss_clean": jax.lax.stop_gradient(clean),
                  "fgm_delta_norm": jnp.sqrt(squared_norm(delta))}
  return adversarial


def make_regularized_loss(name: str, loss_fn: LossFn, epsilon: float, *,
                          embedding_path: Sequence[str] | None = None,
                          zero_perturbations: Callable[..., Any] | None = None) -> LossFn:
  """The regularizer named in a config, wrapped around `loss_fn`.

  Args:
    name: "none" | "fgm" | "input_gradient_penalty" | "param_gradient_penalty".
    loss_fn: (params, perturbations, *args) -> (loss, aux).
    epsilon: ε of the chosen regularizer (ignored by "none").
    embedding_path: fgm only, see `fgm`.
    zero_perturbations: input_gradient_penalty only, see `input_gradient_penalty`.

  Returns:
    (params, *args) -> (loss, aux); differentiate it wrt params for the training gradient.

  Raises:
    ValueError: for an unknown name (the message lists the valid ones) or a missing argument.
  """
  if name == "none":
    return lambda params, *args: loss_fn(params, None, *args)
  if name == "fgm":
    if embedding_path is None:
      raise ValueError("fgm needs embedding_path (keys to the token-embedding matrix)")
    return fgm(loss_fn, embedding_path, epsilon)
  if name == "input_gradient_penalty":
    if zero_perturbations is None:
      raise ValueError("input_gradient_penalty needs zero_perturbations (zeros per batch)")
    return input_gradient_penalty(loss_fn, epsilon, zero_perturbations=zero_perturbations)
  if name == "param_gradient_penalty":
    return param_gradient_penalty(loss_fn, epsilon)
  raise ValueError(f"unknown regularizer {name!r}; valid: {', '.join(REGULARIZERS)}")
