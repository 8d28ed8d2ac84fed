"""Train-step throughput: the flaxnlp trainer's jitted step vs HF transformers + torch AdamW (eager).

Both train a BERT masked-LM (same config, float32, AdamW, MLM loss on every position) on random
tokens, one after the other in the same run. Each number comes from a fresh subprocess, so
neither framework runs in a process whose thread pools and allocator the other has used. Each
shape is measured in `--rounds` rounds of alternating order (default 2), and each framework keeps
its fastest: on this shared host the same measurement varies by up to ±20% from one minute to
the next. Prints tokens/s, the flaxnlp/torch ratio and the fraction of the float32 matmul peak
measured in the same run (JAX, 2048³, its own subprocess), with train FLOPs ≈
6 · (non-embedding params + MLM output projection) · tokens + 12 · layers · B · S² · H
(attention scores and values, forward + backward).

  python benchmarks/train_throughput.py            # BERT-base: B=8,S=128 and B=4,S=512 (12 min)
  python benchmarks/train_throughput.py --quick    # 4-layer 256-wide model, B=8,S=128
  python benchmarks/train_throughput.py --pretraining   # the zh-small pretraining step (≈ 4 min)

`--pretraining` times the step `experiments/pretrain_zh_small.py` runs (the `pretraining` task at
the shipped size: a 4-layer hidden-256 RoFormer, its batch × 128, MLM + UniLM, dropout 0.1, AdamW +
clipping) on the first records of the built corpus, against HF `RoFormerForMaskedLM` (or
`BertForMaskedLM` for a BERT config) + torch AdamW fed the same
masked tokens and given the same work: its encoder, then its MLM head only at the same padded
[B, P] target positions (P = 21), and the weighted mean cross-entropy, so the ratio measures the
implementations, not the algorithm (`RoFormerForMaskedLM(labels=...)` would compute vocabulary
logits at all B·S = 4,096 positions instead of B·P = 672). MFU counts the FLOPs of the real
targets.

Measured on the project machine (2 cores, matmul peak 157 GFLOP/s in that run):
B8×S128 flaxnlp 178 vs torch 165 tok/s (1.07×, MFU 71% vs 66%); B4×S512 140 vs 139 tok/s
(1.01×, MFU 59% both). `train_step_breakdown.py` shows where the rest of the step goes.
"""
import argparse
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from flaxnlp import configs
from flaxnlp.models import bert
from flaxnlp.tasks import base, registry
from flaxnlp.train import trainer


@registry.register("_bench_mlm")
class MlmTask(base.Task):
  """Masked-LM on random tokens: the benchmark's stand-in task (labels = the input tokens)."""

  def build_model(self):
    return bert.Bert(bert.BertConfig.from_dict(self.config.model), mlm_head=True)

  def dummy_batch(self, batch_size, length):
    return {"token_ids": np.ones((batch_size, length), np.int32),
            "segment_ids": np.zeros((batch_size, length), np.int32)}

  def examples(self, split):
    raise NotImplementedError("the benchmark feeds features directly")

  def featurize(self, example, *, train, rng):
    raise NotImplementedError("the benchmark feeds features directly")

  def collate(self, features, length):
    return {k: np.stack([f[k] for f in features]) for k in ("token_ids", "segment_ids")}

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    out = self.build_model().apply({"params": params}, batch["token_ids"], batch["segment_ids"],
                                   deterministic=deterministic, rngs={"dropout": rng})
    ce = optax.softmax_cross_entropy_with_integer_labels(out.mlm_logits, batch["token_ids"])
    return ce.mean(), {}

  def predict(self, params, batch):
    raise NotImplementedError

  def decode(self, outputs, batch, examples):
    raise NotImplementedError

  def metrics(self, predictions, examples):
    raise NotImplementedError


def model_config(quick: bool) -> ml_collections.ConfigDict:
  if quick:
    return configs.bert_config(vocab_size=21128, hidden_size=256, num_hidden_layers=4,
                               num_attention_heads=4, intermediate_size=1024)
  return configs.bert_config(vocab_size=21128, hidden_size=768, num_hidden_layers=12,
                             num_attention_heads=12, intermediate_size=3072)


def train_flops(m, batch, length, targets: int | None = None) -> float:
  """Train FLOPs of a step; the MLM head (dense + output projection) runs on `targets` positions
  (default: all batch · length)."""
  h, layers = m.hidden_size, m.num_hidden_layers
  per_layer = 4 * h * h + 2 * h * m.intermediate_size
  head = h * h + h * m.vocab_size
  targets = batch * length if targets is None else targets
  return (6.0 * (layers * per_layer * batch * length + head * targets)
          + 12.0 * layers * batch * length**2 * h)


def matmul_peak(reps: int = 10, n: int = 2048) -> float:
  """Measured float32 matmul FLOP/s of JAX on this machine now (n×n @ n×n, median)."""
  a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), jnp.float32)
  dot = jax.jit(jnp.dot)
  return 2.0 * n**3 / time_steps(lambda: dot(a, a).block_until_ready(), reps)


