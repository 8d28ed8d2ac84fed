"""What the readers of the reading-comprehension task share (`task_args.reader`).

A reader is the model and its use: `build_model`, the training features, `loss`, `predict` and
`decode`. Evaluation is the same for every reader: one eval example = one question, whose
passages (or passage windows) are rows [P, L] of token ids; `collate` stacks questions into
[B, S, L] (S = passage-group size, the batch's largest row count rounded up to a power of two;
padding rows are `[CLS] [SEP]` with `present` False and never answer).
"""
from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np

from flaxnlp.tasks import base, rc_samples


def group_size(count: int) -> int:
  """Passage-group size for `count` rows: the next power of two (≥ 1)."""
  return 1 << max(count - 1, 0).bit_length()


class Reader:
  """Base of the readers; `task` is the `ReadingComprehensionTask` (tokenizer, args, apply).

  Attributes:
    encoder_key, embedding_path: as `flaxnlp.tasks.base.Task` (the model's pretrained subtree
      and token-embedding matrix).
    special_tokens: the tokens a simplified vocabulary keeps first.

  The step-0 diagnostic (`flaxnlp.diagnostics.reading_comprehension`) asks a reader what its decoding sees
  first: `first_answer_targets` (rows and the index of their answer's start, or of "no answer")
  and `first_answer_probs` (the distribution over those indices).
  """
  encoder_key: tuple[str, ...] = ()
  embedding_path: tuple[str, ...] = ("embeddings", "word_embeddings", "embedding")
  special_tokens: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")

  def __init__(self, task):
    self.task = task

  @property
  def args(self):
    return self.task.args

  @property
  def tokenizer(self):
    return self.task.tokenizer

  def null_index(self) -> int:
    """The index of "no answer" in `first_answer_probs` (`[SEP]`, the end of an empty answer)."""
    return self.tokenizer.sep_id

  def passage_token_limit(self) -> int | None:
    """The most tokens of a passage (punctuation replaced) a row reads; None: windows read all."""
    return int(self.args.max_p_len) - 2  # [CLS] passage [SEP]

  def first_answer_targets(self, example) -> tuple[list[np.ndarray], list[int]]:
    """The rows of `example` (one per passage) and each passage's first answer token
    (`null_index()` without an answer)."""
    tok = self.tokenizer
    first = [tok.encode(rc_samples.replace_passage_punctuation(p.answer))[0][1] if p.answer
             else self.null_index() for p in example.passages]
    return self.rows(example), first

  def first_answer_probs(self, params, token_ids):
    """float32 [R, K]: the first-answer distribution of rows token_ids [R, L] (jit-able)."""
    raise NotImplementedError

  def first_answer_distributions(self, params, examples, batch_size: int = 32):
    """`(probs [R, K], gold [R], null_index)` over the rows of all `examples`."""
    rows, gold = [], []
    for example in examples:
      more_rows, more_gold = self.first_answer_targets(example)
      rows += more_rows
      gold += more_gold
    filler = [np.asarray([self.tokenizer.cls_id, self.tokenizer.sep_id], np.int32)]
    length, apply, out = max(map(len, rows)), jax.jit(self.first_answer_probs), []
    for start in range(0, len(rows), batch_size):
      chunk = rows[start:start + batch_size]
      ids = base.pad(chunk + filler * (batch_size - len(chunk)), length)
      out.append(np.asarray(apply(params, ids))[:len(chunk)])
    return np.concatenate(out), np.asarray(gold), self.null_index()

  def rows(self, example) -> list[np.ndarray]:
    """The eval rows (token ids, unpadded) of `example`, one per passage or window."""
    raise NotImplementedError

  def eval_features(self, example) -> dict[str, np.ndarray]:
    """`{"token_ids"}` [P, L] (0-padded rows; a question without passages gets one `[CLS] [SEP]`
    row with `present` False) and `{"present"}` [P] bool."""
    rows = self.rows(example)
    if not rows:
      return {"token_ids": np.asarray([[self.tokenizer.cls_id, self.tokenizer.sep_id]], np.int32),
              "present": np.zeros(1, bool)}
    return {"token_ids": base.pad(rows, max(map(len, rows))), "present": np.ones(len(rows), bool)}

  def collate_eval(self, features: Sequence[dict], length: int) -> dict[str, np.ndarray]:
    """token_ids [B, S, length] and present [B, S] (module docstring)."""
    token_ids, present = rc_samples.pack_prompt_groups(
        [f["token_ids"] for f in features], [f["present"] for f in features], length,
        group_size(max(len(f["present"]) for f in features)), self.tokenizer)
    return {"token_ids": token_ids, "present": present}
