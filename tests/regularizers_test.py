"""Gradient penalties and FGM against analytic numpy gradients of a hand-built model."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp import regularizers

B, N, V, D, C = 3, 4, 7, 5, 3
PATH = ("embed", "table")


def make_problem(seed=0):
  rng = np.random.default_rng(seed)
  params = {"embed": {"table": rng.normal(size=(V, D))},
            "out": {"w": rng.normal(size=(D, C)), "b": rng.normal(size=C) * 0.1}}
  ids = rng.integers(0, V, size=(B, N))
  ids[0, :2] = 3  # a repeated token: its embedding gradients add up
  labels = rng.integers(0, C, size=B)
  return params, ids, labels


def loss_fn(params, perturbations, ids, labels):
  """Embedding lookup (+ perturbation) → mean pool → linear → softmax CE, batch mean."""
  x = params["embed"]["table"][ids]
  if perturbations is not None:
    x = x + perturbations["x"]
  logits = x.mean(1) @ params["out"]["w"] + params["out"]["b"]
  logp = jax.nn.log_softmax(logits)
  return -jnp.take_along_axis(logp, labels[:, None], 1).mean(), {"n": jnp.asarray(ids.shape[0])}


def zeros_like_x(ids, labels):
  del labels
  return {"x": jnp.zeros(ids.shape + (D,))}


# ---- Independent numpy reference: loss and analytic gradients ---------------------------------
def np_forward(params, ids, labels):
  x = params["embed"]["table"][ids]
  pooled = x.mean(1)
  logits = pooled @ params["out"]["w"] + params["out"]["b"]
  logits = logits - logits.max(1, keepdims=True)
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  loss = -np.log(p[np.arange(B), labels]).mean()
  dlogits = (p - np.eye(C)[labels]) / B                 # ∂L/∂logits
  dpooled = dlogits @ params["out"]["w"].T
  dx = np.repeat(dpooled[:, None, :] / N, N, axis=1)    # ∂L/∂x, [B, N, D]
  dtable = np.zeros_like(params["embed"]["table"])
  np.add.at(dtable, ids, dx)
  grads = {"embed": {"table": dtable}, "out": {"w": pooled.T @ dlogits, "b": dlogits.sum(0)}}
  return loss, dx, grads


def np_sq(tree):
  return sum(float(np.sum(np.square(v))) for v in jax.tree.leaves(tree))


def np_replace(params, e):
  return {"embed": {"table": e}, "out": params["out"]}


def test_numpy_reference_gradient_matches_finite_differences():
  params, ids, labels = make_problem()
  _, _, grads = np_forward(params, ids, labels)
  h = 1e-6
  for (path, g) in jax.tree_util.tree_flatten_with_path(grads)[0]:
    leaf = params[path[0].key][path[1].key]
    idx = tuple(np.unravel_index(np.argmax(np.abs(g)), g.shape))
    leaf[idx] += h
    up = np_forward(params, ids, labels)[0]
    leaf[idx] -= 2 * h
    down = np_forward(params, ids, labels)[0]
    leaf[idx] += h
    np.testing.assert_allclose((up - down) / (2 * h), g[idx], rtol=1e-6)


def test_input_gradient_penalty_matches_analytic():
  params, ids, labels = make_problem()
  loss, dx, _ = np_forward(params, ids, labels)
  f = regularizers.input_gradient_penalty(loss_fn, 0.7, zero_perturbations=zeros_like_x)
  with jax.enable_x64(True):
    got, aux = f(params, ids, labels)
  np.testing.assert_allclose(float(got), loss + 0.5 * 0.7 * np.sum(dx ** 2), rtol=1e-12)
  np.testing.assert_allclose(float(aux["loss_unpenalised"]), loss, rtol=1e-12)
  assert int(aux["n"]) == B  # the base aux is kept


def test_param_gradient_penalty_matches_analytic():
  params, ids, labels = make_problem(1)
  loss, _, grads = np_forward(params, ids, labels)
  with jax.enable_x64(True):
    got, _ = regularizers.param_gradient_penalty(loss_fn, 0.3)(params, ids, labels)
  np.testing.assert_allclose(float(got), loss + 0.5 * 0.3 * np_sq(grads), rtol=1e-12)


@pytest.mark.parametrize("name", ["input_gradient_penalty", "param_gradient_penalty"])
def test_penalty_gradient_matches_finite_differences(name):
  """Double backprop: ∂/∂θ of the penalised loss equals central differences of its numpy value."""
  params, ids, labels = make_problem(2)
  eps = 0.9
  kw = {"zero_perturbations": zeros_like_x} if name == "input_gradient_penalty" else {}
  f = regularizers.make_regularized_loss(name, loss_fn, eps, **kw)

  def np_value(p):
    loss, dx, grads = np_forward(p, ids, labels)
    return loss + 0.5 * eps * (np.sum(dx ** 2) if name == "input_gradient_penalty"
                               else np_sq(grads))

  with jax.enable_x64(True):
    grads = jax.grad(lambda p: f(p, ids, labels)[0])(params)
  w = params["out"]["w"]
  h = 1e-6
  for idx in [(0, 0), (2, 1), (4, 2)]:
    w[idx] += h
    up = np_value(params)
    w[idx] -= 2 * h
    down = np_value(params)
    w[idx] += h
    np.testing.assert_allclose(float(grads["out"]["w"][idx]), (up - down) / (2 * h), rtol=1e-5)


def test_fgm_perturbs_whole_matrix_with_one_norm_and_uses_adversarial_loss_only():
  params, ids, labels = make_problem(3)
  eps = 0.5
  _, _, grads = np_forward(params, ids, labels)
  g = grads["embed"]["table"]
  delta = eps * g / (np.sqrt(np.sum(g ** 2)) + 1e-8)
  adv = np_replace(params, params["embed"]["table"] + delta)
  want_loss, _, want_grads = np_forward(adv, ids, labels)

  f = regularizers.make_regularized_loss("fgm", loss_fn, eps, embedding_path=PATH)
  with jax.enable_x64(True):
    (loss, aux), got = jax.value_and_grad(f, has_aux=True)(params, ids, labels)
  np.testing.assert_allclose(float(loss), want_loss, rtol=1e-12)
  np.testing.assert_allclose(float(aux["loss_clean"]), np_forward(params, ids, labels)[0],
                             rtol=1e-12)
  np.testing.assert_allclose(float(aux["fgm_delta_norm"]), np.linalg.norm(delta), rtol=1e-12)
  # The gradient is that of L at E + Δ (Δ held constant), for E and for the other parameters.
  for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want_grads)):
    np.testing.assert_allclose(np.asarray(a), b, rtol=1e-10, atol=1e-14)
  assert np.isclose(np.linalg.norm(delta), eps)
  # Rows of tokens absent from the batch get no perturbation.
  unused = sorted(set(range(V)) - set(ids.ravel().tolist()))
  assert unused and np.all(delta[unused] == 0)


def test_fgm_small_epsilon_equals_norm_penalty_gradient():
  """Blog 7234: for small ε, ∇_θ L(E + Δ) ≈ ∇_θ [L + ε‖∇_E L‖] (error O(ε²))."""
  params, ids, labels = make_problem(4)
  eps = 1e-4
  with jax.enable_x64(True):
    fgm = jax.grad(lambda p: regularizers.fgm(loss_fn, PATH, eps)(p, ids, labels)[0])(params)
    clean = jax.grad(lambda p: loss_fn(p, None, ids, labels)[0])(params)
    norm_grad = jax.grad(lambda p: jnp.linalg.norm(jax.grad(
        lambda e: loss_fn({"embed": {"table": e}, "out": p["out"]}, None, ids, labels)[0])(
            p["embed"]["table"])))(params)
  for a, c, n in zip(jax.tree.leaves(fgm), jax.tree.leaves(clean), jax.tree.leaves(norm_grad)):
    np.testing.assert_allclose(np.asarray(a) - np.asarray(c), eps * np.asarray(n),
                               rtol=1e-3, atol=1e-9)


class PerturbedModel(nn.Module):
  """nn.Embed → perturb("token_embeddings") → mean pool → Dense: the BERT hook in miniature."""

  @nn.compact
  def __call__(self, ids):
    x = self.perturb("token_embeddings", nn.Embed(V, D, name="embed")(ids))
    return nn.Dense(C, name="out")(x.mean(1))


def test_input_penalty_through_flax_perturb_collection():
  """With a Linen model, the penalty equals ½ε‖∂L/∂x‖² of the same network written in jnp."""
  model = PerturbedModel()
  _, ids, labels = make_problem(5)
  variables = model.init(jax.random.key(0), ids)
  params = variables["params"]

  def flax_loss(params, perturbations, ids, labels):
    variables = {"params": params}
    if perturbations is not None:
      variables["perturbations"] = perturbations
    logp = jax.nn.log_softmax(model.apply(variables, ids))
    return -jnp.take_along_axis(logp, labels[:, None], 1).mean(), {}

  def zeros(ids, labels):
    del labels
    return jax.eval_shape(model.init, jax.random.key(0), ids)["perturbations"]

  def like(ids, labels):
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), zeros(ids, labels))

  got, aux = regularizers.input_gradient_penalty(flax_loss, 2.0, zero_perturbations=like)(
      params, ids, labels)
  as_np = {"embed": {"table": np.asarray(params["embed"]["embedding"], np.float64)},
           "out": {"w": np.asarray(params["out"]["kernel"], np.float64),
                   "b": np.asarray(params["out"]["bias"], np.float64)}}
  loss, dx, _ = np_forward(as_np, ids, labels)
  np.testing.assert_allclose(float(aux["gradient_penalty"]), np.sum(dx ** 2), rtol=1e-5)
  assert set(like(ids, labels)) == {"token_embeddings"}
  np.testing.assert_allclose(float(got), loss + np.sum(dx ** 2), rtol=1e-5)


def test_factory_names_and_errors():
  params, ids, labels = make_problem()
  loss, _ = regularizers.make_regularized_loss("none", loss_fn, 1.0)(params, ids, labels)
  np.testing.assert_allclose(float(loss), np_forward(params, ids, labels)[0], rtol=1e-6)
  with pytest.raises(ValueError, match="none, fgm, input_gradient_penalty"):
    regularizers.make_regularized_loss("vat", loss_fn, 1.0)
  with pytest.raises(ValueError, match="zero_perturbations"):
    regularizers.make_regularized_loss("input_gradient_penalty", loss_fn, 1.0)
  with pytest.raises(ValueError, match="embedding_path"):
    regularizers.make_regularized_loss("fgm", loss_fn, 1.0)
  with pytest.raises(KeyError, match="tokens"):
    regularizers.fgm(loss_fn, ("embed", "tokens"))(params, ids, labels)


def _tiny_bert_problem():
  """The GoEmotions task model (BERT "encoder" + "classifier") at a tiny size, float64."""
  from flaxnlp.models import bert  # pylint: disable=import-outside-toplevel
  from flaxnlp.tasks import classification  # pylint: disable=import-outside-toplevel
  cfg = bert.BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=8, initializer_range=0.5,
                        dtype="float64")
  model = classification.BertMultiLabel(cfg, num_labels=3)
  ids = jnp.asarray(np.random.default_rng(6).permutation(np.arange(1, 40))[:12].reshape(2, 6))
  labels = jnp.array([0, 2])
  variables = jax.jit(model.init)(jax.random.key(0), ids)
  params = jax.tree.map(lambda x: x.astype(jnp.float64), nn.unbox(variables["params"]))
  path = classification.ClassificationTask.embedding_path

  def loss(params, perturbations, ids, labels):
    v = {"params": params}
    if perturbations is not None:
      v["perturbations"] = perturbations
    logp = jax.nn.log_softmax(model.apply(v, ids))
    return -jnp.take_along_axis(logp, labels[:, None], 1).mean(), {}

  def zeros(ids, labels):
    del labels
    shapes = jax.eval_shape(model.init, jax.random.key(0), ids)["perturbations"]
    return jax.tree.map(lambda s: jnp.zeros(s.shape, jnp.float64), shapes)

  return params, ids, labels, path, loss, zeros


def test_bert_input_penalty_equals_embedding_matrix_gradient_for_distinct_tokens():
  """BERT's perturb("token_embeddings") hook: with every token id distinct in the batch, each
  row of ∂L/∂E is one occurrence's gradient, so ½ε‖∂L/∂x‖² = ½ε‖∂L/∂E‖_F² (plain param grad)."""
  with jax.enable_x64(True):
    params, ids, labels, path, loss, zeros = _tiny_bert_problem()
    assert len(set(np.asarray(ids).ravel().tolist())) == ids.size
    got, aux = jax.jit(regularizers.make_regularized_loss(
        "input_gradient_penalty", loss, 0.8, zero_perturbations=zeros))(params, ids, labels)
    grad_e = jax.jit(jax.grad(lambda p: loss(p, None, ids, labels)[0]))(params)
    grad_e = grad_e["encoder"]["embeddings"]["word_embeddings"]["embedding"]
    assert path == ("encoder", "embeddings", "word_embeddings", "embedding")
    want = 0.5 * 0.8 * np.sum(np.asarray(grad_e) ** 2)
    assert want > 0
    np.testing.assert_allclose(float(aux["gradient_penalty"]), want, rtol=1e-10)
    np.testing.assert_allclose(float(got), float(loss(params, None, ids, labels)[0]) + want,
                               rtol=1e-10)


