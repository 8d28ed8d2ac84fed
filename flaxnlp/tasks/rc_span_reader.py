"""Extractive span reader: start / end logits over the passage tokens (BERT's SQuAD baseline).

* model (`SpanModel`): a `Bert` encoder (params `encoder`, the warm-start subtree) and a dense
  `head` to (start, end) logits per token; segment ids are 0 up to the first `[SEP]`, 1 after;
* rows: every passage is tokenised whole and cut into windows of W = `max_p_len - 2` tokens
  starting every `span_stride` tokens (0 = W // 2) (`windows`); a window's row is
  `[CLS] window tokens [SEP] question [SEP]` (the question encoded with `maxlen=max_q_len + 1`);
* training: one passage per question and epoch (`rc_samples.draw_passage`); the answer is its
  first occurrence in the passage text, the row is the first window that holds all of its tokens
  (else a random window, whose targets are `[CLS]` (0, 0), as for a passage without the answer);
  loss = mean over the batch of (CE(start) + CE(end)) / 2 over `[CLS]` and the window's tokens;
* eval: `flaxnlp.decoding.rc_span` picks the best span of length ≤ `max_a_len` tokens over the
  question's rows; its text is cut from the original passage by the tokens' character offsets.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from flaxnlp.decoding import rc_span
from flaxnlp.models import bert, encoders
from flaxnlp.tasks import base, rc_readers, rc_samples


def second_segment(token_ids: jnp.ndarray, sep_id: int) -> jnp.ndarray:
  """int32 [..., L]: 1 after the first `[SEP]`, else 0."""
  is_sep = token_ids == sep_id
  return ((jnp.cumsum(is_sep, axis=-1) - is_sep) > 0).astype(jnp.int32)


def passage_positions(token_ids: jnp.ndarray, sep_id: int) -> jnp.ndarray:
  """[..., L] bool: the window tokens of rows `[CLS] window [SEP] q [SEP]` (1 .. first [SEP])."""
  pos = jnp.arange(token_ids.shape[-1])
  return (second_segment(token_ids, sep_id) == 0) & (token_ids != sep_id) & (pos > 0)


class SpanModel(nn.Module):
  """Bert encoder + dense (start, end) head: token_ids [B, N] → logits float32 [B, N, 2]."""
  config: bert.BertConfig
  sep_id: int

  @nn.compact
  def __call__(self, token_ids, deterministic: bool = True):
    hidden = encoders.build_encoder(self.config, name="encoder")(
        token_ids, second_segment(token_ids, self.sep_id),
        deterministic=deterministic).last_hidden_state
    return nn.Dense(2, dtype=jnp.float32, name="head", kernel_init=nn.with_logical_partitioning(
        nn.initializers.normal(self.config.initializer_range), ("embed", None)))(hidden)


class Window(NamedTuple):
  """A window of a passage: its `passage` index, first `token` index and token `ids`."""
  passage: int
  token: int
  ids: list[int]


def windows(num_tokens: int, size: int, stride: int) -> list[tuple[int, int]]:
  """(start, end) token ranges of at most `size` tokens every `stride` tokens, the last one
  reaching the end (one (0, 0) window for an empty passage)."""
  starts = list(range(0, max(num_tokens - size, 0) + 1, stride))
  if starts[-1] + size < num_tokens:
    starts.append(num_tokens - size)
  return [(s, min(s + size, num_tokens)) for s in starts]


def _holds(token_range: tuple[int, int], tokens: list[int]) -> bool:
  """The range [start, end) holds all of `tokens` (and there is at least one)."""
  return bool(tokens) and token_range[0] <= tokens[0] and tokens[-1] < token_range[1]


class SpanReader(rc_readers.Reader):
  """Best span over a question's windows (module docstring)."""

  encoder_key = ("encoder",)
  embedding_path = ("encoder",) + rc_readers.Reader.embedding_path

  def __init__(self, task):
    super().__init__(task)
    size = int(self.args.max_p_len) - 2
    if not 0 <= int(self.args.span_stride) <= size:
      raise ValueError(f"config.task_args.span_stride={self.args.span_stride}; 0 (half a window) "
                       f"up to the window, max_p_len - 2 = {size} tokens")

  def build_model(self):
    cfg = encoders.encoder_config(self.task.config.model, vocab_size=self.tokenizer.vocab_size)
    return SpanModel(cfg, self.tokenizer.sep_id)

  def dummy_batch(self, batch_size: int, length: int):
    return {"token_ids": np.ones((batch_size, length), np.int32)}

  def _encode(self, passage: str):
    """(ids, character offsets) of the passage tokens."""
    enc = self.tokenizer.encode(passage)
    return enc.ids[1:-1], enc.offsets[1:-1]

  def _ranges(self, num_tokens: int) -> list[tuple[int, int]]:
    """The token ranges of the windows of a passage of `num_tokens` tokens."""
    size = int(self.args.max_p_len) - 2
    return windows(num_tokens, size, int(self.args.span_stride) or max(size // 2, 1))

  def _windows(self, example) -> list[Window]:
    out = []
    for j, p in enumerate(example.passages):
      ids = self._encode(p.text)[0]
      out += [Window(j, s, ids[s:e]) for s, e in self._ranges(len(ids))]
    return out

  def _row(self, question: str, ids: Sequence[int]) -> np.ndarray:
    tok = self.tokenizer
    q_ids = tok.encode(question, maxlen=int(self.args.max_q_len) + 1)[0][1:]
    return np.asarray([tok.cls_id, *ids, tok.sep_id, *q_ids], np.int32)

  def train_features(self, example, rng: np.random.Generator):
    """`{"token_ids"}` [N] of one window of a sampled passage and `{"span"}` [2] (start, end
    row positions; 0, 0 without the answer)."""
    passage = rc_samples.draw_passage(example, rng, float(self.args.answer_passage_rate))
    ids = self._encode(passage.text)[0]
    tokens = self._answer_tokens(passage)
    ranges = self._ranges(len(ids))
    inside = [r for r in ranges if _holds(r, tokens)]
    start, end = inside[0] if inside else ranges[rng.integers(len(ranges))]
    span = [tokens[0] - start + 1, tokens[-1] - start + 1] if inside else [0, 0]
    return {"token_ids": self._row(example.question, ids[start:end]),
            "span": np.asarray(span, np.int32)}

  def _answer_tokens(self, passage) -> list[int]:
    """Indices of the passage tokens that overlap the answer's first occurrence ([] if none)."""
    begin = passage.text.find(passage.answer) if passage.answer else -1
    if begin < 0:
      return []
    end = begin + len(passage.answer)
    return [i for i, (s, e) in enumerate(self._encode(passage.text)[1]) if s < end and e > begin]

  def first_answer_targets(self, example):
    """The window rows and, in each, the row position of the answer's first token when the
    window holds the whole answer, else 0 (`[CLS]`)."""
    gold = []
    for w in self._windows(example):
      tokens = self._answer_tokens(example.passages[w.passage])
      gold.append(tokens[0] - w.token + 1 if _holds((w.token, w.token + len(w.ids)), tokens)
                  else 0)
    return self.rows(example), gold

  def passage_token_limit(self) -> None:
    return None  # every passage token is in some window

  def null_index(self) -> int:
    return 0

  def first_answer_probs(self, params, token_ids):
    """The start distribution [R, L] over `[CLS]` and the window tokens."""
    allowed = passage_positions(token_ids, self.tokenizer.sep_id).at[:, 0].set(True)
    logits = self.task.apply(params, {"token_ids": token_ids}, inputs=(token_ids,))[..., 0]
    return jax.nn.softmax(jnp.where(allowed, logits, -1e9), axis=-1)

  def collate_train(self, features, length: int):
    return {"token_ids": base.pad([f["token_ids"] for f in features], length),
            "span": np.stack([f["span"] for f in features])}

  def rows(self, example):
    return [self._row(example.question, w.ids) for w in self._windows(example)]

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    """Mean (CE(start) + CE(end)) / 2 over `[CLS]` and the window tokens; aux: exact span rate."""
    token_ids = batch["token_ids"]
    logits = self.task.apply(params, batch, rng, deterministic=deterministic,
                             perturbations=perturbations, inputs=(token_ids,))
    allowed = passage_positions(token_ids, self.tokenizer.sep_id).at[:, 0].set(True)
    logits = jnp.where(allowed[..., None], logits, -1e9)
    ce = optax.softmax_cross_entropy_with_integer_labels(jnp.moveaxis(logits, 1, 2), batch["span"])
    exact = jnp.all(jnp.argmax(logits, axis=1) == batch["span"], axis=-1)
    return ce.mean(), {"span_accuracy": exact.mean()}

  def predict(self, params, batch):
    """`rc_span.best_spans` of every row: start, end, score, null [B, S]."""
    token_ids = batch["token_ids"]
    b, s, n = token_ids.shape
    rows = token_ids.reshape(b * s, n)
    logits = self.task.apply(params, {"token_ids": rows}, inputs=(rows,))
    spans = rc_span.best_spans(logits[..., 0], logits[..., 1],
                               passage_positions(rows, self.tokenizer.sep_id),
                               int(self.args.max_a_len))
    return {key: value.reshape(b, s) for key, value in spans._asdict().items()}

  def decode(self, outputs, batch, examples):
    """Each question's answer: the chosen row's span, cut from its passage by the offsets."""
    answers = []
    for q, example in enumerate(examples):
      spans = rc_span.RowSpans(**{k: np.asarray(v[q]) for k, v in outputs.items()})
      row = rc_span.choose_span(spans, np.asarray(batch["present"][q]), self.task.answerable)
      if row is None:
        answers.append("")
        continue
      window = self._windows(example)[row]
      text = example.passages[window.passage].text
      offsets = self._encode(text)[1]
      first = window.token + int(spans.start[row]) - 1
      last = window.token + int(spans.end[row]) - 1
      answers.append(text[offsets[first][0]:offsets[last][1]])
    return answers
