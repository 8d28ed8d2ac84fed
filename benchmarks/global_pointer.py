"""GlobalPointer head + ZLPR loss, forward + backward: dense logits vs the blockwise loss.

Three ways to get the loss and its gradients (wrt the head's parameters and its inputs):
  dense      `global_pointer_crossentropy(logits, dense labels)` on [B, H, N, N] logits;
  sparse     the same logits with sparse labels (`sparse=True`, GPLinker's loss);
  blockwise  `global_pointer_blockwise_loss` from the head's `project` factors (no N² tensor).
For each length N the script prints the median step time and XLA's peak-memory estimate of the
compiled step (arguments + outputs + temporaries − aliased), and the blockwise/dense ratios.

  .venv/bin/python benchmarks/global_pointer.py            # N = 256 … 4096
  .venv/bin/python benchmarks/global_pointer.py --quick    # N = 256, 512, 1024
"""
import argparse
import statistics
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flaxnlp.decoding.global_pointer import spans_to_dense_labels, spans_to_sparse_labels
from flaxnlp.layers.global_pointer import EfficientGlobalPointer, GlobalPointer
from flaxnlp.losses import global_pointer_blockwise_loss, global_pointer_crossentropy


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--quick", action="store_true", help="lengths 256, 512, 1024 only")
  p.add_argument("--lengths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
  p.add_argument("--batch", type=int, default=1)
  p.add_argument("--heads", type=int, default=9)
  p.add_argument("--head-size", type=int, default=64)
  p.add_argument("--hidden", type=int, default=768)
  p.add_argument("--head", choices=["gp", "egp"], default="gp")
  p.add_argument("--block-size", type=int, default=128)
  p.add_argument("--spans", type=int, default=8, help="labelled spans per example and head")
  p.add_argument("--reps", type=int, default=5, help="timed runs per method (median reported)")
  args = p.parse_args()
  if args.quick:
    args.lengths = [256, 512, 1024]
  return args


def make_batch(args, n, rng):
  """Inputs [B, N, D], mask (last eighth padded), dense and sparse labels of random spans."""
  h = jnp.asarray(rng.normal(size=(args.batch, n, args.hidden)), jnp.float32)
  length = n - n // 8
  mask = jnp.asarray(np.arange(n)[None, :] < length).repeat(args.batch, 0)
  dense, sparse = [], []
  for _ in range(args.batch):
    per_head = []
    for _ in range(args.heads):
      starts = rng.integers(1, length - 1, args.spans)
      per_head.append([(int(i), int(min(i + rng.integers(0, 8), length - 2))) for i in starts])
    dense.append(spans_to_dense_labels([(a, i, j) for a, s in enumerate(per_head) for i, j in s],
                                       args.heads, n, dtype=bool))
    sparse.append(spans_to_sparse_labels(per_head, n, args.spans))
  return h, mask, jnp.asarray(np.stack(dense)), jnp.asarray(np.stack(sparse))


def make_steps(module, mask, block_size):
  """jit-able (params, h, labels) -> (loss, grads wrt params and h) for the three methods."""
  def dense(params, h, labels):
    return global_pointer_crossentropy(module.apply(params, h, mask), labels)

  def sparse(params, h, labels):
    return global_pointer_crossentropy(module.apply(params, h, mask), labels, sparse=True)

  def blockwise(params, h, labels):
    factors = module.apply(params, h, method="project")
    return global_pointer_blockwise_loss(factors, mask, labels, tril_mask=module.tril_mask,
                                         block_size=block_size)

  return {name: jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
          for name, f in (("dense", dense), ("sparse", sparse), ("blockwise", blockwise))}


def peak_bytes(step, *args):
  """XLA's estimate of the compiled step's peak: arguments + outputs + temporaries − aliased."""
  m = step.lower(*args).compile().memory_analysis()
  return (m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
          - m.alias_size_in_bytes)


def median_ms(step, reps, *args):
  jax.block_until_ready(step(*args))  # compile + warm up
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    jax.block_until_ready(step(*args))
    times.append(time.perf_counter() - start)
  return 1e3 * statistics.median(times)


def main():
  args = parse_args()
  cls = GlobalPointer if args.head == "gp" else EfficientGlobalPointer
  module = cls(args.heads, args.head_size)
  rng = np.random.default_rng(0)
  print(f"{args.head.upper()} head, B={args.batch} H={args.heads} d={args.head_size} "
        f"D={args.hidden} block={args.block_size}, forward+backward; device {jax.devices()[0]}")
  print(f"{'N':>5} | {'dense ms':>9} {'MB':>7} | {'sparse ms':>9} {'MB':>7} | "
        f"{'blockwise ms':>12} {'MB':>7} | {'mem vs dense':>12} {'vs sparse':>9} | "
        f"{'time vs dense':>13}")
  for n in args.lengths:
    h, mask, dense_labels, sparse_labels = make_batch(args, n, rng)
    params = nn.unbox(module.init(jax.random.PRNGKey(0), h[:, :8], mask[:, :8]))
    steps = make_steps(module, mask, args.block_size)
    labels = dict(dense=dense_labels, sparse=sparse_labels, blockwise=sparse_labels)
    ms, mb = {}, {}
    losses = {}
    for name, step in steps.items():
      mb[name] = peak_bytes(step, params, h, labels[name]) / 2**20
      ms[name] = median_ms(step, args.reps, params, h, labels[name])
      losses[name] = float(step(params, h, labels[name])[0])
    print(f"{n:>5} | {ms['dense']:>9.1f} {mb['dense']:>7.1f} | {ms['sparse']:>9.1f} "
          f"{mb['sparse']:>7.1f} | {ms['blockwise']:>12.1f} {mb['blockwise']:>7.1f} | "
          f"{mb['blockwise'] / mb['dense']:>11.1%} {mb['blockwise'] / mb['sparse']:>9.1%} | "
          f"{ms['blockwise'] / ms['dense']:>12.2f}x   (loss dense {losses['dense']:.5f}, "
          f"blockwise {losses['blockwise']:.5f})")


if __name__ == "__main__":
  main()
