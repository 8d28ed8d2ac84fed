"""Training samples and decoding prompts of seq2seq reading comprehension (bert4keras example).

Follows `examples/task_reading_comprehension_by_seq2seq.py` (kexue.fm/archives/7115):

* training sample (fresh every epoch): one passage of the question drawn at random (uniformly, as
  bert4keras; with `answer_passage_rate` r > 0, with probability r among the passages that
  carry an answer, so fewer samples teach "no answer" when most passages lack one); passage
  punctuation ' ', '、', '；', '，' → ','; the answer is the first non-empty answer among ALL the
  question's passages whose space-separated parts all occur in the first `max_p_len - 2`
  characters of the (replaced) sampled passage, with its spaces → ','; "" when none qualifies;
  token ids `[CLS] passage [SEP] question [SEP] answer [SEP]`, segment ids 0 for the passage and
  the question (with their `[SEP]`s) and 1 for the answer tokens and the final `[SEP]`;
* decoding prompt for every passage: `[CLS] passage [SEP] question [SEP]`, all segment 0;
* `answer_questions`: the prompts of all passages of several questions go through one
  `flaxnlp.decoding.autoregressive.generate` call, rows grouped per question and combined at every
  step by the multi-passage vote (`flaxnlp.decoding.rc_vote.RCVoteProcessor`). Its three steps
  (`pack_prompt_groups`, `vote_generate`, `answer_text`) are the reading-comprehension task's
  `collate`, `predict` and `decode`, so the standalone decoder and the task's evaluation are
  one code path.

`tokenizer` is any object with bert4keras's `encode(first, second=None, maxlen=None)` returning
`(ids, segment_ids, ...)` (e.g. `flaxnlp.data.tokenizer.Tokenizer`): `encode(passage,
maxlen=max_p_len)`, `encode(question, answer, maxlen=max_q_len + max_a_len + 1)` (longest-first
truncation of the pair) and, for prompts, `encode(question, maxlen=max_q_len + 1)`.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from flaxnlp.data.formats.qa import Passage, QAExample
from flaxnlp.decoding import autoregressive
from flaxnlp.decoding import rc_vote

_PASSAGE_PUNCTUATION = re.compile("[ 、；，]")


def replace_passage_punctuation(text: str) -> str:
  """Replaces every ' ', '、', '；', '，' by ','."""
  return _PASSAGE_PUNCTUATION.sub(",", text)


def select_answer(answers: Sequence[str], passage: str, max_p_len: int = 256) -> str:
  """The training answer for `passage` (already punctuation-replaced).

  Returns the first non-empty answer all of whose `answer.split(' ')` parts are substrings of
  `passage[:max_p_len - 2]`, with spaces replaced by ','; "" when no answer qualifies.
  """
  window = passage[:max_p_len - 2]
  for answer in answers:
    if answer and all(part in window for part in answer.split(" ")):
      return answer.replace(" ", ",")
  return ""


def draw_passage(example: QAExample, rng: np.random.Generator,
                 answer_passage_rate: float = 0.0) -> Passage:
  """The passage of one training sample: with probability `answer_passage_rate` (first
  `rng.random()`, only when the rate is > 0) uniformly among the answer-bearing passages (all of
  them when none carries an answer), else uniformly among all (`rng.integers`)."""
  if not example.passages:
    raise ValueError(f"question {example.id!r} has no passages")
  candidates = example.passages
  if answer_passage_rate > 0 and rng.random() < answer_passage_rate:
    candidates = [p for p in example.passages if p.answer] or candidates
  return candidates[rng.integers(len(candidates))]


def training_sample(example: QAExample, tokenizer, rng: np.random.Generator, *,
                    max_p_len: int = 256, max_q_len: int = 64,
                    max_a_len: int = 32,
                    answer_passage_rate: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
  """One training sample of `example` (see the module docstring).

  Args:
    example: a question with at least one passage.
    tokenizer: bert4keras-like tokenizer (see the module docstring).
    rng: draws the passage (`draw_passage`).
    max_p_len: token budget of `[CLS] passage [SEP]`.
    max_q_len, max_a_len: the pair `[CLS] question [SEP] answer [SEP]` gets `max_q_len +
      max_a_len + 1` tokens (97 by default), truncated longest-first by the tokenizer.
    answer_passage_rate: probability of drawing among the answer-bearing passages (0 = bert4keras).

  Returns:
    `(token_ids, segment_ids)`, int32 arrays of equal length ≤ max_p_len + max_q_len + max_a_len.
  """
  passage = replace_passage_punctuation(draw_passage(example, rng, answer_passage_rate).text)
  answer = select_answer([p.answer for p in example.passages], passage, max_p_len)
  p_enc = tokenizer.encode(passage, maxlen=max_p_len)
  qa_enc = tokenizer.encode(example.question, answer, maxlen=max_q_len + max_a_len + 1)
  token_ids = list(p_enc[0]) + list(qa_enc[0])[1:]
  segment_ids = list(p_enc[1]) + list(qa_enc[1])[1:]
  return np.asarray(token_ids, np.int32), np.asarray(segment_ids, np.int32)


def decoding_prompts(question: str, passages: Sequence[str], tokenizer, *, max_p_len: int = 256,
                     max_q_len: int = 64) -> list[np.ndarray]:
  """Prompt token ids `[CLS] p_i [SEP] q [SEP]` for every passage (segment ids are all 0).

  Passages get the punctuation replacement and `maxlen=max_p_len`; the question is encoded with
  `maxlen=max_q_len + 1` (≤ 63 question tokens by default).
  """
  q_ids = list(tokenizer.encode(question, maxlen=max_q_len + 1)[0])[1:]
  return [np.asarray(list(tokenizer.encode(replace_passage_punctuation(p), maxlen=max_p_len)[0])
                     + q_ids, np.int32) for p in passages]


def answer_questions(model, params, tokenizer, questions: Sequence[tuple[str, Sequence[str]]], *,
                     beam_size: int = 2, extractive: bool = True, max_p_len: int = 256,
                     max_q_len: int = 64, max_a_len: int = 32, eps: float = 1e-12,
                     banned_ids: Sequence[int] = (), full_prompt_ngrams: bool = False,
                     group_size: int | None = None, answerable_rule: str = "") -> list[str]:
  """Answers `questions` = [(question, [passage, ...]), ...] by multi-passage voting decoding.

  Every passage of every question is one row (`decoding_prompts`); rows are padded to
  `max_p_len + max_q_len` tokens and to `group_size` passages per question (default: the largest
  count in the batch; padding rows `[CLS] [SEP]` never vote), so repeated calls with the same
  group size reuse one compiled decoder. Decoding is bert4keras beam search over the vote
  (kexue.fm/archives/7115): step-0 no-answer exclusion, optional extractive constraint, scores
  log(vote + eps), at most `max_a_len` tokens.

  Args:
    model, params: a `Bert` with `mlm_head=True` (UniLM) and its params.
    tokenizer: bert4keras-like tokenizer with `encode`, `decode`, `cls_id`, `sep_id`.
    questions: (question, passages) pairs; a question without passages gets "".
    beam_size: 2 in the scored (0.77) version, 1 (greedy) in the current example.
    extractive: the answer must be an n-gram of an answering passage.
    max_p_len, max_q_len, max_a_len: as in training (256 / 64 / 32).
    eps: log offset (1e-12; 1e-6 in the 2019 version).
    banned_ids: ids never generated (2019 version: [PAD], [UNK], [CLS]).
    full_prompt_ngrams: n-grams over the whole prompt instead of the passage (2019 version).
    group_size: passages per question row group (≥ the largest passage count).
    answerable_rule: "" = bojone's step-0 no-answer rule; for data that guarantee an answer one
      of `rc_vote.ANSWERABLE_RULES` (the answer of a question with passages is never empty).

  Returns:
    One answer string per question (`tokenizer.decode` of the generated ids before [SEP]).
  """
  asked = [i for i, (_, passages) in enumerate(questions) if passages]
  answers = [""] * len(questions)
  if not asked:
    return answers
  prompts = [decoding_prompts(questions[i][0], questions[i][1], tokenizer, max_p_len=max_p_len,
                              max_q_len=max_q_len) for i in asked]
  s = group_size or max(map(len, prompts))
  if s < max(map(len, prompts)):
    raise ValueError(f"group_size {s} < the largest passage count {max(map(len, prompts))}")
  token_ids, present = pack_prompt_groups(prompts, [[True] * len(p) for p in prompts],
                                          max_p_len + max_q_len, s, tokenizer)
  out = vote_generate(model, params, token_ids, present, tokenizer, beam_size=beam_size,
                      extractive=extractive, eps=eps, max_a_len=max_a_len, banned_ids=banned_ids,
                      full_prompt_ngrams=full_prompt_ngrams, answerable_rule=answerable_rule)
  tokens, lengths = np.asarray(out.tokens), np.asarray(out.lengths)
  for g, i in enumerate(asked):
    answers[i] = answer_text(tokenizer, tokens[g], lengths[g])
  return answers


def pack_prompt_groups(groups: Sequence[Sequence[np.ndarray]], present: Sequence[Sequence[bool]],
                       length: int, group_size: int, tokenizer) -> tuple[np.ndarray, np.ndarray]:
  """The prompt rows of G questions as token_ids int32 [G, S, length] and present bool [G, S].

  Question g's rows (`groups[g]`, each 0-padded to ≤ `length`) fill its first rows, flagged by
  `present[g]`; the remaining S − len(groups[g]) rows are `[CLS] [SEP]` with present False, so
  they never vote.
  """
  token_ids = np.zeros((len(groups), group_size, length), np.int32)
  token_ids[:, :, :2] = [tokenizer.cls_id, tokenizer.sep_id]
  mask = np.zeros((len(groups), group_size), bool)
  for g, (rows, flags) in enumerate(zip(groups, present)):
    for j, (row, flag) in enumerate(zip(rows, flags)):
      token_ids[g, j] = 0
      token_ids[g, j, :len(row)] = row
      mask[g, j] = flag
  return token_ids, mask


def vote_generate(model, params, token_ids, present, tokenizer, *, beam_size: int,
                  extractive: bool, eps: float, max_a_len: int, banned_ids: Sequence[int] = (),
                  full_prompt_ngrams: bool = False,
                  answerable_rule: str = "") -> autoregressive.GenerateOutput:
  """Multi-passage vote decoding of prompt groups token_ids [G, S, L] / present [G, S] (jit-able).

  One `autoregressive.generate` call over the G·S rows, combined per group at every step by
  `rc_vote.RCVoteProcessor` (with `answerable_rule`, see `answer_questions`); returns tokens
  [G, T] and lengths [G].
  """
  g, s, n = token_ids.shape
  state = rc_vote.init_state(token_ids, present, cls_id=tokenizer.cls_id,
                             sep_id=tokenizer.sep_id, full_prompt=full_prompt_ngrams)
  processor = rc_vote.RCVoteProcessor(tokenizer.sep_id, extractive, eps, tuple(banned_ids),
                                      answerable_rule)
  return autoregressive.generate(
      model, params, token_ids.reshape(g * s, n), end_id=tokenizer.sep_id,
      max_new_tokens=max_a_len, beam_size=beam_size, logits_processor=processor,
      processor_state=state, group_size=s)


def answer_text(tokenizer, tokens: np.ndarray, length: int) -> str:
  """The answer string of generated ids `tokens[:length]`, without the closing `[SEP]`."""
  ids = tokens[:length].tolist()
  if ids and ids[-1] == tokenizer.sep_id:
    ids = ids[:-1]
  return tokenizer.decode(ids)


def answer_question(model, params, tokenizer, question: str, passages: Sequence[str],
                    **kwargs) -> str:
  """`answer_questions(model, params, tokenizer, [(question, passages)], **kwargs)[0]`."""
  return answer_questions(model, params, tokenizer, [(question, passages)], **kwargs)[0]
