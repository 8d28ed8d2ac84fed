"""Tests of seq2seq reading-comprehension samples and prompts (flaxnlp.tasks.rc_samples)."""
import numpy as np
import pytest

from flaxnlp import paths
from flaxnlp.data.formats.qa import Passage, QAExample
from flaxnlp.tasks import rc_samples

CLS, SEP = 101, 102


class CharTokenizer:
  """One token per non-space character (id = code point + 1000), bert4keras truncation."""

  def encode(self, first, second=None, maxlen=None):
    seqs = [[CLS] + [ord(c) + 1000 for c in first if not c.isspace()] + [SEP]]
    if second is not None:
      seqs.append([CLS] + [ord(c) + 1000 for c in second if not c.isspace()] + [SEP])
    if maxlen is not None:
      budget = maxlen + (second is not None)
      while sum(map(len, seqs)) > budget:  # pop before the last [SEP] of the longest (first on tie)
        longest = max(range(len(seqs)), key=lambda i: (len(seqs[i]), -i))
        seqs[longest].pop(-2)
    ids = seqs[0] + (seqs[1][1:] if second is not None else [])
    segments = [0] * len(seqs[0]) + ([1] * (len(seqs[1]) - 1) if second is not None else [])
    return ids, segments


def ids(text):
  return [ord(c) + 1000 for c in text]


def test_replace_and_select_answer():
  assert rc_samples.replace_passage_punctuation("a b、c；d，e,f。") == "a,b,c,d,e,f。"
  answers = ["", "巴西 俄罗斯", "林海音"]
  assert rc_samples.select_answer(answers, "作者林海音") == "林海音"
  assert rc_samples.select_answer(answers, "俄罗斯和巴西,林海音") == "巴西,俄罗斯"
  assert rc_samples.select_answer(answers, "只有巴西") == ""
  # the check only looks at the first max_p_len - 2 characters
  assert rc_samples.select_answer(["答案"], "x" * 7 + "答案", max_p_len=10) == ""
  assert rc_samples.select_answer(["答案"], "x" * 6 + "答案", max_p_len=10) == "答案"


def test_training_sample_layout_and_passage_choice():
  example = QAExample("1", "谁写的", [Passage("作者 林海音、城南", ""), Passage("无关", "林海音")])
  tok = CharTokenizer()
  seen = set()
  for seed in range(20):
    token_ids, segment_ids = rc_samples.training_sample(example, tok, np.random.default_rng(seed))
    chosen = np.random.default_rng(seed).integers(2)
    seen.add(int(chosen))
    if chosen == 0:  # answer of passage 1 found in passage 0 (after punctuation replacement)
      passage, answer = "作者,林海音,城南", "林海音"
    else:
      passage, answer = "无关", ""
    expected = [CLS] + ids(passage) + [SEP] + ids("谁写的") + [SEP] + ids(answer) + [SEP]
    np.testing.assert_array_equal(token_ids, expected)
    n_source = len(passage) + len("谁写的") + 3
    np.testing.assert_array_equal(segment_ids, [0] * n_source + [1] * (len(answer) + 1))
    assert token_ids.dtype == np.int32
  assert seen == {0, 1}


@pytest.mark.parametrize("q_len,a_len,kept_q,kept_a", [
    (100, 40, 54, 40),  # only the question shrinks: 2 + 54 + 2 + 40 = 98 = 97 + 1
    (100, 60, 47, 47),  # both shrink to (49, 49) including [CLS]/[SEP]
    (10, 20, 10, 20),
])
def test_training_sample_truncation(q_len, a_len, kept_q, kept_a):
  answer = "答" * a_len
  example = QAExample("1", "问" * q_len, [Passage("文" * 300 + answer, answer)])
  token_ids, segment_ids = rc_samples.training_sample(example, CharTokenizer(),
                                                      np.random.default_rng(0))
  # the answer lies beyond the first 254 characters of the passage, so it is not selected
  assert (token_ids == ord("答") + 1000).sum() == 0
  example.passages[0] = Passage("答" * a_len + "文" * 300, answer)
  token_ids, segment_ids = rc_samples.training_sample(example, CharTokenizer(),
                                                      np.random.default_rng(0))
  assert len(token_ids) == 256 + kept_q + 1 + kept_a + 1
  assert (token_ids[256:] == ord("问") + 1000).sum() == kept_q
  assert (token_ids[256:] == ord("答") + 1000).sum() == kept_a
  assert segment_ids.sum() == kept_a + 1 and segment_ids[-kept_a - 1:].all()