def time_steps(step, reps) -> float:
  """Median wall time of `step()` (which blocks on its result) after two warm-up calls."""
  step()
  step()  # warm-up (compile / allocator)
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
  return statistics.median(times)


def make_trainer(m, batch, length) -> trainer.Trainer:
  """A one-device trainer of the `_bench_mlm` task with AdamW and a single bucket."""
  c = configs.base_config()
  c.task = "_bench_mlm"
  c.model = m
  c.optimizer.update(dict(name="adamw", learning_rate=1e-4, schedule="constant", weight_decay=0.01))
  c.train.update(dict(batch_size=batch, eval_batch_size=batch, buckets=(length,)))
  c.mesh.data = 1
  return trainer.Trainer(c, "/nonexistent", devices=jax.devices()[:1])


def random_features(m, batch, length) -> list[dict]:
  rng = np.random.default_rng(0)
  return [{"token_ids": rng.integers(1, m.vocab_size, length).astype(np.int32),
           "segment_ids": np.zeros(length, np.int32)} for _ in range(batch)]


def flaxnlp_step_time(m, batch, length, reps) -> float:
  """Seconds per step of the trainer's jitted, donated train step."""
  tr = make_trainer(m, batch, length)
  features = random_features(m, batch, length)
  holder = {"state": tr._init(tr.rng)}  # pylint: disable=protected-access

  def step():
    holder["state"], metrics = tr.train_step(holder["state"], features)
    jax.block_until_ready(metrics["loss"])

  return time_steps(step, reps)


def pretraining_config():
  """The config of experiments/pretrain_zh_small.py."""
  import runpy  # pylint: disable=import-outside-toplevel
  import pathlib  # pylint: disable=import-outside-toplevel
  path = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "pretrain_zh_small.py"
  return runpy.run_path(str(path))["get_config"]()


def pretraining_batch(batch):
  """(trainer of experiments/pretrain_zh_small.py on one device, its first `batch` train
  features: real corpus records, masked with a fixed seed)."""
  tr = trainer.Trainer(pretraining_config(), "/nonexistent", devices=jax.devices()[:1])
  records = tr.task.examples("train")
  rng = np.random.default_rng(0)
  return tr, [tr.task.featurize(records[i], train=True, rng=rng) for i in range(batch)]


def pretraining_step_time(m, batch, length, reps) -> float:
  """Seconds per step of the zh-small pretraining step (real records, gathered MLM logits)."""
  del m, length
  tr, features = pretraining_batch(batch)
  holder = {"state": tr._init(tr.rng)}  # pylint: disable=protected-access

  def step():
    holder["state"], metrics = tr.train_step(holder["state"], features)
    jax.block_until_ready(metrics["loss"])

  return time_steps(step, reps)


def torch_pretraining_step_time(m, batch, length, reps) -> float:
  """HF `RoFormerForMaskedLM` / `BertForMaskedLM` (the config's architecture) + torch AdamW
  (+ clipping) on the same masked records, with flaxnlp's work: the encoder, then the MLM head
  (`model.cls`) only at the same padded [B, P] target positions, and the weighted mean
  cross-entropy."""
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel
  del m
  tr, features = pretraining_batch(batch)
  c = tr.config
  b = {k: torch.as_tensor(v) for k, v in tr.task.collate(features, length).items()}
  torch.manual_seed(0)
  hf = {"bert": "Bert", "roformer": "RoFormer"}[c.model.architecture]
  model = getattr(transformers, f"{hf}ForMaskedLM")(getattr(transformers, f"{hf}Config")(**{
      k: c.model[k] for k in ("vocab_size", "hidden_size", "num_hidden_layers",
                              "num_attention_heads", "intermediate_size", "hidden_dropout_prob",
                              "attention_probs_dropout_prob")}))
  model.train()
  opt = torch.optim.AdamW(model.parameters(), lr=c.optimizer.learning_rate, eps=1e-6,
                          weight_decay=c.optimizer.weight_decay)
  ids, segments = b["token_ids"].long(), b["segment_ids"].long()
  positions, targets = b["target_positions"].long(), b["target_ids"].long()
  weights = b["target_weights"]
  rows = torch.arange(batch)[:, None]

  def step():
    opt.zero_grad(set_to_none=True)
    hidden = model.base_model(input_ids=ids, token_type_ids=segments).last_hidden_state
    logits = model.cls(hidden[rows, positions])  # [B, P, V]
    ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(),
                                           reduction="none").view_as(weights)
    loss = (ce * weights).sum() / weights.sum().clamp(min=1.0)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), c.optimizer.clip_norm)
    opt.step()

  return time_steps(step, reps)


def torch_step_time(m, batch, length, reps) -> float:
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel
  torch.manual_seed(0)
  model = transformers.BertForMaskedLM(transformers.BertConfig(
      vocab_size=m.vocab_size, hidden_size=m.hidden_size, num_hidden_layers=m.num_hidden_layers,
      num_attention_heads=m.num_attention_heads, intermediate_size=m.intermediate_size,
      hidden_dropout_prob=m.hidden_dropout_prob,
      attention_probs_dropout_prob=m.attention_probs_dropout_prob))
  model.train()
  opt = torch.optim.AdamW(model.parameters(), lr=1e-4, eps=1e-6, weight_decay=0.01)
  ids = torch.randint(1, m.vocab_size, (batch, length))
  segments = torch.zeros_like(ids)

  def step():
    opt.zero_grad(set_to_none=True)
    out = model(input_ids=ids, token_type_ids=segments, labels=ids)
    out.loss.backward()
    opt.step()

  return time_steps(step, reps)


