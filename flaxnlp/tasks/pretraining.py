"""Encoder pretraining on a packed corpus: masked LM and UniLM, mixable by weight (task "pretraining").

Data: the records of a corpus built by `flaxnlp.data.corpus.build_corpus` (`seq_len - 2` packed
tokens each): "train" = `train.array_record`, "eval" = `heldout.array_record` (documents held out
by content hash). With `task_args.corpus_dir` unset the corpus of `flaxnlp.tasks.corpus_sources`
is built on first use under `paths.cache_dir()`.

Each record becomes one example of one objective, drawn per example with probability
proportional to `task_args.objectives` weights (a new draw every epoch, so masks are dynamic):
  * mlm (RoBERTa / Google BERT): `[CLS] tokens [SEP]`, segment 0; exactly
    round(mask_rate · candidates) positions (at least 1; candidates exclude [CLS]/[SEP]) are
    targets; each is replaced by [MASK] with probability `mask_token_rate` (0.8), by a uniformly
    drawn non-special token with `random_token_rate` (0.1), else kept. With
    `whole_word_masking` whole words (jieba boundaries stored in the corpus) are chosen at once,
    in random order, skipping a word that would pass the count (Chinese RoBERTa-wwm).
  * unilm (bert4keras pretraining's seq2seq mode): the record is cut before a sentence start
    (else at random) so that the second part B has at most `max_predictions - 1` tokens:
    `[CLS] A [SEP] B [SEP]`, segments 0 … 0 1 … 1; the UniLM mask lets A attend
    bidirectionally and B left to right; targets: every token of `B [SEP]`, predicted from the
    position before it.
Both run through one forward pass with `attention="unilm"` (an all-zero segment is
bidirectional). Logits are computed only at the (padded) target positions: [B, P, V] with
P = `max_predictions`.

Metrics (eval split): per-objective token accuracy and cross-entropy, and the unigram baseline
on the same targets (predict the most frequent training token; cross-entropy of the add-one
smoothed unigram distribution).
"""
from __future__ import annotations

import functools
import math
import pathlib
from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from flaxnlp import paths
from flaxnlp.data import corpus
from flaxnlp.data.masking import mask_tokens
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.errors import UserError
from flaxnlp.models import bert, encoders
from flaxnlp.tasks import base, corpus_sources, registry

OBJECTIVES = ("mlm", "unilm")


def default_corpus_dir(seq_len: int, whole_word: bool) -> pathlib.Path:
  return paths.cache_dir() / f"corpus-zh-{seq_len}-{'wwm' if whole_word else 'char'}"


class PretrainingModel(nn.Module):
  """An encoder with its MLM head ("encoder"), decoded only at gathered target positions."""
  config: bert.BertConfig

  @nn.compact
  def __call__(self, token_ids, segment_ids, target_positions, deterministic: bool = True):
    """int [B, N] tokens and segments, int [B, P] positions → float32 logits [B, P, V]."""
    encoder = encoders.build_encoder(self.config, mlm_head=True, name="encoder")
    return encoder(token_ids, segment_ids, attention="unilm", mlm_positions=target_positions,
                   deterministic=deterministic).mlm_logits


