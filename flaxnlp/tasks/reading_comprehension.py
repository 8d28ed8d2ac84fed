"""Reading comprehension by UniLM seq2seq with multi-passage voting (task "reading_comprehension").

bert4keras `examples/task_reading_comprehension_by_seq2seq.py` (ALGORITHMS.md §1):

* model: `Bert(mlm_head=True)` run with the UniLM mask (`attention="unilm"`); its vocabulary size
  is the tokenizer's (the simplified vocabulary when `simplified_vocab`);
* training sample, drawn afresh every epoch from the pipeline's per-record rng:
  `[CLS] passage [SEP] question [SEP] answer [SEP]` for one random passage of the question
  (`rc_samples.training_sample`); loss = `losses.seq2seq_crossentropy` (token CE on segment 1,
  normalised over the batch's target tokens; MLM logits only at `seq2seq_target_positions`);
* evaluation / prediction: one eval example = one question; `featurize` builds the prompts
  `[CLS] p_i [SEP] q [SEP]` of all its passages ([P, L]); `collate` stacks questions into
  [B, S, length] (S = passage-group size, the batch's largest passage count rounded up to a power
  of two; padding passages are `[CLS] [SEP]` and never vote); `predict` runs the cached
  multi-passage beam search (`autoregressive.generate` with `rc_vote.RCVoteProcessor`, exactly
  what `rc_samples.answer_questions` runs) inside the trainer's jitted predict; `decode` detokenises;
* metrics: SogouQA official accuracy / F1 / final (gold: an `answer_expand` file when given, else
  standard = the question's first gold answer, expansions = all its gold answers) and CMRC 2018
  EM / F1 (percent) against all gold answers. Questions without a gold answer are not scored.

Datasets (`task_args.dataset`: the presets "cmrc2018" / "webqa_sogouqa", or your own "squad"
(SQuAD / CMRC-shaped) or "webqa" (WebQA / SogouQA-shaped) files in `task_args.files`) and their
splits: `flaxnlp.data.qa_datasets`.

Warm start (`config.init_checkpoint`): the params are the `Bert` itself (`encoder_key = ()`); with
a simplified vocabulary the checkpoint's embedding rows / MLM bias are sliced by `keep_tokens`
(`pretrained_params`).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import jax.numpy as jnp
import ml_collections
import numpy as np

from flaxnlp import losses, paths
from flaxnlp.data import qa_datasets
from flaxnlp.data import tokenizer as tok_lib
from flaxnlp.data.formats import qa
from flaxnlp.metrics import qa as qa_metrics
from flaxnlp.models import bert, checkpoints, encoders
from flaxnlp.tasks import base, rc_samples, registry

DATASETS = qa_datasets.PRESETS + qa_datasets.FILE_FORMATS


def _group_size(count: int) -> int:
  """Passage-group size for `count` passages: the next power of two (≥ 1)."""
  return 1 << max(count - 1, 0).bit_length()


@registry.register("reading_comprehension")
class ReadingComprehensionTask(base.Task):
  """UniLM seq2seq reading comprehension; examples are `flaxnlp.data.formats.qa.QAExample`s."""

  encoder_key = ()   # the model is the Bert itself
  holdout_group = staticmethod(qa_datasets.article_id)  # questions on one context stay together
  embedding_path = ("embeddings", "word_embeddings", "embedding")

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """Every field of `config.task_args` of the reading-comprehension task, with its default.

    Args:
      dataset: a preset "cmrc2018" | "webqa_sogouqa", or a file format "squad" | "webqa".
      data_dir: a preset's folder (cmrc2018 default: `paths.shared_data_dir() / "cmrc2018"`).
      files: `train` / `eval` / `test` paths of a file format ("" = none; test optional).
      vocab: BERT vocab.txt (default `paths.chinese_bert_vocab()`); lower-cased.
      simplified_vocab: bert4keras `simplified=True` vocabulary (drops `##字` pieces etc.).
      max_p_len, max_q_len, max_a_len: 256 / 64 / 32 tokens (§1.3).
      beam_size: 2 in the scored (0.77) version, 1 = greedy (current example).
      extractive: n-gram constraint over the answering passages.
      eps: decoding score log(vote + eps) (1e-6 in the scored version).
      cmrc_window_chars, cmrc_stride: CMRC / "squad" context windows (0 stride = no overlap).
      cmrc_eval_fraction: fraction of the dev articles held out as "eval".
      cmrc_train_trial: add cmrc2018_trial.json to "train".
      max_train_examples: keep the first N training questions (0 = all).
      answer_passage_rate: probability that a training sample's passage is drawn among those
        that carry an answer (`rc_samples.training_sample`); 0 = uniform, as bert4keras.
      answer_expand: optional SogouQA `qid_answer_expand` file (official gold of the Sogou metric).
    """
    c = ml_collections.ConfigDict(dict(
        dataset="cmrc2018", files=dict(train="", eval="", test=""), simplified_vocab=True,
        max_p_len=256, max_q_len=64, max_a_len=32, beam_size=2, extractive=True, eps=1e-12,
        cmrc_window_chars=254, cmrc_stride=0, cmrc_eval_fraction=0.2, cmrc_train_trial=True,
        max_train_examples=0, answer_passage_rate=0.0))
    for field in ("data_dir", "vocab", "answer_expand"):
      c[field] = ml_collections.config_dict.placeholder(str)
    return c

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    qa_datasets.check(self.args)
    self._splits: dict[str, list[qa.QAExample]] = {}

  # ---- Vocabulary & model -------------------------------------------------------------------
  @functools.cached_property
  def _vocab(self) -> tuple[dict, list[int] | None]:
    """(token -> id, keep_tokens or None) of the configured vocabulary."""
    vocab = tok_lib.load_vocab(self.args.vocab or paths.chinese_bert_vocab())
    if self.args.simplified_vocab:
      return tok_lib.simplified_vocab(vocab)
    return vocab, None

  @functools.cached_property
  def tokenizer(self):
    """Lower-casing WordPiece tokenizer over the (possibly simplified) vocabulary."""
    return tok_lib.Tokenizer(self._vocab[0], lowercase=True)

  @property
  def keep_tokens(self) -> list[int] | None:
    """Original-vocabulary id of every new id (simplified vocabulary), else None."""
    return self._vocab[1]

  def build_model(self) -> bert.Bert:
    """`Bert(mlm_head=True)` with vocab_size = the tokenizer's (overrides config.model)."""
    cfg = encoders.encoder_config(self.config.model, vocab_size=self.tokenizer.vocab_size)
    return encoders.build_encoder(cfg, mlm_head=True)

  def pretrained_params(self, checkpoint: str) -> dict:
    """The checkpoint's params, with a simplified vocabulary its embedding rows and MLM bias
    sliced to `keep_tokens`."""
    pretrained = super().pretrained_params(checkpoint)
    if self.keep_tokens is None:
      return pretrained
    return checkpoints.keep_tokens_params(pretrained, self.keep_tokens)

  def dummy_batch(self, batch_size: int, length: int):
    return {"token_ids": np.ones((batch_size, length), np.int32),
            "segment_ids": np.zeros((batch_size, length), np.int32)}

  # ---- Data ---------------------------------------------------------------------------------
  def examples(self, split: str) -> Sequence[qa.QAExample]:
    examples = qa_datasets.read_split(self.args, split, int(self.config.seed), self._splits)
    limit = int(self.args.max_train_examples)
    if split == "train":
      examples = [ex for ex in examples if ex.passages]
      if limit:
        examples = examples[:limit]
    return examples

  def featurize(self, example: qa.QAExample, *, train: bool, rng: np.random.Generator):
    """Train: `{"token_ids", "segment_ids"}` [N] of one sampled passage. Eval: the prompts
    `{"token_ids"}` [P, L] (0-padded; a question without passages gets one `[CLS] [SEP]` row
    with `present` False) and `{"present"}` [P] bool."""
    args = self.args
    if train:
      ids, segs = rc_samples.training_sample(
          example, self.tokenizer, rng, max_p_len=int(args.max_p_len),
          max_q_len=int(args.max_q_len), max_a_len=int(args.max_a_len),
          answer_passage_rate=float(args.answer_passage_rate))
      return {"token_ids": ids, "segment_ids": segs}
    prompts = rc_samples.decoding_prompts(
        example.question, [p.text for p in example.passages], self.tokenizer,
        max_p_len=int(args.max_p_len), max_q_len=int(args.max_q_len))
    if not prompts:
      return {"token_ids": np.asarray([[self.tokenizer.cls_id, self.tokenizer.sep_id]], np.int32),
              "present": np.zeros(1, bool)}
    token_ids = np.zeros((len(prompts), max(map(len, prompts))), np.int32)
    for i, row in enumerate(prompts):
      token_ids[i, :len(row)] = row
    return {"token_ids": token_ids, "present": np.ones(len(prompts), bool)}

  def collate(self, features, length: int):
    """Train: token_ids / segment_ids [B, length]. Eval: token_ids [B, S, length] (padding
    passages `[CLS] [SEP]`) and present [B, S], S = `_group_size(max passages)`."""
    if features[0]["token_ids"].ndim == 1:
      return {key: base.pad([f[key] for f in features], length)
              for key in ("token_ids", "segment_ids")}
    token_ids, present = rc_samples.pack_prompt_groups(
        [f["token_ids"] for f in features], [f["present"] for f in features], length,
        _group_size(max(len(f["present"]) for f in features)), self.tokenizer)
    return {"token_ids": token_ids, "present": present}

  # ---- Model functions ----------------------------------------------------------------------
  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    """`seq2seq_crossentropy` of the UniLM MLM logits, computed only at the positions that can
    predict a target token (a sample has fewer than max_q_len + max_a_len of them,
    `rc_samples.training_sample`); aux: target-token accuracy."""
    token_ids, segment_ids = batch["token_ids"], batch["segment_ids"]
    positions = losses.seq2seq_target_positions(
        segment_ids, int(self.args.max_q_len) + int(self.args.max_a_len))
    out = self.apply(params, batch, rng, deterministic=deterministic, perturbations=perturbations,
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
        self.model, params, batch["token_ids"], batch["present"], self.tokenizer,
        beam_size=int(args.beam_size), extractive=bool(args.extractive), eps=float(args.eps),
        max_a_len=int(args.max_a_len))
    return {"tokens": out.tokens, "lengths": out.lengths}

  def decode(self, outputs, batch, examples):
    """Answer strings: the generated ids before `[SEP]`, detokenised."""
    del batch, examples
    return [rc_samples.answer_text(self.tokenizer, tokens, length) for tokens, length in
            zip(np.asarray(outputs["tokens"]), np.asarray(outputs["lengths"]))]

  @functools.cached_property
  def _answer_expand(self):
    return (qa_metrics.read_answer_expand(self.args.answer_expand) if self.args.answer_expand
            else None)

  def metrics(self, predictions, examples):
    """SogouQA accuracy / f1 / final (fractions) and CMRC 2018 em / f1 (percent).

    Only questions with gold answers (or, with `answer_expand`, listed in it) are scored;
    `num_scored` counts them and `answered` is the fraction of them with a non-empty prediction
    (the rest were judged unanswerable: every passage's first token was `[SEP]`).
    """
    expand = self._answer_expand
    preds, sogou_gold, cmrc_gold = {}, {}, {}
    for pred, ex in zip(predictions, examples):
      if expand is not None:
        if ex.id in expand:
          preds[ex.id], sogou_gold[ex.id] = pred, expand[ex.id]
          cmrc_gold[ex.id] = [expand[ex.id].standard]
      elif ex.gold_answers:
        preds[ex.id] = pred
        sogou_gold[ex.id] = qa_metrics.SogouGold.make(ex.gold_answers[0], ex.gold_answers)
        cmrc_gold[ex.id] = list(ex.gold_answers)
    if not preds:
      raise ValueError("no evaluation question has a gold answer")
    sogou = qa_metrics.sogou_evaluate(preds, sogou_gold)
    cmrc = qa_metrics.cmrc2018_evaluate(preds, cmrc_gold)
    return {"sogou_accuracy": sogou["accuracy"], "sogou_f1": sogou["f1"],
            "sogou_final": sogou["final"], "cmrc_em": cmrc["em"], "cmrc_f1": cmrc["f1"],
            "num_scored": float(len(preds)),
            "answered": sum(bool(p) for p in preds.values()) / len(preds)}

  # ---- Predict mode -------------------------------------------------------------------------
  def from_json(self, obj) -> qa.QAExample:
    """Predict-mode input `{"question": str, "passages": [str | {"passage": str}], ["id"]}`
    (`qa_datasets.example_from_json`)."""
    return qa_datasets.example_from_json(obj)

  def to_json(self, example: qa.QAExample, prediction: str):
    """Predict-mode output: id, question and the answer ("" = no answer)."""
    return {"id": example.id, "question": example.question, "answer": prediction}


def rc_task_args(dataset: str = "cmrc2018", data_dir: str | None = None, vocab: str | None = None,
                 **overrides) -> ml_collections.ConfigDict:
  """`ReadingComprehensionTask.task_args` with `dataset`, `data_dir` and `vocab` positional."""
  return ReadingComprehensionTask.task_args(dataset=dataset, data_dir=data_dir, vocab=vocab,
                                            **overrides)
