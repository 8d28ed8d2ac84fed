"""Linear-chain CRF and its Viterbi decoder (flaxnlp.layers.crf) vs brute force.

The reference enumerates, in numpy float64, all K^L tag paths over the L unmasked positions of a
row (K ≤ 4, N ≤ 5): log Z is the log-sum-exp of their scores, the NLL log Z − s(gold), the best
path the argmax among the paths that satisfy the constraints, the marginals P(y_t = k) the
normalised sums. Masks cover full rows, right padding, left padding, holes and fully masked rows.
A 2-step case is worked by hand.
"""
import itertools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp import decoding
from flaxnlp.decoding import bio
from flaxnlp.layers import crf

MASKS = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0],
         [0, 0, 1, 1, 1], [1, 0, 1, 1, 0]]


def _paths(positions, num_tags, allowed=None, start=None, end=None):
  """All tag paths over `positions` (dict position -> tag) that satisfy the constraints."""
  for tags in itertools.product(range(num_tags), repeat=len(positions)):
    if tags and start is not None and not start[tags[0]]:
      continue
    if tags and end is not None and not end[tags[-1]]:
      continue
    if allowed is not None and not all(allowed[a, b] for a, b in zip(tags, tags[1:])):
      continue
    yield dict(zip(positions, tags))


def _score(emissions, trans, path):
  tags = [path[t] for t in sorted(path)]
  return (sum(emissions[t, k] for t, k in path.items())
          + sum(trans[a, b] for a, b in zip(tags, tags[1:])))


def brute_force(emissions, trans, mask, allowed=None, start=None, end=None):
  """(log Z, best path int [N] with 0 at masked positions, marginals [N, K]) of one row."""
  emissions, trans = np.asarray(emissions, np.float64), np.asarray(trans, np.float64)
  num_tags = emissions.shape[-1]
  positions = [t for t in range(len(mask)) if mask[t]]
  paths = list(_paths(positions, num_tags))
  scores = np.array([_score(emissions, trans, p) for p in paths])
  log_z = 0.0 if not positions else np.logaddexp.reduce(scores)
  marginals = np.zeros_like(emissions)
  for p, s in zip(paths, scores):
    for t, k in p.items():
      marginals[t, k] += np.exp(s - log_z)
  allowed_paths = list(_paths(positions, num_tags, allowed, start, end))
  best_path = max(allowed_paths, key=lambda p: _score(emissions, trans, p))
  best = np.zeros(len(mask), np.int64)
  for t, k in best_path.items():
    best[t] = k
  return log_z, best, marginals


def random_case(seed, num_tags, length=5):
  rng = np.random.default_rng(seed)
  mask = np.array(MASKS, bool)[:, :length]
  emissions = rng.normal(size=(len(mask), length, num_tags)).astype(np.float32) * 2
  trans = rng.normal(size=(num_tags, num_tags)).astype(np.float32)
  tags = rng.integers(0, num_tags, size=mask.shape)
  return emissions, trans, mask, tags


