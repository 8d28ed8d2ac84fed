"""Decoding step 0 of seq2seq reading comprehension: does the model point at the answer?

For every passage of a split's first `limit` questions, the first-token distribution at the end of
the prompt `[CLS] p [SEP] q [SEP]` (what decoding step 0 sees, `rc_samples.decoding_prompts`) is
summarised separately for the passages that carry an answer and those that do not: mean P([SEP]),
how often [SEP] is the argmax (the no-answer rule then drops the passage, ALGORITHMS §1.5) and,
for answer-bearing passages, the probability and rank of the answer's first token. A model whose
answers all come out empty shows here whether it cannot find answers (low P(gold first)) or only
will not commit to them (P(gold first) high but under P([SEP])).

  python -m flaxnlp.diagnostics.reading_comprehension --workdir runs/rc_cmrc [--split holdout] \
      [--limit 64] [--latest]   # the latest checkpoint instead of the best
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from flaxnlp.data.formats.qa import QAExample
from flaxnlp.errors import UserError
from flaxnlp.tasks import rc_samples
from flaxnlp.train import trainer as trainer_lib


def first_token_distributions(task, params, prompts: Sequence[np.ndarray],
                              batch_size: int = 32) -> np.ndarray:
  """Float32 [R, V]: the next-token distribution after each unpadded prompt (int [L_r])."""
  length = max(map(len, prompts))
  apply = jax.jit(lambda params, ids, last: jax.nn.softmax(task.model.apply(
      {"params": params}, ids, jnp.zeros_like(ids), "unilm", last[:, None]).mlm_logits[:, 0]))
  out = []
  for start in range(0, len(prompts), batch_size):
    rows = prompts[start:start + batch_size]
    ids = np.zeros((batch_size, length), np.int32)
    for i, row in enumerate(rows):
      ids[i, :len(row)] = row
    last = np.asarray([len(r) - 1 for r in rows] + [0] * (batch_size - len(rows)), np.int32)
    out.append(np.asarray(apply(params, ids, last))[:len(rows)])
  return np.concatenate(out)


def first_token_report(task, params, examples: Sequence[QAExample]) -> dict[str, dict]:
  """{"answer": {...}, "no_answer": {...}} step-0 statistics over the examples' passages."""
  tok, args = task.tokenizer, task.args
  prompts, answers = [], []
  for ex in examples:
    prompts += rc_samples.decoding_prompts(ex.question, [p.text for p in ex.passages], tok,
                                           max_p_len=int(args.max_p_len),
                                           max_q_len=int(args.max_q_len))
    answers += [rc_samples.replace_passage_punctuation(p.answer) for p in ex.passages]
  probs = first_token_distributions(task, params, prompts)
  gold = np.asarray([tok.encode(a)[0][1] if a else tok.sep_id for a in answers])
  p_gold = probs[np.arange(len(gold)), gold]
  rank = (probs > p_gold[:, None]).sum(-1)
  p_sep, sep_argmax = probs[:, tok.sep_id], probs.argmax(-1) == tok.sep_id
  report = {}
  for name, rows in (("answer", gold != tok.sep_id), ("no_answer", gold == tok.sep_id)):
    report[name] = {"passages": int(rows.sum()),
                    "mean_p_sep": float(p_sep[rows].mean()) if rows.any() else 0.0,
                    "sep_argmax": float(sep_argmax[rows].mean()) if rows.any() else 0.0}
  rows = gold != tok.sep_id
  if rows.any():
    report["answer"].update(mean_p_gold_first=float(p_gold[rows].mean()),
                            median_gold_first_rank=float(np.median(rank[rows])),
                            gold_first_top1=float((rank[rows] == 0).mean()))
  return report


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True, help="a trained reading-comprehension workdir")
  parser.add_argument("--split", default="", help="default: the split the run evaluated on")
  parser.add_argument("--limit", type=int, default=64, help="questions (default 64)")
  parser.add_argument("--latest", action="store_true", help="the latest checkpoint, not the best")
  args = parser.parse_args(argv)
  try:
    trainer = trainer_lib.from_workdir(args.workdir, "reading_comprehension")
    examples = list(trainer.examples(args.split or trainer.eval_split))[:args.limit]
    report = first_token_report(trainer.task, trainer.load_eval_params(args.latest), examples)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps(report, indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
