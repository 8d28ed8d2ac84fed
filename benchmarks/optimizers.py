"""AdaX vs Adam: time of one jitted optimizer update on a BERT-base-sized parameter tree.

  .venv/bin/python benchmarks/optimizers.py            # 12 layers, 102M params
                                                       # (Chinese BERT-base, vocab 21128)
  .venv/bin/python benchmarks/optimizers.py --quick    # 4 layers

Both updates are `jax.jit(update, donate_argnums=(0, 2))` over (params, grads, opt_state) →
(params, opt_state): the gradient transform plus `optax.apply_updates`, state donated so the
update runs in place. Prints the median of `--runs` timed calls after a warm-up (the two
optimizers' calls interleaved), the effective
memory bandwidth (7 float32 arrays of the tree's size read or written per update; the physical
anchor is ≈ 37 GB/s for a donated elementwise op on a 2-core CPU, docs/benchmarks.md), and the ratio
AdaX / Adam (target ≤ 1.1: AdaX does the same memory traffic as Adam — two moments — plus one
scalar expm1 per step). Never asserts timings.

Measured on the project machine (2 CPU cores, float32), full tree: ratio 0.995, 0.998 and 1.042
in three runs (102–149 ms per update, 20–28 GB/s effective for both); --quick (45.6M params):
ratio 0.99–1.05 (11 s and 7 s wall).
"""
import argparse
import math
import statistics
import time

import jax
import jax.numpy as jnp
import optax

from flaxnlp.optim import adax


def bert_base_shapes(num_layers: int, vocab: int = 21128, hidden: int = 768,
                     intermediate: int = 3072, max_len: int = 512) -> dict:
  """Parameter shapes of a BERT-base encoder with `num_layers` layers (plus the pooler)."""
  def dense(i, o):
    return {"kernel": (i, o), "bias": (o,)}

  def norm():
    return {"scale": (hidden,), "bias": (hidden,)}

  shapes = {"embeddings": {"word": (vocab, hidden), "position": (max_len, hidden),
                           "type": (2, hidden), "norm": norm()},
            "pooler": dense(hidden, hidden)}
  for i in range(num_layers):
    shapes[f"layer_{i}"] = {
        "query": dense(hidden, hidden), "key": dense(hidden, hidden),
        "value": dense(hidden, hidden), "attention_output": dense(hidden, hidden),
        "attention_norm": norm(), "intermediate": dense(hidden, intermediate),
        "output": dense(intermediate, hidden), "output_norm": norm()}
  return shapes


def make_runner(tx: optax.GradientTransformation, shapes: dict):
  """A compiled, warmed-up, state-donating update of `tx` on a tree of `shapes`.

  Returns a function that runs one update in place and returns its wall time in seconds.
  """
  is_shape = lambda x: isinstance(x, tuple)
  key = jax.random.key(0)
  params = jax.tree.map(lambda s: jnp.full(s, 0.02, jnp.float32), shapes, is_leaf=is_shape)
  grads = jax.tree.map(lambda s: jax.random.normal(key, s, jnp.float32) * 1e-3, shapes,
                       is_leaf=is_shape)
  state = tx.init(params)

  def step(params, grads, state):
    updates, state = tx.update(grads, state, params)
    return optax.apply_updates(params, updates), state

  step = jax.jit(step, donate_argnums=(0, 2))
  carry = list(step(params, grads, state))  # compile + warm-up
  jax.block_until_ready(carry)

  def run_once() -> float:
    start = time.perf_counter()
    carry[:] = step(carry[0], grads, carry[1])
    jax.block_until_ready(carry)
    return time.perf_counter() - start

  return run_once


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="4 layers instead of 12")
  parser.add_argument("--runs", type=int, default=10)
  args = parser.parse_args()
  shapes = bert_base_shapes(4 if args.quick else 12)
  n = sum(math.prod(s) for s in jax.tree.leaves(shapes, is_leaf=lambda x: isinstance(x, tuple)))
  print(f"device: {jax.devices()[0].device_kind}; params: {n / 1e6:.1f}M; runs: {args.runs}")
  runners = {"adam": make_runner(optax.adam(1e-3), shapes), "adax": make_runner(adax(1e-3), shapes)}
  times = {name: [] for name in runners}
  for _ in range(args.runs):  # interleaved, so drift in machine load hits both alike
    for name, run_once in runners.items():
      times[name].append(run_once())
  t_adam, t_adax = (statistics.median(times[name]) for name in ("adam", "adax"))
  # Memory traffic of either update: read params, grads, m, v; write params, m, v (float32).
  traffic = 7 * 4 * n
  for name, t in (("optax.adam", t_adam), ("flaxnlp adax", t_adax)):
    print(f"{name:13s} update: {t * 1e3:8.2f} ms (median), {traffic / t / 1e9:5.1f} GB/s effective")
  print(f"ratio adax/adam     : {t_adax / t_adam:.3f}  (target <= 1.1)")


if __name__ == "__main__":
  main()