@pytest.mark.parametrize("num_tags,seed", [(2, 0), (3, 1), (4, 2)])
def test_log_partition_and_nll_match_brute_force(num_tags, seed):
  emissions, trans, mask, tags = random_case(seed, num_tags)
  log_z = np.asarray(crf.crf_log_partition(emissions, trans, mask))
  score = np.asarray(crf.crf_path_score(emissions, trans, tags, mask))
  one_hot = np.eye(num_tags, dtype=np.float32)[tags]
  for b in range(len(mask)):
    ref_z, _, _ = brute_force(emissions[b], trans, mask[b])
    gold = {t: tags[b, t] for t in range(mask.shape[1]) if mask[b, t]}
    ref_score = _score(emissions[b].astype(np.float64), trans.astype(np.float64), gold)
    np.testing.assert_allclose(log_z[b], ref_z, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(score[b], ref_score, rtol=1e-5, atol=1e-5)
  # The layer: NLL from int tags and from one-hot tags, with the stored parameter = trans.
  layer = crf.ConditionalRandomField(num_tags)
  params = {"params": {"trans": jnp.asarray(trans)}}
  for labels in (tags, one_hot):
    nll = np.asarray(layer.apply(params, emissions, labels, mask, method="nll"))
    np.testing.assert_allclose(nll, log_z - score, rtol=1e-5, atol=1e-5)
    assert np.all(nll >= -1e-5)
  assert nll[3] == 0.0  # fully masked row


@pytest.mark.parametrize("num_tags,seed", [(2, 3), (3, 4), (4, 5)])
def test_viterbi_matches_brute_force(num_tags, seed):
  emissions, trans, mask, _ = random_case(seed, num_tags)
  paths = np.asarray(jax.jit(crf.viterbi)(emissions, trans, mask))
  assert paths.dtype == np.int32 and paths.shape == mask.shape
  for b in range(len(mask)):
    np.testing.assert_array_equal(paths[b], brute_force(emissions[b], trans, mask[b])[1])
  # The layer's decode method is the same decoder with the effective transitions.
  layer = crf.ConditionalRandomField(num_tags, lr_multiplier=4.0)
  decoded = layer.apply({"params": {"trans": jnp.asarray(trans) / 4}}, emissions, mask,
                        method="decode")
  np.testing.assert_array_equal(np.asarray(decoded), paths)


@pytest.mark.parametrize("num_tags,seed", [(3, 6), (4, 7), (4, 8)])
def test_constrained_viterbi_matches_brute_force(num_tags, seed):
  emissions, trans, mask, _ = random_case(seed, num_tags)
  rng = np.random.default_rng(seed)
  allowed = rng.random((num_tags, num_tags)) < 0.6
  np.fill_diagonal(allowed, True)       # every constant path is allowed ...
  start = rng.random(num_tags) < 0.6
  end = rng.random(num_tags) < 0.6
  start[0] = end[0] = True              # ... and the all-0 one satisfies start and end
  assert not (allowed.all() and start.all() and end.all())
  constrained = np.asarray(crf.viterbi(emissions, trans, mask, allowed, start, end))
  free = np.asarray(crf.viterbi(emissions, trans, mask))
  for b in range(len(mask)):
    np.testing.assert_array_equal(
        constrained[b], brute_force(emissions[b], trans, mask[b], allowed, start, end)[1])
  assert (constrained != free).any()    # the constraints changed some path


def test_hand_worked_two_steps():
  # K = 2, N = 2: E = [[1, 0], [0, 2]], T = [[0.5, -1], [0.2, 0.3]]. Path scores:
  # (0,0) = 1 + 0 + 0.5 = 1.5; (0,1) = 1 + 2 − 1 = 2; (1,0) = 0 + 0 + 0.2 = 0.2;
  # (1,1) = 0 + 2 + 0.3 = 2.3 (the best).
  emissions = np.array([[[1.0, 0.0], [0.0, 2.0]]], np.float32)
  trans = np.array([[0.5, -1.0], [0.2, 0.3]], np.float32)
  mask = np.ones((1, 2), bool)
  log_z = np.log(np.exp(1.5) + np.exp(2.0) + np.exp(0.2) + np.exp(2.3))
  layer = crf.ConditionalRandomField(2)
  params = {"params": {"trans": jnp.asarray(trans)}}
  nll = layer.apply(params, emissions, np.array([[0, 1]]), mask, method="nll")
  np.testing.assert_allclose(np.asarray(nll), [log_z - 2.0], rtol=1e-6)
  assert layer.apply(params, emissions, mask, method="decode").tolist() == [[1, 1]]
  # Constraint 1 → 1 forbidden: the best allowed path is (0,1) = 2.
  allowed = np.array([[True, True], [True, False]])
  assert crf.viterbi(emissions, trans, mask, allowed).tolist() == [[0, 1]]
  # One masked step (right padding): Z = e^1 + e^0, best tag 0.
  short = np.array([[True, False]])
  np.testing.assert_allclose(np.asarray(crf.crf_log_partition(emissions, trans, short)),
                             [np.log(np.e + 1.0)], rtol=1e-6)
  assert layer.apply(params, emissions, short, method="decode").tolist() == [[0, 0]]


def test_gradients_are_finite_and_give_the_marginals():
  num_tags = 3
  emissions, trans, mask, tags = random_case(9, num_tags)
  layer = crf.ConditionalRandomField(num_tags)
  params = layer.init(jax.random.key(0), emissions, tags, mask)

  def loss(p, e):
    return layer.apply(p, e, tags, mask).sum()

  grad_params, grad_emissions = jax.grad(loss, argnums=(0, 1))(params, jnp.asarray(emissions))
  assert np.isfinite(np.asarray(grad_params["params"]["trans"])).all()
  grad_emissions = np.asarray(grad_emissions)
  assert np.isfinite(grad_emissions).all()
  # Masked positions (incl. the fully masked row) get no gradient.
  assert (grad_emissions[~mask] == 0).all()
  # ∂ log Z / ∂E[t, k] = P(y_t = k): the brute-force marginals.
  trans_value = np.asarray(params["params"]["trans"])
  marginals = np.asarray(jax.grad(lambda e: crf.crf_log_partition(e, trans_value, mask).sum())(
      jnp.asarray(emissions)))
  for b in range(len(mask)):
    np.testing.assert_allclose(marginals[b], brute_force(emissions[b], trans_value, mask[b])[2],
                               atol=1e-5)


def test_extreme_scores_stay_finite():
  # E[t] = (1e4, −1e4, 0) and T[·, j] = (−1e4, 1e4, 0)[j]: E + T = 0 for every tag after the
  # first, so the 9 paths starting with tag 0 score 1e4 and dominate Z; gold (1, 1, 1) scores −1e4.
  emissions = np.array([[[1e4, -1e4, 0.0]] * 4], np.float32)
  trans = np.array([[-1e4, 1e4, 0.0]] * 3, np.float32)
  mask = np.array([[True, True, True, False]])
  nll, grad = jax.value_and_grad(
      lambda e: crf.crf_log_partition(e, trans, mask).sum()
      - crf.crf_path_score(e, trans, np.ones((1, 4), int), mask).sum())(jnp.asarray(emissions))
  np.testing.assert_allclose(float(nll), 2e4 + np.log(9), rtol=1e-6)
  assert np.isfinite(np.asarray(grad)).all()


def test_lr_multiplier_semantics():
  num_tags, m = 4, 25.0
  emissions, _, mask, tags = random_case(10, num_tags)
  plain = crf.ConditionalRandomField(num_tags)
  scaled = crf.ConditionalRandomField(num_tags, lr_multiplier=m)
  key = jax.random.key(3)
  p_plain = plain.init(key, emissions, tags, mask)
  p_scaled = scaled.init(key, emissions, tags, mask)
  effective = np.asarray(p_plain["params"]["trans"])
  # Stored θ = T / m with T the same Glorot-uniform draw; the layer uses T = m·θ.
  np.testing.assert_allclose(np.asarray(p_scaled["params"]["trans"]), effective / m, rtol=1e-6)
  np.testing.assert_allclose(np.asarray(scaled.apply(p_scaled, method="transitions")), effective,
                             rtol=1e-6)
  bound = np.sqrt(6 / (2 * num_tags))
  assert np.abs(effective).max() <= bound and np.abs(effective).max() > bound / 4
  np.testing.assert_allclose(np.asarray(scaled.apply(p_scaled, emissions, tags, mask)),
                             np.asarray(plain.apply(p_plain, emissions, tags, mask)), rtol=1e-5)

  # ∂L/∂θ = m · ∂L/∂T, with ∂L/∂T from the functional NLL.
  def nll_of_trans(t):
    return (crf.crf_log_partition(emissions, t, mask)
            - crf.crf_path_score(emissions, t, tags, mask)).sum()

  grad_t = np.asarray(jax.grad(nll_of_trans)(jnp.asarray(effective)))
  grad_theta = np.asarray(jax.grad(lambda p: scaled.apply(p, emissions, tags, mask).sum())(
      p_scaled)["params"]["trans"])
  np.testing.assert_allclose(grad_theta, m * grad_t, rtol=1e-4, atol=1e-6)
  # One SGD step of size η moves T by m²·η·∂L/∂T (by m·η·sign under Adam-like updates).
  eta = 1e-3
  stepped = jax.tree.map(lambda p, g: p - eta * g, p_scaled, {"params": {"trans": grad_theta}})
  np.testing.assert_allclose(np.asarray(scaled.apply(stepped, method="transitions")),
                             effective - m * m * eta * grad_t, rtol=1e-4, atol=1e-6)
  assert not isinstance(p_scaled["params"]["trans"], nn.LogicallyPartitioned)


def test_bio_allowed_transitions():
  tags = ["B-PER", "O", "I-LOC", "I-PER", "B-LOC"]
  allowed, start, end = bio.bio_allowed_transitions(tags)
  for (i, a), (j, b) in itertools.product(enumerate(tags), repeat=2):
    # Reference rule: b = I-x requires a ∈ {B-x, I-x}.
    ok = not b.startswith("I-") or (a != "O" and a[2:] == b[2:])
    assert allowed[i, j] == ok, (a, b)
  assert start.tolist() == [True, True, False, False, True] and end.all()
  with pytest.raises(ValueError, match="E-PER"):
    bio.bio_allowed_transitions(["O", "E-PER"])


def test_bio_constraints_repair_an_invalid_unconstrained_path():
  tags = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
  allowed, start, end = bio.bio_allowed_transitions(tags)
  # Emissions favour I-LOC at the first position and I-PER right after B-LOC.
  emissions = np.full((1, 3, 5), -1.0, np.float32)
  emissions[0, 0, 2] = 3.0
  emissions[0, 0, 1] = 2.0
  emissions[0, 1, 4] = 3.0
  emissions[0, 1, 2] = 2.5
  emissions[0, 2, 0] = 1.0
  trans = np.zeros((5, 5), np.float32)
  mask = np.ones((1, 3), bool)
  assert crf.viterbi(emissions, trans, mask).tolist() == [[2, 4, 0]]
  path = crf.viterbi(emissions, trans, mask, allowed, start, end).tolist()
  assert path == [[1, 2, 0]]  # B-LOC I-LOC O: the best valid BIO path (2 + 2.5 + 1)


def test_the_decoding_package_exports_the_viterbi_function():
  from flaxnlp.decoding import viterbi  # pylint: disable=import-outside-toplevel
  assert viterbi is crf.viterbi is decoding.viterbi and callable(viterbi)
