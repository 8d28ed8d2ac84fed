"""bojone's MLM reader (bert4keras `examples/task_reading_comprehension_by_mlm.py`).

* model: `Bert(mlm_head=True)`, bidirectional attention; the vocabulary keeps `[MASK]`;
* row of a passage: `[CLS] [MASK]×A [SEP] question [SEP] passage [SEP]`, all segment 0, A =
  `max_a_len`, the question encoded with `maxlen=max_q_len + 1`, the passage (punctuation
  replaced, `rc_samples.replace_passage_punctuation`) with `maxlen=max_p_len + 1`;
* training: one passage per question and epoch (`rc_samples.draw_passage`, the answer chosen by
  `rc_samples.select_answer`); target = the answer's ids and `[SEP]` (`encode(answer,
  maxlen=A + 1)` without `[CLS]`) at mask positions 1..A, 0-padded; loss = token cross-entropy
  over the non-padding targets of the batch;
* eval: every passage is read at its mask positions (`flaxnlp.decoding.rc_mlm`) and the passages
  vote by answer text; `task.answerable_rule` picks the voters (bojone's rule when empty).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from flaxnlp.decoding import rc_mlm, rc_vote
from flaxnlp.models import encoders
from flaxnlp.tasks import base, rc_readers, rc_samples


def passage_positions(token_ids: jax.Array, sep_id: int) -> jax.Array:
  """[..., L] bool: the passage tokens of rows `[CLS] [MASK]… [SEP] q [SEP] p [SEP] 0…` (after the
  second `[SEP]`, before the third)."""
  is_sep = token_ids == sep_id
  seps_before = jnp.cumsum(is_sep, axis=-1) - is_sep
  return (seps_before == 2) & ~is_sep & (token_ids != 0)


class MlmReader(rc_readers.Reader):
  """Answers read off `max_a_len` mask positions (module docstring)."""

  special_tokens = rc_readers.Reader.special_tokens + ("[MASK]",)

  def build_model(self):
    cfg = encoders.encoder_config(self.task.config.model, vocab_size=self.tokenizer.vocab_size)
    return encoders.build_encoder(cfg, mlm_head=True)

  def dummy_batch(self, batch_size: int, length: int):
    return {"token_ids": np.ones((batch_size, length), np.int32)}

  def passage_token_limit(self) -> int:
    return int(self.args.max_p_len) - 1  # encoded with maxlen = max_p_len + 1, [CLS] dropped

  def row(self, question: str, passage: str) -> list[int]:
    """Token ids `[CLS] [MASK]×A [SEP] question [SEP] passage [SEP]`."""
    tok, args = self.tokenizer, self.args
    if tok.mask_id is None:
      raise ValueError("the MLM reader needs a vocabulary with [MASK]")
    q_ids = tok.encode(question, maxlen=int(args.max_q_len) + 1)[0]
    p_ids = tok.encode(rc_samples.replace_passage_punctuation(passage),
                       maxlen=int(args.max_p_len) + 1)[0]
    return ([tok.cls_id] + [tok.mask_id] * int(args.max_a_len) + [tok.sep_id] + q_ids[1:]
            + p_ids[1:])

  def train_features(self, example, rng: np.random.Generator):
    """`{"token_ids"}` [N] of one sampled passage and `{"answer_ids"}` [A] (0-padded)."""
    args = self.args
    passage = rc_samples.replace_passage_punctuation(
        rc_samples.draw_passage(example, rng, float(args.answer_passage_rate)).text)
    answer = rc_samples.select_answer([p.answer for p in example.passages], passage,
                                      int(args.max_p_len))
    answer_ids = self.tokenizer.encode(answer, maxlen=int(args.max_a_len) + 1)[0][1:]
    return {"token_ids": np.asarray(self.row(example.question, passage), np.int32),
            "answer_ids": base.pad([answer_ids], int(args.max_a_len))[0]}

  def collate_train(self, features, length: int):
    return {"token_ids": base.pad([f["token_ids"] for f in features], length),
            "answer_ids": np.stack([f["answer_ids"] for f in features])}

  def rows(self, example):
    return [np.asarray(self.row(example.question, p.text), np.int32) for p in example.passages]

  def _mask_logits(self, params, token_ids, rng=None, deterministic=True, perturbations=None):
    """MLM logits [R, A, V] at the mask positions 1..A of rows token_ids [R, L]."""
    masks = jnp.broadcast_to(jnp.arange(1, int(self.args.max_a_len) + 1),
                             (token_ids.shape[0], int(self.args.max_a_len)))
    return self.task.apply(params, {"token_ids": token_ids}, rng, deterministic=deterministic,
                           perturbations=perturbations,
                           inputs=(token_ids, None, "bidirectional", masks)).mlm_logits

  def first_answer_probs(self, params, token_ids):
    """The MLM distribution [R, V] at the first mask position."""
    return jax.nn.softmax(self._mask_logits(params, token_ids)[:, 0], axis=-1)

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    """Mean token cross-entropy over the batch's answer targets; aux: target-token accuracy."""
    logits = self._mask_logits(params, batch["token_ids"], rng, deterministic, perturbations)
    targets = batch["answer_ids"]
    mask = (targets != 0).astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    count = jnp.maximum(mask.sum(), 1.0)
    hit = (jnp.argmax(logits, axis=-1) == targets) * mask
    return (ce * mask).sum() / count, {"target_accuracy": hit.sum() / count}

  def predict(self, params, batch):
    """Every row read (tokens [B, S, A], lengths, scores [B, S]) and the voters [B, S]."""
    token_ids = batch["token_ids"]
    b, s, n = token_ids.shape
    rows = token_ids.reshape(b * s, n)
    probs = jax.nn.softmax(self._mask_logits(params, rows), axis=-1)
    sep = self.tokenizer.sep_id
    read = rc_mlm.read_answers(probs, rows, passage_positions(rows, sep), end_id=sep,
                               bar_first_end=bool(self.task.answerable_rule))
    voters = rc_vote.step0_voters(read.first.reshape(b, s, -1), batch["present"], sep,
                                  self.task.answerable_rule)
    return {"tokens": read.tokens.reshape(b, s, -1), "lengths": read.lengths.reshape(b, s),
            "scores": read.scores.reshape(b, s), "voters": voters}

  def decode(self, outputs, batch, examples):
    """The vote by answer text of each question's rows (`rc_mlm.vote_by_text`)."""
    del batch, examples
    outputs = {k: np.asarray(v) for k, v in outputs.items()}
    answers = []
    for tokens, lengths, scores, voters in zip(outputs["tokens"], outputs["lengths"],
                                               outputs["scores"], outputs["voters"]):
      texts = [rc_samples.answer_text(self.tokenizer, t, n) for t, n in zip(tokens, lengths)]
      answers.append(rc_mlm.vote_by_text(texts, scores, voters))
    return answers
