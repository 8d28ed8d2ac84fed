"""Cached UniLM decoding vs naive re-computation; `Bert` forward vs HF transformers (torch eager).

1. Decoding (beam search, one prompt of --prefix tokens, --new tokens, beam --beam):
   * ours: `flaxnlp.decoding.generate` (prefix encoded once, one position per step, one jitted
     `lax.while_loop`);
   * baseline: bert4keras `AutoRegressiveDecoder.beam_search`, whose every step re-runs the whole
     model (MLM head and softmax at every position) and scores the last position, beam
     bookkeeping in numpy. It gets exactly the inputs bert4keras gives the model: at step t the
     live hypotheses (1 row at step 0, --beam rows after) as prompt ++ the t tokens generated so
     far, at their real length prefix + t, with no padding rows or columns. The forward is jitted
     and compiles once per length, during the warm-up generation.
   Both sides get the same prompt and run all --new steps (`end_id` lies outside the vocabulary,
   so no hypothesis ends); times are medians of whole generations after one warm-up call each.
2. Forward throughput (batch 8 x 128 tokens, dropout off): `Bert` (jitted) vs HF `BertModel`
   (torch eager, no_grad), same config and weights shape.

Usage: .venv/bin/python benchmarks/decoding.py [--quick]
  --quick: the small model only, prefix 64, 8 new tokens, fewer repeats.
Prints times, tokens/s and the ratio baseline / ours. Never asserts timings.
"""
import argparse
import statistics
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flaxnlp.decoding import generate
from flaxnlp.models import Bert
from flaxnlp.models import BertConfig

SMALL = BertConfig(vocab_size=21128, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                   intermediate_size=1024)
BASE = BertConfig(vocab_size=21128)


def _random_params(model, seed=0):
  """N(0, 0.02) params without compiling `init` (scales 1, biases ~0)."""
  boxed = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.ones((1, 4), jnp.int32))
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    x = rng.normal(0.0, 0.02, leaf.shape).astype(np.float32)
    return jnp.asarray(x + 1.0 if path[-1].key == "scale" else x)

  return jax.tree_util.tree_map_with_path(draw, nn.unbox(boxed["params"]))


def _median_time(fn, repeats):
  fn()  # warm-up / compile
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def _naive_beam_search(model, params, prompt, beam, steps):
  """bert4keras-style beam search re-running the full model every step, at the real lengths.

  Returns a function that runs one generation of `steps` tokens and returns the hypotheses.
  """
  n = prompt.shape[0]

  @jax.jit
  def next_log_probs(params, ids, segs):
    logits = model.apply({"params": params}, ids, segs, attention="unilm").mlm_logits
    return jnp.log(jax.nn.softmax(logits, axis=-1)[:, -1] + 1e-12)

  def run():
    output_ids, output_scores = np.zeros((1, 0), np.int32), np.zeros(1, np.float32)
    for _ in range(steps):
      k, t = output_ids.shape
      ids = np.concatenate([np.broadcast_to(prompt, (k, n)), output_ids], axis=1)
      segs = np.concatenate([np.zeros((k, n), np.int32), np.ones((k, t), np.int32)], axis=1)
      scores = output_scores[:, None] + np.asarray(next_log_probs(params, ids, segs))
      top = np.argpartition(scores, -beam, axis=None)[-beam:]
      parents, tokens = np.divmod(top, scores.shape[1])
      output_ids = np.concatenate([output_ids[parents], tokens[:, None].astype(np.int32)], axis=1)
      output_scores = scores.reshape(-1)[top]
    return output_ids

  return run


def bench_decoding(name, config, prefix, new, beam, repeats):
  model = Bert(config, mlm_head=True)
  params = _random_params(model)
  rng = np.random.default_rng(1)
  prompt = rng.integers(5, config.vocab_size, prefix).astype(np.int32)
  prompt[0], prompt[-1] = 2, 3
  end_id = config.vocab_size   # never generated: every run does all `new` steps

  def cached():
    out = generate(model, params, prompt[None], end_id=end_id, max_new_tokens=new, beam_size=beam)
    jax.block_until_ready(out.tokens)

  t_cached = _median_time(cached, repeats)
  t_naive = _median_time(_naive_beam_search(model, params, prompt, beam, new),
                         max(1, repeats // 2))
  print(f"[decode {name}] prefix {prefix}, {new} new tokens, beam {beam}")
  print(f"  naive re-run (bert4keras style): {1e3 * t_naive:9.1f} ms/generation, "
        f"{new / t_naive:8.1f} tok/s (rows of {prefix}..{prefix + new - 1} tokens, unpadded)")
  print(f"  cached generate (ours)         : {1e3 * t_cached:9.1f} ms/generation, "
        f"{new / t_cached:8.1f} tok/s")
  print(f"  speed-up: {t_naive / t_cached:.1f}x")


def bench_forward(name, config, batch, length, repeats):
  model = Bert(config, pooler=True)
  params = _random_params(model)
  rng = np.random.default_rng(2)
  ids = rng.integers(5, config.vocab_size, (batch, length)).astype(np.int32)
  segs = np.zeros_like(ids)
  forward = jax.jit(lambda p, i, s: model.apply({"params": p}, i, s).last_hidden_state)
  t_ours = _median_time(lambda: forward(params, ids, segs).block_until_ready(), repeats)
  try:
    import torch  # pylint: disable=g-import-not-at-top
    import transformers  # pylint: disable=g-import-not-at-top
  except ImportError:
    print(f"[forward {name}] ours {batch * length / t_ours:.0f} tok/s; torch/transformers absent")
    return
  hf_config = transformers.BertConfig(**{k: v for k, v in config.__dict__.items()
                                         if k not in ("dtype", "remat")})
  hf = transformers.BertModel(hf_config).eval()
  ids_t, segs_t = torch.tensor(ids, dtype=torch.long), torch.tensor(segs, dtype=torch.long)

  def torch_forward():
    with torch.no_grad():
      hf(input_ids=ids_t, token_type_ids=segs_t, attention_mask=torch.ones_like(ids_t))

  t_hf = _median_time(torch_forward, repeats)
  print(f"[forward {name}] batch {batch} x {length}")
  print(f"  HF BertModel (torch eager): {1e3 * t_hf:8.1f} ms, {batch * length / t_hf:8.0f} tok/s")
  print(f"  flaxnlp Bert (jit)        : {1e3 * t_ours:8.1f} ms, "
        f"{batch * length / t_ours:8.0f} tok/s")
  print(f"  ratio torch / ours (time): {t_hf / t_ours:.2f}x")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--quick", action="store_true", help="small model only, short runs")
  parser.add_argument("--prefix", type=int, default=256)
  parser.add_argument("--new", type=int, default=32)
  parser.add_argument("--beam", type=int, default=4)
  args = parser.parse_args()
  print(f"jax {jax.__version__} on {jax.devices()[0].platform} ({jax.device_count()} devices)")
  if args.quick:
    bench_decoding("small", SMALL, 64, 8, args.beam, repeats=2)
    bench_forward("small", SMALL, 8, 128, repeats=3)
    return
  bench_decoding("small 4x256", SMALL, args.prefix, args.new, args.beam, repeats=5)
  bench_decoding("base 12x768", BASE, args.prefix, args.new, args.beam, repeats=3)
  bench_forward("small 4x256", SMALL, 8, 128, repeats=5)
  bench_forward("base 12x768", BASE, 8, 128, repeats=3)


if __name__ == "__main__":
  main()