@registry.register("pretraining")
class PretrainingTask(base.Task):
  """MLM / UniLM pretraining of an encoder (BERT, RoFormer, RoFormer-V2); examples are corpus
  records (ids, flags)."""

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """corpus_dir ("" = built under `paths.cache_dir()`), vocab ("" = bert-base-chinese), seq_len,
    whole_word_masking, mask_rate, mask_token_rate, random_token_rate, max_predictions (0 =
    ceil(seq_len · mask_rate) + 1), objectives (weight per objective; see the module docstring)."""
    return ml_collections.ConfigDict(dict(
        corpus_dir="", vocab="", seq_len=128, whole_word_masking=True, mask_rate=0.15,
        mask_token_rate=0.8, random_token_rate=0.1, max_predictions=0,
        objectives=ml_collections.ConfigDict(dict(mlm=1.0, unilm=0.0))))

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    a = self.args
    self.seq_len = int(a.seq_len)
    self.max_predictions = int(a.max_predictions) or math.ceil(self.seq_len * float(a.mask_rate)) + 1
    weights = {k: float(a.objectives[k]) for k in a.objectives}
    unknown = sorted(set(weights) - set(OBJECTIVES))
    if unknown or sum(weights.values()) <= 0 or min(weights.values()) < 0:
      raise ValueError(f"task_args.objectives {weights}: weights ≥ 0 of {OBJECTIVES}, not all 0")
    self.unilm_share = weights.get("unilm", 0.0) / sum(weights.values())
    self.corpus_dir = pathlib.Path(a.corpus_dir or default_corpus_dir(
        self.seq_len, bool(a.whole_word_masking)))

  @functools.cached_property
  def tokenizer(self):
    return Tokenizer.from_vocab(self.args.vocab or paths.chinese_bert_vocab())

  @functools.cached_property
  def random_ids(self) -> np.ndarray:
    """Ids a masked position may be swapped to: every token not of the form `[...]`."""
    tok = self.tokenizer
    return np.asarray([i for i in range(tok.vocab_size)
                       if not (tok.id_to_token(i).startswith("[") and
                               tok.id_to_token(i).endswith("]"))], np.int32)

  @functools.cached_property
  def unigram_log_probs(self) -> np.ndarray:
    """float64 [V]: add-one smoothed log frequencies of the training tokens."""
    counts = np.load(self.corpus_dir / "unigram.npy").astype(np.float64) + 1.0
    return np.log(counts / counts.sum())

  def build_model(self) -> nn.Module:
    cfg = encoders.encoder_config(self.config.model, vocab_size=self.tokenizer.vocab_size)
    return PretrainingModel(cfg)

  def model_inputs(self, batch):
    return batch["token_ids"], batch["segment_ids"], batch["target_positions"]

  def dummy_batch(self, batch_size: int, length: int):
    p = self.max_predictions
    return {"token_ids": np.ones((batch_size, length), np.int32),
            "segment_ids": np.zeros((batch_size, length), np.int32),
            "target_positions": np.zeros((batch_size, p), np.int32),
            "target_ids": np.zeros((batch_size, p), np.int32),
            "target_weights": np.zeros((batch_size, p), np.float32),
            "unilm": np.zeros((batch_size,), np.float32)}

  # ---- Data ---------------------------------------------------------------------------------
  def ensure_corpus(self) -> pathlib.Path:
    """The corpus folder, built from `corpus_sources` first if it is the default one and absent."""
    if not corpus.is_built(self.corpus_dir):
      if self.args.corpus_dir:
        raise FileNotFoundError(f"task_args.corpus_dir={self.corpus_dir} holds no built corpus "
                                "(stats.json missing); build it with flaxnlp.data.corpus")
      missing = corpus_sources.missing_eval_files()
      if missing:  # their texts could not be filtered out, and experiments evaluate on them
        raise UserError(
            f"cannot build the decontaminated default corpus: {len(missing)} evaluation files "
            f"are missing ({', '.join(map(str, missing[:3]))}, ...); point FLAXNLP_SHARED_DATA "
            f"at the shared data folder, or build your own corpus with flaxnlp.data.corpus and "
            f"pass --config.task_args.corpus_dir")
      corpus.build_corpus(corpus_sources.sources(), self.corpus_dir, self.tokenizer,
                          eval_texts=corpus_sources.eval_texts(), seq_len=self.seq_len,
                          whole_word=bool(self.args.whole_word_masking))
    return self.corpus_dir

  def examples(self, split: str) -> Sequence:
    name = {"train": "train", "eval": "heldout", "dev": "heldout"}.get(split)
    if name is None:
      raise ValueError(f"unknown split {split!r}; valid: train | eval (held-out records)")
    return corpus.PackedSequences(self.ensure_corpus() / f"{name}.array_record")

  def featurize(self, example, *, train: bool, rng: np.random.Generator):
    """{"token_ids", "segment_ids": int32 [L], "target_positions", "target_ids": int32 [T],
    "unilm": float32 scalar} with T ≤ max_predictions (see the module docstring)."""
    del train
    ids, flags = example
    if rng.random() < self.unilm_share:
      return self._unilm_features(ids, flags, rng)
    a, tok = self.args, self.tokenizer
    tokens = np.concatenate([[tok.cls_id], ids, [tok.sep_id]]).astype(np.int32)
    starts = np.concatenate([[True], (flags & corpus.WORD_START) > 0, [True]])
    if not a.whole_word_masking:
      starts[:] = True
    masked, positions = mask_tokens(
        tokens, starts, (tokens != tok.cls_id) & (tokens != tok.sep_id), rate=float(a.mask_rate),
        max_predictions=self.max_predictions, mask_id=tok.mask_id, random_ids=self.random_ids,
        mask_token_rate=float(a.mask_token_rate), random_token_rate=float(a.random_token_rate),
        rng=rng)
    return {"token_ids": masked, "segment_ids": np.zeros_like(masked),
            "target_positions": positions.astype(np.int32),
            "target_ids": tokens[positions], "unilm": np.float32(0.0)}

  def _unilm_features(self, ids, flags, rng):
    tok, n, p = self.tokenizer, len(ids), self.max_predictions
    lowest = max(n - (p - 1), 2)  # B = ids[cut:] has at most p - 1 tokens; A keeps ≥ 1 token
    starts = [k for k in range(lowest, n) if flags[k] & corpus.SENTENCE_START]
    cut = int(rng.choice(starts)) if starts else int(rng.integers(lowest, n))
    source, target = ids[1:cut], ids[cut:]  # ids[0] dropped: [CLS] A [SEP] B [SEP] fits n + 2
    tokens = np.concatenate([[tok.cls_id], source, [tok.sep_id], target, [tok.sep_id]])
    segments = np.zeros(len(tokens), np.int32)
    segments[len(source) + 2:] = 1
    positions = np.arange(len(source) + 1, len(tokens) - 1)
    return {"token_ids": tokens.astype(np.int32), "segment_ids": segments,
            "target_positions": positions.astype(np.int32),
            "target_ids": tokens[positions + 1].astype(np.int32), "unilm": np.float32(1.0)}

  def collate(self, features, length: int):
    p = self.max_predictions
    column = lambda key, width: base.pad([f[key] for f in features], width)
    return {"token_ids": column("token_ids", length), "segment_ids": column("segment_ids", length),
            "target_positions": column("target_positions", p),
            "target_ids": column("target_ids", p),
            "target_weights": base.pad([np.ones(len(f["target_ids"])) for f in features], p,
                                       np.float32),
            "unilm": np.asarray([f["unilm"] for f in features], np.float32)}

  # ---- Model --------------------------------------------------------------------------------
  def _token_stats(self, params, batch, rng=None, *, deterministic=True, perturbations=None):
    """Per-target cross-entropy and correctness, float32 [B, P] each (padding targets included)."""
    logits = self.apply(params, batch, rng, deterministic=deterministic,
                        perturbations=perturbations)
    ce = optax.losses.softmax_cross_entropy_with_integer_labels(logits, batch["target_ids"])
    correct = (jnp.argmax(logits, -1) == batch["target_ids"]).astype(jnp.float32)
    return ce, correct

  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    """Token-level mean cross-entropy over all targets; aux: accuracy and loss per objective."""
    ce, correct = self._token_stats(params, batch, rng, deterministic=deterministic,
                                    perturbations=perturbations)
    w = batch["target_weights"]
    aux = {}
    for name, rows in (("mlm", 1.0 - batch["unilm"]), ("unilm", batch["unilm"])):
      wo = w * rows[:, None]
      count = jnp.maximum(wo.sum(), 1.0)
      aux[f"{name}_accuracy"] = (correct * wo).sum() / count
      aux[f"{name}_loss"] = (ce * wo).sum() / count
    return (ce * w).sum() / jnp.maximum(w.sum(), 1.0), aux

  def predict(self, params, batch):
    ce, correct = self._token_stats(params, batch)
    w = batch["target_weights"]
    return {"loss_sum": (ce * w).sum(-1), "correct": (correct * w).sum(-1), "count": w.sum(-1)}

  def decode(self, outputs, batch, examples):
    """Per example: objective, target count, model correct / loss sums and unigram baselines."""
    del examples
    log_p, top = self.unigram_log_probs, int(np.argmax(self.unigram_log_probs))
    rows = []
    for i in range(len(outputs["count"])):
      targets = batch["target_ids"][i, batch["target_weights"][i] > 0]
      rows.append({"objective": "unilm" if batch["unilm"][i] else "mlm",
                   "count": float(outputs["count"][i]), "correct": float(outputs["correct"][i]),
                   "loss_sum": float(outputs["loss_sum"][i]),
                   "unigram_correct": float(np.sum(targets == top)),
                   "unigram_loss_sum": float(-np.sum(log_p[targets]))})
    return rows

  def metrics(self, predictions, examples):
    """{objective}_accuracy / _loss and unigram_{objective}_accuracy / _loss (token-level)."""
    del examples
    out = {}
    for name in OBJECTIVES:
      rows = [r for r in predictions if r["objective"] == name]
      count = sum(r["count"] for r in rows)
      if not count:
        continue
      out[f"{name}_accuracy"] = sum(r["correct"] for r in rows) / count
      out[f"{name}_loss"] = sum(r["loss_sum"] for r in rows) / count
      out[f"unigram_{name}_accuracy"] = sum(r["unigram_correct"] for r in rows) / count
      out[f"unigram_{name}_loss"] = sum(r["unigram_loss_sum"] for r in rows) / count
    return out


task_args = PretrainingTask.task_args
