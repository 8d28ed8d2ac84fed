"""Where the zh-small pretraining step's time goes: each part timed alone, against the matmul peak.

The step is the one `experiments/pretrain_zh_small.py` runs (`train_throughput.py --pretraining`
times it whole): the `pretraining` task's RoFormer (4 layers, hidden 256, 4 heads, FFN 1024,
vocabulary 21,128), batch 32 × 128, MLM (80% of the rows) + UniLM (20%) under the UniLM mask,
MLM logits at the gathered [B, P = 21] target positions, dropout 0.1, AdamW + clipping, float32.
Its rows are random token records featurized by the task (the step's cost depends only on the
shapes, which equal the real records'), so no built corpus is needed. Each part is jitted and
timed on its own in the same process:

  matmul peak       a [2048, 2048] float32 matmul in JAX (the machine's ceiling, measured now)
  full step         the trainer's jitted, donated train step, host padding included
  host batch        collate + transfer of the batch alone
  forward           the task's loss, dropout on
  forward+backward  `value_and_grad` of the loss, dropout on / off (the difference is dropout)
  dropout masks     only the masks the step draws (every dropout site, 16-bit draws of
                    `flaxnlp.layers.dropout`), from threefry keys (JAX's default) and from rbg
                    keys (`jax.random.key(.., impl="rbg")`, XLA's RngBitGenerator)
  attention core    softmax(q k^T) v under the step's UniLM mask, all layers, forward+backward
  RoPE              the rotation of queries and keys, all layers, forward+backward
  MLM head + loss   dense + GELU + LN + tied [E, V] projection + bias at the gathered targets,
                    cross-entropy, forward+backward
  bias gradient     the output bias's gradient, the sum of the [B·P, V] upstream gradient's rows:
                    as a column sum (`sum(0)`, what autodiff of `logits + bias` emits) and as
                    the ones-vector matmul `flaxnlp.models.bert.add_output_bias` uses
  optimizer         the trainer's AdamW + clipping update on the model's parameters

It prints each part's milliseconds (the fastest of `--rounds` rounds, each the median of `--reps`
calls), its share of the full step, and for matmul-heavy parts the achieved GFLOP/s and the
fraction of the peak (train FLOPs as in `train_throughput.train_flops`, MLM head at the real
targets for the full step).

  python benchmarks/train_step_breakdown.py              # two rounds (a few minutes)
  python benchmarks/train_step_breakdown.py --rounds 1   # one round
"""
import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

from flaxnlp.data import corpus
from flaxnlp.layers import attention as attn_lib
from flaxnlp.layers import dropout as dropout_lib
from flaxnlp.layers import rope as rope_lib
from flaxnlp.models import bert
from flaxnlp.train import trainer

import train_throughput  # pylint: disable=wrong-import-order


def random_records(count: int, length: int, rng: np.random.Generator) -> list[tuple]:
  """Corpus-like records (ids, flags): CJK-range token ids, ~5% of positions sentence starts."""
  records = []
  for _ in range(count):
    ids = rng.integers(670, 7992, length).astype(np.int32)
    starts = rng.random(length) < 0.05
    flags = np.where(starts, corpus.SENTENCE_START | corpus.WORD_START, corpus.WORD_START)
    records.append((ids, flags.astype(np.uint8)))
  return records


def step_setup():
  """(trainer of experiments/pretrain_zh_small.py on one device, its batch size of features)."""
  c = train_throughput.pretraining_config()
  tr = trainer.Trainer(c, "/nonexistent", devices=jax.devices()[:1])
  rng = np.random.default_rng(0)
  records = random_records(c.train.batch_size, tr.task.seq_len - 2, rng)
  return tr, [tr.task.featurize(r, train=True, rng=rng) for r in records]


def dropout_mask_shapes(cfg: bert.BertConfig, batch: int, length: int) -> list[tuple]:
  """Shapes of every dropout mask one step draws (embeddings, per layer 3 sites)."""
  hidden = (batch, length, cfg.hidden_size)
  probs = (batch, cfg.num_attention_heads, length, length)
  return [hidden] + [probs, hidden, hidden] * cfg.num_hidden_layers


