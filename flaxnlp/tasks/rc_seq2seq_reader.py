"""bojone's UniLM seq2seq reader (bert4keras `examples/task_reading_comprehension_by_seq2seq.py`).

* model: `Bert(mlm_head=True)` run with the UniLM mask (`attention="unilm"`);
* training sample, drawn afresh every epoch from the pipeline's per-record rng:
  `[CLS] passage [SEP] question [SEP] answer [SEP]` for one random passage of the question
  (`rc_samples.training_sample`); loss = `losses.seq2seq_crossentropy` (token CE on segment 1,
  normalised over the batch's target tokens; MLM logits only at `seq2seq_target_positions`);
* eval rows: the prompts `[CLS] p_i [SEP] q [SEP]` of the question's passages; `predict` runs the
  cached multi-passage beam search (`autoregressive.generate` with `rc_vote.RCVoteProcessor`,
  exactly what `rc_samples.answer_questions` runs); `decode` detokenises.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from flaxnlp import losses
from flaxnlp.models import encoders
from flaxnlp.tasks import base, rc_readers, rc_samples


class Seq2SeqReader(rc_readers.Reader):
  """UniLM seq2seq answer generation with the multi-passage vote (module docstring)."""

  def build_model(self):
    cfg = encoders.encoder_config(self.task.config.model, vocab_size=self.tokenizer.vocab_size)
    return encoders.build_encoder(cfg, mlm_head=True)

  def dummy_batch(self, batch_size: int, length: int):
    return {"token_ids": np.ones((batch_size, length), np.int32),
            "segment_ids": np.zeros((batch_size, length), np.int32)}

  def train_features(self, example, rng: np.random.Generator):
    """`{"token_ids", "segment_ids"}` [N] of one sampled passage."""
    args = self.args
    ids, segs = rc_samples.training_sample(
        example, self.tokenizer, rng, max_p_len=int(args.max_p_len),
        max_q_len=int(args.max_q_len), max_a_len=int(args.max_a_len),
        answer_passage_rate=float(args.answer_passage_rate))
    return {"token_ids": ids, "segment_ids": segs}

  def collate_train(self, features, length: int):
    return {key: base.pad([f[key] for f in features], length)
            for key in ("token_ids", "segment_ids")}

  def rows(self, example):
    return rc_samples.decoding_prompts(
        example.question, [p.text for p in example.passages], self.tokenizer,
        max_p_len=int(self.args.max_p_len), max_q_len=int(self.args.max_q_len))

  def first_answer_probs(self, params, token_ids):
    """The next-token distribution [R, V] after each prompt (decoding step 0)."""
    last = (token_ids != 0).sum(-1) - 1
    return jax.nn.softmax(self.task.model.apply(
        {"params": params}, token_ids, jnp.zeros_like(token_ids), "unilm",
        last[:, None]).mlm_logits[:, 0])

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    """`seq2seq_crossentropy` of the UniLM MLM logits, computed only at the positions that can
    predict a target token (a sample has fewer than max_q_len + max_a_len of them,
    `rc_samples.training_sample`); aux: target-token accuracy."""
    token_ids, segment_ids = batch["token_ids"], batch["segment_ids"]
    positions = losses.seq2seq_target_positions(
        segment_ids, int(self.args.max_q_len) + int(self.args.max_a_len))
    out = self.task.apply(params, batch, rng, deterministic=deterministic,
                          perturbations=perturbations,
                          inputs=(token_ids, segment_ids, "unilm", positions))
    loss = losses.seq2seq_crossentropy(out.mlm_logits, token_ids, segment_ids, positions)
    targets = jnp.take_along_axis(token_ids, positions + 1, axis=1)
    mask = jnp.take_along_axis(segment_ids, positions + 1, axis=1).astype(jnp.float32)
    hit = (jnp.argmax(out.mlm_logits, axis=-1) == targets) * mask
    return loss, {"target_accuracy": hit.sum() / jnp.maximum(mask.sum(), 1.0)}

  def predict(self, params, batch):
    """Multi-passage vote beam search over token_ids [B, S, L] → tokens [B, T], lengths [B]."""
    args = self.args
    out = rc_samples.vote_generate(
        self.task.model, params, batch["token_ids"], batch["present"], self.tokenizer,
        beam_size=int(args.beam_size), extractive=bool(args.extractive), eps=float(args.eps),
        max_a_len=int(args.max_a_len), answerable_rule=self.task.answerable_rule)
    return {"tokens": out.tokens, "lengths": out.lengths}

  def decode(self, outputs, batch, examples):
    """Answer strings: the generated ids before `[SEP]`, detokenised."""
    del batch, examples
    return [rc_samples.answer_text(self.tokenizer, tokens, length) for tokens, length in
            zip(np.asarray(outputs["tokens"]), np.asarray(outputs["lengths"]))]
