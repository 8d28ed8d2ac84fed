"""Where the BERT-base train step's time goes: each part timed alone, against the matmul peak.

`train_throughput.py` gives the whole step against torch; this script splits the same step
(the `_bench_mlm` task: BERT masked-LM, float32, AdamW) into parts, each jitted and timed on its
own in the same process:

  matmul peak      a [2048, 2048] float32 matmul in JAX (the machine's ceiling, measured now)
  full step        the trainer's jitted, donated train step (what `train_throughput.py` times)
  forward          the loss alone, dropout on
  forward+backward `value_and_grad` of the loss, dropout on / off (the difference is dropout)
  dropout masks    only the masks the step draws (every dropout site): flaxnlp's 16-bit packed
                   draws (`flaxnlp.layers.dropout`) and, for comparison, `jax.random.bernoulli`
                   (what `flax.linen.Dropout` draws: one 32-bit word per element)
  attention core   softmax(q k^T) v for all layers, forward+backward, no projections
  MLM head + loss  dense + LN + tied [D, V] projection + cross-entropy, forward+backward
  optimizer        AdamW update + apply on BERT-base's parameters (memory-bound)

and prints each part's milliseconds, its share of the full step, and for matmul-heavy parts the
achieved GFLOP/s and fraction of the measured peak.

  python benchmarks/train_step_breakdown.py            # BERT-base, B8×S128 and B4×S512 (≈ 11 min)
  python benchmarks/train_step_breakdown.py --quick    # 4-layer 256-wide model, B8×S128

Measured on the project machine (quiet; matmul peak 161 GFLOP/s), ms and share of the full step:

  part                     B8×S128          B4×S512
  full step                6122  100%       15103  100%   (65% / 56% of peak)
  forward+backward         5488   90%       14394   95%
    of which dropout        277    5%        1210    8%   (vs the same without dropout)
  dropout masks alone       140    2%        1165    8%   (Bernoulli: 327 / 2371)
  attention core            417    7%        2694   18%   (22% / 27% of peak)
  MLM head + loss           836   14%        1688   11%   (77% / 76% of peak)
  optimizer (AdamW)         323    5%         285    2%

The matmul-dominated parts (the S128 forward, the MLM head) run at 76–83% of the peak; the gap to it is the attention core (the [B, H, N, N]
softmax and batched K = 64 matmuls, at about a quarter of the peak), dropout, and the optimizer's
memory-bound passes. Drawing masks with `jax.random.bernoulli` cost twice as much (S512: 2.4 s,
16% of the step) before `flaxnlp.layers.Dropout` packed two draws per random word.
"""
import argparse

import jax
import jax.numpy as jnp
import optax

from flaxnlp.layers import attention as attn_lib
from flaxnlp.layers import dropout as dropout_lib
from flaxnlp.models import bert

import train_throughput  # registers the "_bench_mlm" task  # pylint: disable=wrong-import-order


def timed(jitted, *args, reps: int) -> float:
  return train_throughput.time_steps(lambda: jax.block_until_ready(jitted(*args)), reps)


def dropout_mask_shapes(cfg: bert.BertConfig, batch, length):
  """Shapes of every dropout mask one BERT train step draws (embeddings, per layer 3 sites)."""
  hidden = (batch, length, cfg.hidden_size)
  probs = (batch, cfg.num_attention_heads, length, length)
  return [hidden] + [probs, hidden, hidden] * cfg.num_hidden_layers