def test_decoding_prompts():
  prompts = rc_samples.decoding_prompts("问" * 70, ["甲 乙", "丙" * 300], CharTokenizer())
  np.testing.assert_array_equal(prompts[0], [CLS] + ids("甲,乙") + [SEP] + ids("问" * 63) + [SEP])
  assert len(prompts[1]) == 256 + 64 and prompts[1][255] == SEP


def test_with_real_tokenizer():
  from flaxnlp.data.tokenizer import Tokenizer
  tok = Tokenizer.from_vocab(paths.chinese_bert_vocab())  # cn-clip is installed by `make`
  example = QAExample("1", "谁写了城南旧事", [Passage("城南旧事的作者是林海音。", "林海音")])
  token_ids, segment_ids = rc_samples.training_sample(example, tok, np.random.default_rng(0))
  tokens = [tok.id_to_token(int(i)) for i in token_ids]
  assert "".join(tokens) == "[CLS]城南旧事的作者是林海音。[SEP]谁写了城南旧事[SEP]林海音[SEP]"
  np.testing.assert_array_equal(segment_ids, [0] * 22 + [1] * 4)
  (prompt,) = rc_samples.decoding_prompts(example.question, ["林海音"], tok)
  assert [tok.id_to_token(int(i)) for i in prompt][-1] == "[SEP]"
  assert tok.decode(prompt) == "林海音谁写了城南旧事"


@pytest.mark.parametrize("rate", [0.0, 0.5, 1.0])
def test_answer_passage_rate_sets_the_answerless_share(rate):
  # 1 answer-bearing passage of 4: uniform draws give 3/4 answerless samples, rate r gives
  # (1 - r) * 3/4; a question without any answer-bearing passage falls back to all of them.
  passages = [Passage("甲乙", ""), Passage("丙丁", ""), Passage("作者林海音", "林海音"),
              Passage("戊己", "")]
  example, tok, rng = QAExample("1", "谁", passages), CharTokenizer(), np.random.default_rng(0)
  empty = np.mean([rc_samples.training_sample(example, tok, rng, answer_passage_rate=rate)[1].sum()
                   == 1 for _ in range(4000)])
  assert abs(empty - (1 - rate) * 0.75) < 0.025
  unanswerable = QAExample("2", "谁", [Passage("甲乙", ""), Passage("丙丁", "")])
  drawn = {tuple(rc_samples.training_sample(unanswerable, tok, rng, answer_passage_rate=1.0)[0])
           for _ in range(50)}
  assert len(drawn) == 2


def test_real_cmrc_samples():
  path = paths.shared_data_dir() / "cmrc2018" / "cmrc2018_trial.json"
  from flaxnlp.data.tokenizer import Tokenizer
  tok = Tokenizer.from_vocab(paths.chinese_bert_vocab())
  if not path.is_file():
    pytest.skip(f"{path} absent (shared developer data)")
  from flaxnlp.data.formats.qa import read_cmrc2018
  examples = read_cmrc2018(path, max_passage_chars=254)[:200]
  rng = np.random.default_rng(0)
  answered = 0
  for example in examples:
    token_ids, segment_ids = rc_samples.training_sample(example, tok, rng)
    assert len(token_ids) <= 256 + 97 and token_ids[0] == tok.cls_id
    assert token_ids[-1] == tok.sep_id and (token_ids == tok.sep_id).sum() == 3
    n_target = int(segment_ids.sum())
    assert segment_ids[-n_target:].all() and not segment_ids[:-n_target].any()
    answered += n_target > 1
  assert 0 < answered < len(examples)  # windows without the answer train "no answer"