def part_calls(tr: trainer.Trainer, features: list[dict]) -> dict:
  """Name -> a call that runs one part and blocks on its result (see the module docstring)."""
  task, batch, length = tr.task, len(features), tr.task.seq_len
  cfg = task.build_model().config
  data = {k: jnp.asarray(v) for k, v in task.collate(features, length).items()}
  params = tr._init(tr.rng).params  # pylint: disable=protected-access
  key = jax.random.key(0)
  run = lambda f, *args: (lambda: jax.block_until_ready(f(*args)))
  calls = {}

  holder = {"state": tr._init(tr.rng)}  # pylint: disable=protected-access

  def full_step():
    holder["state"], metrics = tr.train_step(holder["state"], features)
    jax.block_until_ready(metrics["loss"])

  calls["full step"] = full_step
  calls["host batch"] = lambda: jax.block_until_ready(
      tr._device_batch(task.collate(features, length)))  # pylint: disable=protected-access

  def loss(p, deterministic):
    return task.loss(p, data, key, deterministic=deterministic)[0]

  calls["forward"] = run(jax.jit(lambda p: loss(p, False)), params)
  calls["forward+backward"] = run(jax.jit(jax.value_and_grad(lambda p: loss(p, False))), params)
  calls["forward+backward, no dropout"] = run(
      jax.jit(jax.value_and_grad(lambda p: loss(p, True))), params)

  shapes = dropout_mask_shapes(cfg, batch, length)
  threshold = dropout_lib.keep_threshold(cfg.hidden_dropout_prob)
  masks = jax.jit(lambda k: [dropout_lib.uint16_draws(s, shape) >= threshold
                             for s, shape in zip(jax.random.split(k, len(shapes)), shapes)])
  calls["dropout masks (threefry)"] = run(masks, key)
  calls["dropout masks (rbg)"] = run(masks, jax.random.key(0, impl="rbg"))

  layers, h, dh = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.head_dim
  qkv = jax.random.normal(key, (3, layers, batch, length, h, dh), jnp.float32)
  mask = attn_lib.attention_mask(data["token_ids"], data["segment_ids"], "unilm")[:, None]

  def attention_core(qkv):
    q, k, v = qkv
    return sum(jnp.sum(attn_lib.dot_product_attention(
        q[i], k[i].transpose(0, 2, 1, 3), v[i].transpose(0, 2, 1, 3), mask))
               for i in range(layers))

  calls["attention core"] = run(jax.jit(jax.grad(attention_core)), qkv)
  positions = jnp.broadcast_to(jnp.arange(length), (batch, length))[..., None]
  calls["RoPE"] = run(jax.jit(jax.grad(lambda qk: sum(
      jnp.sum(rope_lib.apply_rope(qk[j, i], positions) ** 2)
      for i in range(layers) for j in range(2)))), qkv[:2])

  encoder = bert.Bert(cfg, mlm_head=True)
  last = jax.random.normal(key, (batch, task.max_predictions, cfg.hidden_size), jnp.float32)

  def head_loss(p, x):
    logits = encoder.apply({"params": p["encoder"]}, x, method=bert.Bert.mlm)
    return optax.softmax_cross_entropy_with_integer_labels(logits, data["target_ids"]).mean()

  calls["MLM head + loss"] = run(jax.jit(jax.grad(head_loss, argnums=(0, 1))), params, last)
  upstream = jax.random.normal(key, (batch * task.max_predictions, cfg.vocab_size), jnp.float32)
  calls["bias gradient (column sum)"] = run(jax.jit(lambda g: g.sum(0)), upstream)
  calls["bias gradient (ones @ g)"] = run(
      jax.jit(lambda g: jnp.ones((g.shape[0],), g.dtype) @ g), upstream)

  grads = jax.tree.map(jnp.ones_like, params)

  def update(p, s):
    updates, s = tr.tx.update(grads, s, p)
    return optax.apply_updates(p, updates), s

  update = jax.jit(update, donate_argnums=(0, 1))
  opt = {"p": jax.tree.map(jnp.copy, params), "s": tr.tx.init(params)}

  def optimizer_step():
    opt["p"], opt["s"] = update(opt["p"], opt["s"])
    jax.block_until_ready(opt["p"])

  calls["optimizer (AdamW + clip)"] = optimizer_step
  return calls


def part_flops(tr: trainer.Trainer, features: list[dict]) -> dict[str, float]:
  """Train FLOPs (forward + backward) of the matmul-heavy parts."""
  m, batch, length = tr.config.model, len(features), tr.task.seq_len
  targets = sum(len(f["target_ids"]) for f in features)
  step = train_throughput.train_flops(m, batch, length, targets)
  h = m.hidden_size
  head = 6.0 * batch * tr.task.max_predictions * (h * h + h * m.vocab_size)
  attention = 12.0 * m.num_hidden_layers * batch * length**2 * h
  return {"full step": step, "forward": step / 3, "forward+backward": step,
          "forward+backward, no dropout": step, "attention core": attention,
          "MLM head + loss": head}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=2,
                      help="rounds over all parts; each part keeps its fastest round")
  parser.add_argument("--reps", type=int, default=3, help="timed calls per part and round")
  args = parser.parse_args()
  tr, features = step_setup()
  calls = part_calls(tr, features)
  flops = part_flops(tr, features)
  best, peaks = {}, []
  for _ in range(args.rounds):
    peaks.append(train_throughput.matmul_peak())
    for name, call in calls.items():
      seconds = train_throughput.time_steps(call, args.reps)
      best[name] = min(best.get(name, seconds), seconds)
  peak = max(peaks)
  m, batch, length = tr.config.model, len(features), tr.task.seq_len
  full = best["full step"]
  print(f"jax {jax.__version__} on {jax.devices()[0].platform}; experiments/pretrain_zh_small.py: "
        f"{m.architecture}, {m.num_hidden_layers} layers, hidden {m.hidden_size}, vocab "
        f"{m.vocab_size}, B{batch}×S{length}, {sum(len(f['target_ids']) for f in features)} "
        f"targets; float32; median of {args.reps}, best of {args.rounds} rounds")
  print(f"measured float32 matmul peak (2048³, JAX): {peak / 1e9:.0f} GFLOP/s (rounds: "
        f"{', '.join(f'{p / 1e9:.0f}' for p in peaks)}); {batch * length / full:.0f} tok/s; the "
        f"ideal step at that peak takes {flops['full step'] / peak * 1e3:.0f} ms")
  print(f"{'part':>30} {'ms':>8} {'of step':>8} {'GFLOP/s':>8} {'of peak':>8}")
  for name, seconds in best.items():
    rate = f"{flops[name] / seconds / 1e9:8.0f} {flops[name] / seconds / peak:8.0%}" \
        if name in flops else f"{'':>8} {'':>8}"
    print(f"{name:>30} {seconds * 1e3:8.1f} {seconds / full:8.0%} {rate}")


if __name__ == "__main__":
  main()
