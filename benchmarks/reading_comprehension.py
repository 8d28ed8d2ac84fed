"""Questions/s of multi-passage reading-comprehension decoding: cached + batched vs the original.

  .venv/bin/python benchmarks/reading_comprehension.py [--quick]

Both decoders answer the same questions with the same random UniLM (`Bert(mlm_head=True)`,
4 layers, hidden 256, simplified Chinese-BERT vocabulary), beam 2, extractive constraint:

* ours: `flaxnlp.tasks.rc_samples.answer_questions` — the passages of all questions of a batch
  in one `generate` call (prompt encoded once, one new position per step against the key/value
  cache, the vote and the n-gram constraint inside the jitted loop);
* naive: the original algorithm (kexue.fm/archives/7115, bert4keras `ReadingComprehension`), written
  below: one question at a time, every step re-runs the full model over `prompt_i ++ beam_b` for
  every active passage i and beam b, then votes Σp²/(1+Σp), applies the n-gram constraint on the
  host and keeps the best candidates.

What each side is given: the same questions and passages, tokenized by the same
`rc_samples.decoding_prompts`. Ours pads every prompt to `max_p_len + max_q_len` tokens (its own
cost, counted against it). The naive decoder gets what bert4keras feeds its model: at step t one
batch of the rows `prompt_i ++ beam_b` (prompt length + t tokens), padded only to the longest row
of that step as bert4keras's `sequence_padding` does. All prompts here have the same length, so
its rows carry no padding at all; the header line prints the prompt and row lengths. Its forward
is jitted and compiles once per row shape during the warm-up call; it applies the MLM head at the
last position only (bert4keras applies it everywhere), which can only make the baseline faster.

For a fair count of steps the model's MLM bias of `[SEP]` is set to -30, so neither decoder stops
early: both generate `max_a_len` tokens (the script prints the mean answer length of each and
whether the answers agree). Timings exclude compilation: each decoder first answers the whole
question set once, untimed. Prints the ratio.
"""
import argparse
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from flaxnlp import paths
from flaxnlp.data import tokenizer as tok_lib
from flaxnlp.models import bert
from flaxnlp.tasks import rc_samples


