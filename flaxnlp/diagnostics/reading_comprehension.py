"""Decoding step 0 of seq2seq reading comprehension: does the model point at the answer?

For every passage of a split's first `limit` questions, the first-token distribution at the end of
the prompt `[CLS] p [SEP] q [SEP]` (what decoding step 0 sees, `rc_samples.decoding_prompts`) is
summarised separately for the passages that carry an answer and those that do not: mean P([SEP]),
how often [SEP] is the argmax (the no-answer rule then drops the passage, blog 7115) and,
for answer-bearing passages, the probability and rank of the answer's first token. A model whose
answers all come out empty shows here whether it cannot find answers (low P(gold first)) or only
will not commit to them (P(gold first) high but under P([SEP])). Each reader says what its decoding
sees first (`rc_readers.Reader.first_answer_distributions`): the seq2seq prompt's next token, the
MLM reader's first mask position, the span reader's start over a window's tokens, where "[SEP]"
stands for `[CLS]` (no answer in the window) and the rows are windows.

  python -m flaxnlp.diagnostics.reading_comprehension --workdir runs/rc_cmrc [--split holdout] \
      [--limit 64] [--latest]   # the latest checkpoint instead of the best
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np

from flaxnlp.data.formats.qa import QAExample
from flaxnlp.errors import UserError
from flaxnlp.train import trainer as trainer_lib


def first_token_report(task, params, examples: Sequence[QAExample]) -> dict[str, dict]:
  """{"answer": {...}, "no_answer": {...}} step-0 statistics over the examples' passages."""
  probs, gold, null = task.reader.first_answer_distributions(params, examples)
  p_gold = probs[np.arange(len(gold)), gold]
  rank = (probs > p_gold[:, None]).sum(-1)
  p_sep, sep_argmax = probs[:, null], probs.argmax(-1) == null
  report = {}
  for name, rows in (("answer", gold != null), ("no_answer", gold == null)):
    report[name] = {"passages": int(rows.sum()),
                    "mean_p_sep": float(p_sep[rows].mean()) if rows.any() else 0.0,
                    "sep_argmax": float(sep_argmax[rows].mean()) if rows.any() else 0.0}
  rows = gold != null
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
