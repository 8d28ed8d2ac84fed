"""Reading comprehension with multi-passage questions (task "reading_comprehension").

Readers (`task_args.reader`), each a module of its own:
* "seq2seq": bojone's UniLM answer generation with the multi-passage vote
  (`rc_seq2seq_reader`, bert4keras `examples/task_reading_comprehension_by_seq2seq.py`,
  kexue.fm/archives/7115);
* "mlm": bojone's MLM reader, the answer read off `max_a_len` `[MASK]` positions
  (`rc_mlm_reader`, bert4keras `examples/task_reading_comprehension_by_mlm.py`);
* "span": the extractive start / end baseline over the passage windows (`rc_span_reader`).
Evaluation: one eval example = one question, its passages (or windows) rows of one group
(`rc_readers`).

Answerable data (`task_args.answerable`, default: true for "cmrc2018" and "squad", false for
"webqa_sogouqa" and "webqa"): when every question has its answer in its passages, bojone's
no-answer rule (a passage whose first answer token is `[SEP]` does not answer) is replaced by
`answerable_rule` (`flaxnlp.decoding.rc_vote.ANSWERABLE_RULES`: the answer is never empty); the
span reader then takes the best span of all windows instead of requiring it to beat `[CLS]`.

Metrics: SogouQA official accuracy / F1 / final (gold: an `answer_expand` file when given, else
standard = the question's first gold answer, expansions = all its gold answers) and CMRC 2018
EM / F1 (percent) against all gold answers. Questions without a gold answer are not scored.

Datasets (`task_args.dataset`: the presets "cmrc2018" / "webqa_sogouqa", or your own "squad"
(SQuAD / CMRC-shaped) or "webqa" (WebQA / SogouQA-shaped) files in `task_args.files`) and their
splits: `flaxnlp.data.qa_datasets`.

Warm start (`config.init_checkpoint`): the reader's `encoder_key` (the `Bert` itself for seq2seq
and mlm, `encoder` for span); with a simplified vocabulary the checkpoint's embedding rows / MLM
bias are sliced by `keep_tokens` (`pretrained_params`).
"""
from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence

import ml_collections
import numpy as np

from flaxnlp import paths
from flaxnlp.data import qa_datasets
from flaxnlp.data import tokenizer as tok_lib
from flaxnlp.data.formats import qa
from flaxnlp.decoding import rc_vote
from flaxnlp.metrics import qa as qa_metrics
from flaxnlp.models import checkpoints
from flaxnlp.tasks import base, rc_samples, registry
from flaxnlp.tasks.rc_mlm_reader import MlmReader
from flaxnlp.tasks.rc_seq2seq_reader import Seq2SeqReader
from flaxnlp.tasks.rc_span_reader import SpanReader

DATASETS = qa_datasets.PRESETS + qa_datasets.FILE_FORMATS
READERS = {"seq2seq": Seq2SeqReader, "mlm": MlmReader, "span": SpanReader}
ANSWERABLE_DATASETS = ("cmrc2018", "squad")