MEASURES = {"peak": lambda m, batch, length, reps: matmul_peak(reps),
            "flaxnlp": flaxnlp_step_time, "torch": torch_step_time,
            "flaxnlp_pretraining": pretraining_step_time,
            "torch_pretraining": torch_pretraining_step_time}


def measure_in_subprocess(what: str, args, batch: int = 0, length: int = 0) -> float:
  """Runs one measurement in a fresh Python process and returns its number."""
  cmd = [sys.executable, __file__, "--measure", what, "--batch", str(batch),
         "--length", str(length)] + (["--quick"] if args.quick else [])
  out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
  return float(out.split()[-1])


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="small model, one shape, few reps")
  parser.add_argument("--pretraining", action="store_true",
                      help="the zh-small pretraining step (module docstring) instead")
  parser.add_argument("--measure", choices=sorted(MEASURES),
                      help="(internal) print one measurement: seconds per step, or FLOP/s")
  parser.add_argument("--rounds", type=int, default=2,
                      help="measurements per framework and shape, in alternating order; the "
                           "fastest counts")
  parser.add_argument("--batch", type=int, default=0)
  parser.add_argument("--length", type=int, default=0)
  args = parser.parse_args()
  m = model_config(args.quick)
  reps = 3 if args.quick else 5
  if args.measure:
    print(MEASURES[args.measure](m, args.batch, args.length, reps))
    return
  peak = measure_in_subprocess("peak", args)
  if args.pretraining:
    report_pretraining(args, peak, reps)
    return
  shapes = [(8, 128)] if args.quick else [(8, 128), (4, 512)]
  print(f"jax {jax.__version__}; model: {m.num_hidden_layers} layers, hidden {m.hidden_size}, "
        f"vocab {m.vocab_size}; float32; median of {reps} steps; one fresh process per number; "
        f"best of {args.rounds} rounds")
  print(f"measured float32 matmul peak (JAX, 2048³): {peak / 1e9:.0f} GFLOP/s")
  print(f"{'shape':>10} {'flaxnlp tok/s':>14} {'torch tok/s':>12} {'ratio':>6} "
        f"{'flaxnlp MFU':>11} {'torch MFU':>9}")
  for batch, length in shapes:
    # Rounds alternate the order; each framework keeps its fastest round (the host is noisy).
    times = {"flaxnlp": [], "torch": []}
    for r in range(args.rounds):
      for what in (("flaxnlp", "torch") if r % 2 == 0 else ("torch", "flaxnlp")):
        times[what].append(measure_in_subprocess(what, args, batch, length))
    ours, theirs = min(times["flaxnlp"]), min(times["torch"])
    tokens, flops = batch * length, train_flops(m, batch, length)
    print(f"{f'B{batch}xS{length}':>10} {tokens / ours:14.0f} {tokens / theirs:12.0f} "
          f"{theirs / ours:6.2f} {flops / ours / peak:11.0%} "
          f"{flops / theirs / peak:9.0%}   rounds: flaxnlp "
          f"{', '.join(f'{tokens / t:.0f}' for t in times['flaxnlp'])}, torch "
          f"{', '.join(f'{tokens / t:.0f}' for t in times['torch'])} tok/s")


def report_pretraining(args, peak: float, reps: int) -> None:
  """Prints the zh-small pretraining step: tokens/s, ratio and MFU of both frameworks."""
  batch = pretraining_config().train.batch_size
  tr, features = pretraining_batch(batch)
  m, length = tr.config.model, tr.task.seq_len
  targets = sum(len(f["target_ids"]) for f in features)
  times = {"flaxnlp_pretraining": [], "torch_pretraining": []}
  for r in range(args.rounds):
    order = list(times) if r % 2 == 0 else list(reversed(times))
    for what in order:
      times[what].append(measure_in_subprocess(what, args, batch, length))
  ours, theirs = min(times["flaxnlp_pretraining"]), min(times["torch_pretraining"])
  tokens, flops = batch * length, train_flops(m, batch, length, targets)
  print(f"pretraining step (experiments/pretrain_zh_small.py): {m.num_hidden_layers} layers, "
        f"hidden {m.hidden_size}, B{batch}xS{length}, {targets} targets; median of {reps} steps, "
        f"best of {args.rounds} rounds; matmul peak {peak / 1e9:.0f} GFLOP/s")
  print(f"  flaxnlp {ours:.2f} s/step = {tokens / ours:.0f} tok/s (MFU {flops / ours / peak:.0%}); "
        f"HF {m.architecture} ForMaskedLM + torch AdamW {theirs:.2f} s/step = {tokens / theirs:.0f} tok/s "
        f"(MFU {flops / theirs / peak:.0%}); ratio {theirs / ours:.2f}")


if __name__ == "__main__":
  main()
