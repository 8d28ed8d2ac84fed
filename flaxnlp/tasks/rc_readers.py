"""What the readers of the reading-comprehension task share (`task_args.reader`).

A reader is the model and its use: `build_model`, the training features, `loss`, `predict` and
`decode`. Evaluation is the same for every reader: one eval example = one question, whose
passages (or passage windows) are rows [P, L] of token ids; `collate` stacks questions into
[B, S, L] (S = passage-group size, the batch's largest row count rounded up to a power of two;
padding rows are `[CLS] [SEP]` with `present` False and never answer).
"""
from __future__ import annotations

from collections.abc import Sequence

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
