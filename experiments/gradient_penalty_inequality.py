"""Checks ‖∇_x f‖² Σ_t (1+‖h_t‖²)/(‖W_t‖²‖∇_x h_t‖²) ≤ ‖∇_θ f‖² (blog 8796) on real MLPs.

  .venv/bin/python experiments/gradient_penalty_inequality.py           # 47 s on a 2-core CPU
  .venv/bin/python experiments/gradient_penalty_inequality.py --quick   # 15 s

What it verifies (blog 8796 after Dherin et al. arXiv:2111.15090; the bound behind "penalising
parameter gradients implicitly penalises input gradients"):
  1. random MLPs (depth 1–4, width 64, activations tanh, relu, gelu, sigmoid, identity at every
     layer — the post's setting; LeCun-normal init) at a random input, f = a random linear
     read-out of the last layer;
  2. bag-of-words classifiers on GoEmotions (paths.shared_data_dir()/goemotions; 2,000-word
     vocabulary, 1 or 2 hidden layers of 64 with each activation, linear output layer, multi-label
     BCE on the 28 labels) before and after 400 AdaX steps (batch 256, lr 1e-2), f = the
     example's loss, on 32 dev examples: lhs/rhs of the example closest to violating the bound,
     and the median ratio.
Every ratio must be ≤ 1 (the script exits with status 1 otherwise). Part 2 is skipped with a
message when the data directory is absent. The core computation is
`flaxnlp.regularizers.inequality_sides` (spectral norms by jnp.linalg.norm(ord=2), Jacobians by
jax.jacfwd); tests/gradient_penalty_inequality_test.py checks it against numpy and its tight cases.

Expected: the bound holds on all 40 networks, with ratios 0.03–0.27 on random nets and 0.27–0.72
on the trained classifiers; the table and its reading: docs/techniques.md#gradient-penalties-and-fgm.
"""
import argparse
import collections
import re
import sys

import jax
import jax.numpy as jnp
import numpy as np

from flaxnlp import paths, regularizers
from flaxnlp.data.formats import goemotions
from flaxnlp.optim import adax

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu,
               "sigmoid": jax.nn.sigmoid, "identity": lambda z: z}


def init_mlp(key, sizes):
  """[(W [out, in] ~ N(0, 1/in), b = 0)] for consecutive `sizes`."""
  keys = jax.random.split(key, len(sizes) - 1)
  return [(jax.random.normal(k, (o, i)) / np.sqrt(i), jnp.zeros(o))
          for k, i, o in zip(keys, sizes[:-1], sizes[1:])]


def random_nets(quick: bool):
  """Rows (name, lhs, rhs, ratio) for random MLPs with a random linear read-out f."""
  rows = []
  depths = (1, 3) if quick else (1, 2, 3, 4)
  for act in ACTIVATIONS:
    for depth in depths:
      key = jax.random.key(depth)
      k1, k2, k3 = jax.random.split(key, 3)
      params = init_mlp(k1, [32] + [64] * depth)
      x = jax.random.normal(k2, (32,))
      u = jax.random.normal(k3, (64,))
      lhs, rhs = regularizers.inequality_sides(params, x, ACTIVATIONS[act], lambda h: u @ h)
      ratio = float(lhs) / float(rhs)
      rows.append((f"random {act:8s} depth {depth} width 64", float(lhs), float(rhs), ratio))
  return rows


def bag_of_words(texts, vocab):
  """Unit-norm word-count vectors over `vocab` (lower-cased alphabetic words)."""
  index = {w: i for i, w in enumerate(vocab)}
  x = np.zeros((len(texts), len(vocab)), np.float32)
  for row, text in enumerate(texts):
    for w in re.findall(r"[a-z']+", text.lower()):
      if w in index:
        x[row, index[w]] += 1
  return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1.0)


