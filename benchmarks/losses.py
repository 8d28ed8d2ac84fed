"""Dense vs sparse-label ZLPR loss on GlobalPointer shapes: forward+backward time and XLA memory.

Baseline: `global_pointer_crossentropy(logits, dense_labels)` with float32 multi-hot labels
[B, H, N, N] (bojone's GlobalPointer NER scripts). Ours: the same loss with sparse labels [B, H, K]
(flattened i·N + j, GPLinker style, `sparse=True`). Both take the gradient with respect to GP
logits [B, H, N, N] that carry the GP mask (-inf below the diagonal and on padding).

Time: median wall time of `--repeats` calls of the jitted value_and_grad after one warm-up call.
Memory: XLA's compiled memory analysis of that jitted function (`compile().memory_analysis()`):
  args = input buffers (logits + labels), out = outputs (loss + d loss/d logits),
  temp = XLA scratch buffers live during the computation; total = args + out + temp, the device
  memory one call needs (an upper bound on its peak; runtime/allocator overhead not included).
The timings measure the loss alone; in a model the logits come from the GP head.

  .venv/bin/python benchmarks/losses.py           # N = 128, 256, 512, 1024
  .venv/bin/python benchmarks/losses.py --quick   # N = 128, 256
"""
import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from flaxnlp import losses

MB = 2**20


def make_inputs(key, b, h, n, k):
  """GP-masked logits, sparse labels [B, H, K] (0 = padding) and the equivalent dense labels."""
  k_logit, k_len, k_num, k_start, k_width = jax.random.split(key, 5)
  lengths = jax.random.randint(k_len, (b,), n // 2, n + 1)
  pos = jnp.arange(n)
  valid = ((pos[None, :, None] <= pos[None, None, :])
           & (pos[None, None, :] < lengths[:, None, None]))[:, None]
  logits = jnp.where(valid, 3.0 * jax.random.normal(k_logit, (b, h, n, n)), -jnp.inf)
  # Up to k spans per head, inside the sequence, start >= 1 (not [CLS]); unused slots are 0.
  num = jax.random.randint(k_num, (b, h, 1), 1, k + 1)
  start = jax.random.randint(k_start, (b, h, k), 1, lengths[:, None, None] - 8)
  end = start + jax.random.randint(k_width, (b, h, k), 0, 8)
  sparse = jnp.where(jnp.arange(k) < num, start * n + end, 0).astype(jnp.int32)
  dense = jnp.zeros((b, h, n * n), jnp.float32)
  dense = dense.at[jnp.arange(b)[:, None, None], jnp.arange(h)[None, :, None], sparse].set(1.0)
  dense = dense.at[:, :, 0].set(0.0).reshape(b, h, n, n)
  return logits, dense, sparse


def measure(fn, args, repeats):
  """(median seconds, memory dict in MB) of jit(value_and_grad(fn)) over args."""
  step = jax.jit(jax.value_and_grad(fn))
  compiled = step.lower(*args).compile()
  mem = compiled.memory_analysis()
  sizes = {
      "args": mem.argument_size_in_bytes / MB,
      "out": mem.output_size_in_bytes / MB,
      "temp": mem.temp_size_in_bytes / MB,
  }
  sizes["total"] = sizes["args"] + sizes["out"] + sizes["temp"]
  jax.block_until_ready(compiled(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - start)
  return statistics.median(times), sizes


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="N = 128, 256 only, 3 repeats")
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--heads", type=int, default=10)
  parser.add_argument("--positives", type=int, default=8, help="K label slots per head")
  parser.add_argument("--repeats", type=int, default=None)
  args = parser.parse_args()
  lengths = (128, 256) if args.quick else (128, 256, 512, 1024)
  repeats = args.repeats or (3 if args.quick else 5)
  b, h, k = args.batch, args.heads, args.positives

  def dense_loss(logits, labels):
    return losses.global_pointer_crossentropy(logits, labels)

  def sparse_loss(logits, labels):
    return losses.global_pointer_crossentropy(logits, labels, sparse=True)

  print(f"ZLPR GlobalPointer loss, forward+backward wrt logits; B={b} H={h} K={k}; "
        f"{jax.devices()[0].platform}; median of {repeats} after warm-up; memory from XLA "
        "memory_analysis (MB)")
  header = ("| N | dense ms | sparse ms | time sparse/dense | dense args/out/temp = total MB "
            "| sparse args/out/temp = total MB | memory sparse/dense |")
  print(header)
  print("|" + "---|" * 7)
  for n in lengths:
    logits, dense, sparse = make_inputs(jax.random.key(n), b, h, n, k)
    check_dense = float(dense_loss(logits, dense))
    check_sparse = float(sparse_loss(logits, sparse))
    t_dense, m_dense = measure(dense_loss, (logits, dense), repeats)
    t_sparse, m_sparse = measure(sparse_loss, (logits, sparse), repeats)
    fmt = lambda m: f"{m['args']:.0f}/{m['out']:.0f}/{m['temp']:.0f} = {m['total']:.0f}"
    print(f"| {n} | {t_dense * 1e3:.1f} | {t_sparse * 1e3:.1f} | {t_sparse / t_dense:.2f} "
          f"| {fmt(m_dense)} | {fmt(m_sparse)} | {m_sparse['total'] / m_dense['total']:.2f} |")
    # Same labels, so the two losses may differ only by the ([CLS], [CLS]) cell that the sparse
    # form (mask_zero) drops from the negatives.
    if abs(check_dense - check_sparse) > 1e-2 * max(1.0, abs(check_dense)):
      raise RuntimeError(f"dense {check_dense} and sparse {check_sparse} losses disagree at N={n}")
    del logits, dense, sparse


if __name__ == "__main__":
  main()