def naive_answer(apply_fn, tokenizer, question, passages, *, beam_size, max_p_len, max_q_len,
                 max_a_len, eps=1e-12):
  """Blog 7115's decoding: full forward passes, no cache, host-side vote / constraint / beams.

  `apply_fn(token_ids, segment_ids, last)` returns the logits at position `last` of each row; the
  rows of a step are padded only to that step's longest row (bert4keras's `sequence_padding`).
  """
  prompts = [list(p) for p in rc_samples.decoding_prompts(
      question, passages, tokenizer, max_p_len=max_p_len, max_q_len=max_q_len)]
  sources = [p[1:p.index(tokenizer.sep_id)] for p in prompts]
  sep = tokenizer.sep_id
  beams, scores = [[]], np.zeros(1)
  active = list(range(len(prompts)))
  k = beam_size
  for step in range(max_a_len):
    rows = [(i, b) for i in active for b in range(len(beams))]
    width = max(len(prompts[i]) for i in active) + len(beams[0])
    token_ids = np.zeros((len(rows), width), np.int32)
    segment_ids = np.zeros((len(rows), width), np.int32)
    last = np.zeros(len(rows), np.int32)
    for r, (i, b) in enumerate(rows):
      seq = prompts[i] + beams[b]
      token_ids[r, :len(seq)] = seq
      segment_ids[r, len(prompts[i]):len(seq)] = 1
      last[r] = len(seq) - 1
    logits = np.asarray(apply_fn(token_ids, segment_ids, last))
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs = (probs / probs.sum(-1, keepdims=True)).reshape(len(active), len(beams), -1)
    if step == 0:
      keep = [j for j, i in enumerate(active) if probs[j, 0].argmax() != sep]
      if not keep:
        return ""
      active, probs = [active[j] for j in keep], probs[keep]
    for b, prefix in enumerate(beams):
      allowed = {sep}
      n = len(prefix)
      for i in active:
        src = sources[i]
        for s in range(len(src) - n):
          if src[s:s + n] == prefix:
            allowed.add(src[s + n])
      mask = np.zeros(probs.shape[-1], bool)
      mask[list(allowed)] = True
      probs[:, b, ~mask] = 0.0
    total = probs.sum(0)
    vote = (probs ** 2).sum(0) / (1.0 + total)
    cand = scores[:, None] + np.log(vote + eps)
    flat = np.argsort(-cand, axis=None)[:k]
    parents, tokens = np.unravel_index(flat, cand.shape)
    new_beams = [beams[p] + [int(t)] for p, t in zip(parents, tokens)]
    new_scores = cand[parents, tokens]
    if new_beams[0][-1] == sep:
      return tokenizer.decode(new_beams[0][:-1])
    alive = [j for j, bm in enumerate(new_beams) if bm[-1] != sep]
    beams, scores = [new_beams[j] for j in alive], new_scores[alive]
    k = len(alive)
  return tokenizer.decode(beams[0])


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--quick", action="store_true", help="few questions, short passages")
  args = parser.parse_args()
  if args.quick:
    num_questions, max_p_len, max_a_len, batch = 2, 64, 6, 2
  else:
    num_questions, max_p_len, max_a_len, batch = 8, 256, 32, 8
  max_q_len, passages_per_q, beam = 64, 4, 2

  vocab, _ = tok_lib.simplified_vocab(tok_lib.load_vocab(paths.chinese_bert_vocab()))
  tokenizer = tok_lib.Tokenizer(vocab)
  chars = [t for t in vocab if len(t) == 1 and tok_lib.is_cjk_character(t)]
  rng = np.random.default_rng(0)

  def text(n):
    return "".join(rng.choice(chars, n))

  questions = [(text(20), [text(max_p_len - 2) for _ in range(passages_per_q)])
               for _ in range(num_questions)]
  cfg = bert.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=256, num_hidden_layers=4,
                        num_attention_heads=4, intermediate_size=1024)
  model = bert.Bert(cfg, mlm_head=True)
  params = nn.unbox(model.init(jax.random.key(0), jnp.ones((1, 8), jnp.int32))["params"])
  params = {**params, "mlm_bias": params["mlm_bias"].at[tokenizer.sep_id].set(-30.0)}

  @jax.jit
  def last_logits(token_ids, segment_ids, last):
    hidden = model.apply({"params": params}, token_ids, segment_ids, "unilm").last_hidden_state
    h = jnp.take_along_axis(hidden, last[:, None, None], axis=1)[:, 0]
    return model.apply({"params": params}, h, method=bert.Bert.mlm)

  kw = dict(beam_size=beam, max_p_len=max_p_len, max_q_len=max_q_len, max_a_len=max_a_len)

  def ours(qs):
    out = []
    for s in range(0, len(qs), batch):
      out += rc_samples.answer_questions(model, params, tokenizer, qs[s:s + batch],
                                         group_size=passages_per_q, **kw)
    return out

  def naive(qs):
    return [naive_answer(last_logits, tokenizer, q, ps, **kw) for q, ps in qs]

  timings, answers = {}, {}
  for name, fn in (("ours (cached, batched)", ours), ("naive (full re-run)", naive)):
    fn(questions)  # warm-up: compiles every shape the timed call uses
    t0 = time.perf_counter()
    answers[name] = fn(questions)
    timings[name] = num_questions / (time.perf_counter() - t0)
  prompt_lens = sorted({len(p) for q, ps in questions for p in rc_samples.decoding_prompts(
      q, ps, tokenizer, max_p_len=max_p_len, max_q_len=max_q_len)})
  print(f"{num_questions} questions x {passages_per_q} passages of {max_p_len} tokens, beam {beam}, "
        f"{max_a_len} new tokens, 4-layer/256-hidden UniLM, {jax.devices()[0].platform}")
  print(f"  prompt lengths {prompt_lens}: ours pads them to {max_p_len + max_q_len}, "
        f"naive rows are prompt + 0..{max_a_len - 1} answer tokens")
  for name, qps in timings.items():
    lengths = [len(tokenizer.tokenize(a)) for a in answers[name]]
    print(f"  {name:28s} {qps:8.2f} questions/s   mean answer tokens {np.mean(lengths):.1f}")
  (a_ours, a_naive) = answers.values()
  print(f"  answers identical: {sum(x == y for x, y in zip(a_ours, a_naive))}/{num_questions}")
  ratio = timings["ours (cached, batched)"] / timings["naive (full re-run)"]
  print(f"  speed-up: {ratio:.1f}x (target >= 10x)")


if __name__ == "__main__":
  main()