def load_goemotions(vocab_size: int):
  """(x_train, y_train, x_dev, y_dev) multi-hot bag-of-words arrays, or None without the data."""
  root = paths.shared_data_dir() / "goemotions"
  if not (root / "train.tsv").exists():
    return None
  num_labels = len(goemotions.read_label_names(root / "labels.txt"))
  train = goemotions.read_goemotions(root / "train.tsv", num_labels)
  dev = goemotions.read_goemotions(root / "dev.tsv", num_labels)
  counts = collections.Counter(w for ex in train for w in re.findall(r"[a-z']+", ex.text.lower()))
  vocab = [w for w, _ in counts.most_common(vocab_size)]

  def multi_hot(examples):
    y = np.zeros((len(examples), num_labels), np.float32)
    for i, ex in enumerate(examples):
      y[i, list(ex.labels)] = 1
    return y

  return (bag_of_words([e.text for e in train], vocab), multi_hot(train),
          bag_of_words([e.text for e in dev], vocab), multi_hot(dev))


def bce(logits, y):
  """Mean sigmoid binary cross-entropy over the labels."""
  return jnp.mean(jnp.logaddexp(0.0, logits) - y * logits)


def trained_nets(data, quick: bool):
  """Rows (name, lhs, rhs, median ratio) over 32 dev examples, before and after AdaX training.

  lhs and rhs are those of the example with the largest ratio (the one closest to violating).
  """
  x_tr, y_tr, x_dev, y_dev = data
  rows = []
  steps = 100 if quick else 400
  for act_name in ("tanh", "relu", "gelu") if quick else ACTIVATIONS:
    for hidden in (1,) if quick else (1, 2):
      acts = [ACTIVATIONS[act_name]] * hidden + [ACTIVATIONS["identity"]]  # linear read-out
      sizes = [x_tr.shape[1]] + [64] * hidden + [y_tr.shape[1]]
      params = init_mlp(jax.random.key(7), sizes)
      forward = lambda p, x, acts=acts: jax.vmap(
          lambda x_: regularizers.mlp_forward(p, x_, acts)[-1])(x)
      loss = lambda p, x, y, forward=forward: bce(forward(p, x), y)
      tx = adax(1e-2)
      state = tx.init(params)

      @jax.jit
      def step(params, state, x, y, loss=loss):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return jax.tree.map(jnp.add, params, updates), state, value

      @jax.jit
      def sides(params, acts=acts):
        return jax.vmap(lambda x, y: regularizers.inequality_sides(
            params, x, acts, lambda h: bce(h, y)))(x_dev[:32], y_dev[:32])

      rng = np.random.default_rng(0)
      for label in ("init", f"{steps} steps"):
        if label != "init":
          for _ in range(steps):
            idx = rng.integers(0, len(x_tr), 256)
            params, state, _ = step(params, state, x_tr[idx], y_tr[idx])
        lhs, rhs = (np.asarray(a, np.float64) for a in sides(params))
        ratios = lhs / rhs
        worst = int(np.argmax(ratios))
        dev_loss = float(loss(params, x_dev, y_dev))
        rows.append((f"GoEmotions {act_name:8s} hidden {hidden} {label:9s} dev BCE {dev_loss:.3f}",
                     lhs[worst], rhs[worst], float(np.median(ratios))))
  return rows


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true")
  args = parser.parse_args(argv)
  rows = random_nets(args.quick)
  data = load_goemotions(500 if args.quick else 2000)
  if data is None:
    print("GoEmotions data absent (paths.shared_data_dir()/goemotions): trained part skipped")
  else:
    rows += trained_nets(data, args.quick)
  print(f"{'network':62s} {'lhs':>11s} {'rhs':>11s} {'lhs/rhs':>8s} {'median':>8s}")
  for name, lhs, rhs, median in rows:
    print(f"{name:62s} {lhs:11.4e} {rhs:11.4e} {lhs / rhs:8.4f} {median:8.4f}")
  violated = [name for name, lhs, rhs, _ in rows if lhs > rhs * (1 + 1e-5)]
  if violated:
    print(f"inequality violated for: {violated}")
    sys.exit(1)
  print(f"inequality holds for all {len(rows)} networks")


if __name__ == "__main__":
  main()