def part_times(m, batch, length, reps) -> dict[str, float]:
  """Seconds of each part of the step (see the module docstring)."""
  cfg = bert.BertConfig.from_dict(m)
  out = {"full step": train_throughput.flaxnlp_step_time(m, batch, length, reps)}
  tr = train_throughput.make_trainer(m, batch, length)
  features = train_throughput.random_features(m, batch, length)
  task = tr.task
  params = tr._init(tr.rng).params  # pylint: disable=protected-access
  data = task.collate(features, length)
  rng = jax.random.key(0)

  def loss(p, deterministic):
    return task.loss(p, data, rng, deterministic=deterministic)[0]

  out["forward"] = timed(jax.jit(lambda p: loss(p, False)), params, reps=reps)
  out["forward+backward"] = timed(jax.jit(jax.value_and_grad(lambda p: loss(p, False))), params,
                                  reps=reps)
  out["forward+backward, no dropout"] = timed(
      jax.jit(jax.value_and_grad(lambda p: loss(p, True))), params, reps=reps)

  shapes = dropout_mask_shapes(cfg, batch, length)
  threshold = dropout_lib.keep_threshold(cfg.hidden_dropout_prob)

  def masks(key, draw):
    return [draw(k, s) for k, s in zip(jax.random.split(key, len(shapes)), shapes)]

  out["dropout masks"] = timed(jax.jit(lambda key: masks(
      key, lambda k, s: dropout_lib.uint16_draws(k, s) >= threshold)), rng, reps=reps)
  out["dropout masks, bernoulli"] = timed(jax.jit(lambda key: masks(
      key, lambda k, s: jax.random.bernoulli(k, 1 - cfg.hidden_dropout_prob, s))), rng, reps=reps)

  h, dh = cfg.num_attention_heads, cfg.head_dim
  qkv = jax.random.normal(rng, (3, cfg.num_hidden_layers, batch, length, h, dh), jnp.float32)
  mask = jnp.ones((batch, 1, length, length), bool)

  def attention_core(qkv):
    q, k, v = qkv
    outs = [attn_lib.dot_product_attention(q[i], k[i].transpose(0, 2, 1, 3),
                                           v[i].transpose(0, 2, 1, 3), mask)
            for i in range(cfg.num_hidden_layers)]
    return sum(jnp.sum(o) for o in outs)

  out["attention core"] = timed(jax.jit(jax.grad(attention_core)), qkv, reps=reps)

  model = bert.Bert(cfg, mlm_head=True)
  last = jax.random.normal(rng, (batch, length, cfg.hidden_size), jnp.float32)

  def head_loss(p, x):
    logits = model.apply({"params": p}, x, method=bert.Bert.mlm)
    return optax.softmax_cross_entropy_with_integer_labels(logits, data["token_ids"]).mean()

  out["MLM head + loss"] = timed(jax.jit(jax.grad(head_loss, argnums=(0, 1))), params, last,
                                 reps=reps)

  tx = optax.adamw(1e-4, eps=1e-6, weight_decay=0.01)
  grads = jax.tree.map(jnp.ones_like, params)

  def update(p, s):
    updates, s = tx.update(grads, s, p)
    return optax.apply_updates(p, updates), s

  update = jax.jit(update, donate_argnums=(0, 1))
  holder = {"p": jax.tree.map(jnp.copy, params), "s": tx.init(params)}

  def opt_step():
    holder["p"], holder["s"] = update(holder["p"], holder["s"])
    jax.block_until_ready(holder["p"])

  out["optimizer (AdamW)"] = train_throughput.time_steps(opt_step, reps)
  return out


def part_flops(m, batch, length) -> dict[str, float]:
  """Train FLOPs (forward + backward) of the matmul-heavy parts."""
  h, layers, v = m.hidden_size, m.num_hidden_layers, m.vocab_size
  tokens = batch * length
  attention = 12.0 * layers * tokens * length * h
  head = 6.0 * tokens * (h * h + h * v)
  step = train_throughput.train_flops(m, batch, length)
  return {"full step": step, "forward": step / 3, "forward+backward": step,
          "forward+backward, no dropout": step, "attention core": attention,
          "MLM head + loss": head}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="small model, one shape, few reps")
  args = parser.parse_args()
  m = train_throughput.model_config(args.quick)
  shapes = [(8, 128)] if args.quick else [(8, 128), (4, 512)]
  reps = 3
  peak = train_throughput.matmul_peak()
  print(f"jax {jax.__version__} on {jax.devices()[0].platform}; model: {m.num_hidden_layers} "
        f"layers, hidden {m.hidden_size}, vocab {m.vocab_size}; float32; median of {reps}")
  print(f"measured float32 matmul peak (2048³, JAX): {peak / 1e9:.0f} GFLOP/s")
  for batch, length in shapes:
    times = part_times(m, batch, length, reps)
    flops = part_flops(m, batch, length)
    full = times["full step"]
    print(f"\nB{batch}×S{length}: {batch * length / full:.0f} tok/s; the ideal step at the measured"
          f" peak takes {flops['full step'] / peak * 1e3:.0f} ms")
    print(f"{'part':>30} {'ms':>8} {'of step':>8} {'GFLOP/s':>8} {'of peak':>8}")
    for name, seconds in times.items():
      rate = f"{flops[name] / seconds / 1e9:8.0f} {flops[name] / seconds / peak:8.0%}" \
          if name in flops else f"{'':>8} {'':>8}"
      print(f"{name:>30} {seconds * 1e3:8.0f} {seconds / full:8.0%} {rate}")


if __name__ == "__main__":
  main()