def test_bert_fgm_on_default_embedding_path():
  """A BERT task's embedding_path is BERT's [V, D] word-embedding matrix; FGM's loss and
  gradient are those of the plain loss at E + Δ, Δ = ε g/(‖g‖ + 1e-8) computed in numpy."""
  with jax.enable_x64(True):
    params, ids, labels, path, loss, _ = _tiny_bert_problem()
    e = np.asarray(params["encoder"]["embeddings"]["word_embeddings"]["embedding"])
    assert path == ("encoder", "embeddings", "word_embeddings", "embedding") and e.shape == (40, 8)
    plain = lambda p: loss(p, None, ids, labels)[0]
    g = jax.jit(jax.grad(plain))(params)
    g = np.asarray(g["encoder"]["embeddings"]["word_embeddings"]["embedding"])
    delta = 0.5 * g / (np.sqrt(np.sum(g ** 2)) + 1e-8)
    adv = jax.tree.map(lambda x: x, params)
    adv["encoder"]["embeddings"]["word_embeddings"]["embedding"] = jnp.asarray(e + delta)
    f = regularizers.make_regularized_loss("fgm", loss, 0.5, embedding_path=path)
    (got, _), grads = jax.jit(jax.value_and_grad(f, has_aux=True))(params, ids, labels)
    np.testing.assert_allclose(float(got), float(plain(adv)), rtol=1e-12)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(jax.jit(jax.grad(plain))(adv))):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-14)