@registry.register("reading_comprehension")
class ReadingComprehensionTask(base.Task):
  """Multi-passage reading comprehension; examples are `flaxnlp.data.formats.qa.QAExample`s."""

  holdout_group = staticmethod(qa_datasets.article_id)  # questions on one context stay together

  @classmethod
  def default_args(cls) -> ml_collections.ConfigDict:
    """Every field of `config.task_args` of the reading-comprehension task, with its default.

    Args:
      reader: "seq2seq" | "mlm" | "span" (module docstring).
      dataset: a preset "cmrc2018" | "webqa_sogouqa", or a file format "squad" | "webqa".
      answerable: every question has an answer in its passages (None = by dataset, module
        docstring).
      answerable_rule: the step-0 voters of seq2seq / mlm on answerable data: "all" |
        "lowest_sep" | "best_start" (`flaxnlp.decoding.rc_vote`).
      span_stride: span reader, token stride of the windows of a passage longer than
        max_p_len - 2 tokens (0 = half a window).
      data_dir: a preset's folder (cmrc2018 default: `paths.shared_data_dir() / "cmrc2018"`).
      files: `train` / `eval` / `test` paths of a file format ("" = none; test optional).
      vocab: BERT vocab.txt (default `paths.chinese_bert_vocab()`); lower-cased.
      simplified_vocab: bert4keras `simplified=True` vocabulary (drops `##字` pieces etc.).
      max_p_len, max_q_len, max_a_len: 256 / 64 / 32 tokens (blog 7115).
      beam_size: seq2seq, 2 in the scored (0.77) version, 1 = greedy (current example).
      extractive: seq2seq, n-gram constraint over the answering passages.
      eps: seq2seq, decoding score log(vote + eps) (1e-6 in the scored version).
      cmrc_window_chars, cmrc_stride: CMRC / "squad" context windows (0 stride = no overlap).
      cmrc_eval_fraction: fraction of the dev articles held out as "eval".
      cmrc_train_trial: add cmrc2018_trial.json to "train".
      max_train_examples: keep the first N training questions (0 = all).
      answer_passage_rate: probability that a training sample's passage is drawn among those
        that carry an answer (`rc_samples.training_sample`); 0 = uniform, as bert4keras.
      answer_expand: optional SogouQA `qid_answer_expand` file (official gold of the Sogou metric).
    """
    c = ml_collections.ConfigDict(dict(
        reader="seq2seq", dataset="cmrc2018", answerable_rule="all", span_stride=0,
        files=dict(train="", eval="", test=""), simplified_vocab=True,
        max_p_len=256, max_q_len=64, max_a_len=32, beam_size=2, extractive=True, eps=1e-12,
        cmrc_window_chars=254, cmrc_stride=0, cmrc_eval_fraction=0.2, cmrc_train_trial=True,
        max_train_examples=0, answer_passage_rate=0.0))
    for field in ("data_dir", "vocab", "answer_expand"):
      c[field] = ml_collections.config_dict.placeholder(str)
    c.answerable = ml_collections.config_dict.placeholder(bool)
    return c

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    qa_datasets.check(self.args)
    if self.args.reader not in READERS:
      close = difflib.get_close_matches(str(self.args.reader), list(READERS), n=1)
      hint = f" (did you mean {close[0]!r}?)" if close else ""
      raise ValueError(f"config.task_args.reader={self.args.reader!r}; one of "
                       f"{' | '.join(READERS)}{hint}")
    if self.args.answerable_rule not in rc_vote.ANSWERABLE_RULES:
      raise ValueError(f"config.task_args.answerable_rule={self.args.answerable_rule!r}; one of "
                       f"{' | '.join(rc_vote.ANSWERABLE_RULES)}")
    self.reader = READERS[self.args.reader](self)
    self.encoder_key = self.reader.encoder_key
    self.embedding_path = self.reader.embedding_path
    self._splits: dict[str, list[qa.QAExample]] = {}

  @property
  def answerable(self) -> bool:
    """Every question has an answer in its passages (`task_args.answerable`, else by dataset)."""
    if self.args.answerable is None:
      return self.args.dataset in ANSWERABLE_DATASETS
    return bool(self.args.answerable)

  @property
  def answerable_rule(self) -> str:
    """The answerable rule of seq2seq / mlm decoding, "" (bojone's no-answer rule) when the data
    may have questions without an answer."""
    return str(self.args.answerable_rule) if self.answerable else ""

  # ---- Vocabulary & model -------------------------------------------------------------------
  @functools.cached_property
  def _vocab(self) -> tuple[dict, list[int] | None]:
    """(token -> id, keep_tokens or None) of the configured vocabulary."""
    vocab = tok_lib.load_vocab(self.args.vocab or paths.chinese_bert_vocab())
    if self.args.simplified_vocab:
      return tok_lib.simplified_vocab(vocab, startswith=self.reader.special_tokens)
    return vocab, None

  @functools.cached_property
  def tokenizer(self):
    """Lower-casing WordPiece tokenizer over the (possibly simplified) vocabulary."""
    return tok_lib.Tokenizer(self._vocab[0], lowercase=True)

  @property
  def keep_tokens(self) -> list[int] | None:
    """Original-vocabulary id of every new id (simplified vocabulary), else None."""
    return self._vocab[1]

  def build_model(self):
    """The reader's model, vocab_size = the tokenizer's (overrides config.model)."""
    return self.reader.build_model()

  def pretrained_params(self, checkpoint: str) -> dict:
    """The checkpoint's params, with a simplified vocabulary its embedding rows and MLM bias
    sliced to `keep_tokens`."""
    pretrained = super().pretrained_params(checkpoint)
    if self.keep_tokens is None:
      return pretrained
    return checkpoints.keep_tokens_params(pretrained, self.keep_tokens)

  def dummy_batch(self, batch_size: int, length: int):
    return self.reader.dummy_batch(batch_size, length)

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
    """Train: the reader's sample of one drawn passage. Eval: the question's rows
    (`rc_readers.Reader.eval_features`)."""
    if train:
      return self.reader.train_features(example, rng)
    return self.reader.eval_features(example)

  def collate(self, features, length: int):
    """Train: the reader's batch. Eval: token_ids [B, S, length] and present [B, S]."""
    if "present" in features[0]:
      return self.reader.collate_eval(features, length)
    return self.reader.collate_train(features, length)

  # ---- Model functions ----------------------------------------------------------------------
  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    return self.reader.loss(params, batch, rng, deterministic=deterministic,
                            perturbations=perturbations)

  def predict(self, params, batch):
    return self.reader.predict(params, batch)

  def decode(self, outputs, batch, examples):
    """One answer string per question ("" = no answer)."""
    return self.reader.decode(outputs, batch, examples)

  @functools.cached_property
  def _answer_expand(self):
    return (qa_metrics.read_answer_expand(self.args.answer_expand) if self.args.answer_expand
            else None)

  def metrics(self, predictions, examples):
    """SogouQA accuracy / f1 / final (fractions) and CMRC 2018 em / f1 (percent).

    Only questions with gold answers (or, with `answer_expand`, listed in it) are scored;
    `num_scored` counts them and `answered` is the fraction of them with a non-empty prediction
    (the rest were judged unanswerable, e.g. every passage's first token was `[SEP]`).
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

  def truncates(self, example: qa.QAExample) -> bool:
    """True when a row cuts the question (more than max_q_len − 1 tokens) or a passage (more than
    the reader's `passage_token_limit`, punctuation replaced as in `rc_samples`)."""
    def tokens(text):
      return len(self.tokenizer.tokenize(text))
    limit = self.reader.passage_token_limit()
    return (tokens(example.question) > int(self.args.max_q_len) - 1
            or limit is not None and any(
                tokens(rc_samples.replace_passage_punctuation(p.text)) > limit
                for p in example.passages))

  def to_json(self, example: qa.QAExample, prediction: str):
    """Predict-mode output: id, question and the answer ("" = no answer)."""
    return {"id": example.id, "question": example.question, "answer": prediction}


def rc_task_args(dataset: str = "cmrc2018", data_dir: str | None = None, vocab: str | None = None,
                 **overrides) -> ml_collections.ConfigDict:
  """`ReadingComprehensionTask.task_args` with `dataset`, `data_dir` and `vocab` positional."""
  return ReadingComprehensionTask.task_args(dataset=dataset, data_dir=data_dir, vocab=vocab,
                                            **overrides)
