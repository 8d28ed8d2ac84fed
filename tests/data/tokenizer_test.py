"""Tokenizer tests on the real Chinese (bert-base-chinese) and English (MiniLM) vocabularies.

References: ids read off the vocab.txt files, HF `transformers.BertTokenizer` (pure-Python BERT) and
`BertTokenizerFast`, hand-worked truncation / decode examples, and in-test re-statements of the
bert4keras truncation loop and simplified-vocabulary rule.
"""
import pickle
import unicodedata

import pytest

from flaxnlp import paths
from flaxnlp.data import tokenizer as tokenizer_lib
from flaxnlp.data.formats.errors import DataFormatError
from flaxnlp.data.tokenizer import Tokenizer

DATA_MD_TEXT = "中共中央致中国致公党十一大的贺词，Hello WORLD 2024年！"
DATA_MD_IDS = [101, 704, 1066, 704, 1925, 5636, 704, 1744, 5636, 1062, 1054, 1282, 671, 1920, 4638,
               6590, 6404, 8024, 8701, 8572, 9707, 8159, 2399, 8013, 102]

SENTENCES = [
    DATA_MD_TEXT,
    "因有关日寇在京掠夺文物详情，藏界较为重视，也是我们收藏北京史料中的要件之一。",
    "Café naïve résumé: ＡＢＣ　ｄｅｆ, e-mail foo@bar.com 3.14%",
    "我们藏有一册1945年6月油印的《北京文物保存保管状态之调查报告》，调查范围涉及故宫、历博、古研所。",
    "  leading and\ttrailing\nwhitespace  \u00a0 zero\u200bwidth ctl\x07char 𠀀 unaffable  ",
    "It's the GPU's 3.5x speed-up (approx.) — “quoted” … ok?",
]


@pytest.fixture(scope="module")
def zh_vocab():
  return paths.chinese_bert_vocab()  # the data packages are installed by `make`: no skip


@pytest.fixture(scope="module")
def zh(zh_vocab):
  return Tokenizer.from_vocab(zh_vocab)


@pytest.fixture(scope="module")
def en_vocab():
  return paths.minilm_dir() / "vocab.txt"


@pytest.fixture(scope="module")
def en(en_vocab):
  return Tokenizer.from_vocab(en_vocab)


def _transformers():
  import transformers  # pylint: disable=import-outside-toplevel  # requirements-test.txt
  return transformers


# ---------------------------------------------------------------------------------------------
# Chinese vocabulary


def test_data_md_example_ids(zh):
  assert zh.encode(DATA_MD_TEXT).ids == DATA_MD_IDS


def test_special_and_known_ids(zh):
  assert (zh.pad_id, zh.unk_id, zh.cls_id, zh.sep_id, zh.mask_id) == (0, 100, 101, 102, 103)
  assert zh.vocab_size == 21128
  assert zh.token_to_id("中") == 704 and zh.token_to_id("国") == 1744
  assert zh.id_to_token(704) == "中" and zh.id_to_token(103) == "[MASK]"
  assert zh.token_to_id("not-a-token") == 100
  with pytest.raises(IndexError):
    zh.id_to_token(21128)


@pytest.mark.parametrize("text", SENTENCES)
def test_matches_transformers_slow_bert_tokenizer(zh_vocab, zh, text):
  reference = _transformers().BertTokenizer(str(zh_vocab), do_lower_case=True)
  assert zh.encode(text).ids == reference(text)["input_ids"]
  assert zh.tokenize(text) == reference.tokenize(text)


def test_pickle_round_trip(zh):
  clone = pickle.loads(pickle.dumps(zh))
  assert clone.encode(DATA_MD_TEXT) == zh.encode(DATA_MD_TEXT)


def test_pair_matches_transformers(zh_vocab, zh):
  reference = _transformers().BertTokenizer(str(zh_vocab), do_lower_case=True)
  first, second = SENTENCES[1], SENTENCES[2]
  expected = reference(first, second)
  encoding = zh.encode(first, second)
  assert encoding.ids == expected["input_ids"]
  assert encoding.segment_ids == expected["token_type_ids"]


def _normalize(s):
  """BERT uncased normalisation of a piece of text: lower-case, NFD, drop Mn marks."""
  return "".join(c for c in unicodedata.normalize("NFD", s.lower())
                 if unicodedata.category(c) != "Mn")


@pytest.mark.parametrize("text", SENTENCES)
def test_offsets_point_at_token_characters(zh, text):
  encoding = zh.encode(text)
  tokens = [zh.id_to_token(i) for i in encoding.ids]
  assert encoding.offsets[0] == (0, 0) and encoding.offsets[-1] == (0, 0)
  previous_end = 0
  for token, (start, end) in zip(tokens[1:-1], encoding.offsets[1:-1]):
    assert previous_end <= start < end <= len(text)
    previous_end = end
    if token != "[UNK]":
      stem = token[2:] if token.startswith("##") else token
      # Zero-width and control characters inside a word are dropped by cleaning.
      source = "".join(c for c in text[start:end] if unicodedata.category(c) not in ("Cc", "Cf"))
      assert _normalize(source) == stem, (token, text[start:end])


def test_offsets_hand_worked(zh):
  text = "北京 Hello世界"
  encoding = zh.encode(text)
  assert [zh.id_to_token(i) for i in encoding.ids] == [
      "[CLS]", "北", "京", "hello", "世", "界", "[SEP]"]
  assert encoding.offsets == [(0, 0), (0, 1), (1, 2), (3, 8), (8, 9), (9, 10), (0, 0)]


def test_pair_offsets_are_relative_to_each_text(zh):
  encoding = zh.encode("你好", "世界")
  assert encoding.offsets == [(0, 0), (0, 1), (1, 2), (0, 0), (0, 1), (1, 2), (0, 0)]
  assert encoding.segment_ids == [0, 0, 0, 0, 1, 1, 1]


# ---------------------------------------------------------------------------------------------
# Truncation (bert4keras truncate_sequences: pop the token before the final [SEP] of the longest)


def _tokens(tok, encoding):
  return [tok.id_to_token(i) for i in encoding.ids]


def test_truncation_single_hand_worked(zh):
  encoding = zh.encode("今天天气很好", maxlen=5)
  assert _tokens(zh, encoding) == ["[CLS]", "今", "天", "天", "[SEP]"]
  assert encoding.offsets == [(0, 0), (0, 1), (1, 2), (2, 3), (0, 0)]
  assert zh.encode("今天", maxlen=5).ids == zh.encode("今天").ids


def test_truncation_pair_both_shrink(zh):
  # [CLS]今天天气不错[SEP] (8) + [CLS]明天呢[SEP] (5), budget 8 + 1 = 9. Pops: 错 (7,5), 不 (6,5),
  # 气 (5,5), tie -> first: 天 (4,5); 4 + 5 = 9 stop. Output drops the second [CLS]: 8 tokens.
  encoding = zh.encode("今天天气不错", "明天呢", maxlen=8)
  assert _tokens(zh, encoding) == ["[CLS]", "今", "天", "[SEP]", "明", "天", "呢", "[SEP]"]
  assert encoding.segment_ids == [0, 0, 0, 0, 1, 1, 1, 1]


def test_truncation_pair_second_longer(zh):
  # [CLS]你好[SEP] (4) + [CLS]我很好谢谢你[SEP] (8), budget 9: pop 你, 谢, 谢 from the second.
  encoding = zh.encode("你好", "我很好谢谢你", maxlen=8)
  assert _tokens(zh, encoding) == ["[CLS]", "你", "好", "[SEP]", "我", "很", "好", "[SEP]"]


def test_truncation_pair_minimum(zh):
  encoding = zh.encode("你好", "世界", maxlen=3)
  assert _tokens(zh, encoding) == ["[CLS]", "[SEP]", "[SEP]"]
  with pytest.raises(ValueError):
    zh.encode("你好", "世界", maxlen=2)
  with pytest.raises(ValueError):
    zh.encode("你好", maxlen=1)


def _pop_loop(first_len, second_len, maxlen):
  """bert4keras `truncate_sequences(maxlen, -2, first, second)` on lengths, step by step."""
  lengths = [first_len, second_len]
  while sum(lengths) > maxlen:
    longest = 0 if lengths[0] >= lengths[1] else 1
    lengths[longest] -= 1
  return tuple(lengths)


def test_truncated_lengths_matches_pop_loop():
  for first_len in range(2, 14):
    for second_len in range(2, 14):
      for maxlen in range(4, 30):
        assert tokenizer_lib.truncated_lengths(first_len, second_len, maxlen) == _pop_loop(
            first_len, second_len, maxlen), (first_len, second_len, maxlen)
  assert tokenizer_lib.truncated_lengths(10, None, 4) == (4, 0)


def test_encode_batch_equals_encode(zh):
  assert zh.encode_batch(SENTENCES, maxlen=20) == [zh.encode(s, maxlen=20) for s in SENTENCES]


# ---------------------------------------------------------------------------------------------
# Decode (bert4keras Tokenizer.decode)


def test_decode_chinese_round_trip(zh):
  assert zh.decode(DATA_MD_IDS) == "中共中央致中国致公党十一大的贺词，hello world 2024年！"


def _ids(tok, tokens):
  ids = [tok.token_to_id(t) for t in tokens]
  assert all(i != tok.unk_id or t == "[UNK]" for t, i in zip(tokens, ids)), tokens
  return ids


def test_decode_hand_worked_english(en):
  # it -> " it"; "'" -> "' "; s -> " s"; 3 -> " 3"; . -> ". "; 5 -> " 5"; ( -> "( "; x -> " x";
  # ) -> ") ".  " it'  s 3.  5( x) " -> collapse spaces -> "'s " rule -> no space after "(" ->
  # "3. 5" -> "3.5" -> strip.
  tokens = ["[CLS]", "it", "'", "s", "3", ".", "5", "(", "x", ")", "[SEP]"]
  assert en.decode(_ids(en, tokens)) == "it's 3.5(x)"
  assert en.decode(_ids(en, ["una", "##ffa", "##ble", "world", "[PAD]", "[UNK]"])) == (
      "unaffable world")


def test_decode_hand_worked_mixed(zh):
  # CJK characters join; a word after a CJK character is appended directly; "，" is CJK
  # punctuation so its trailing space is removed; "!" is not, so a space follows it.
  tokens = ["北", "京", "hello", "world", "，", "你", "好", "!", "ok"]
  assert zh.decode(_ids(zh, tokens)) == "北京hello world，你好! ok"


# ---------------------------------------------------------------------------------------------
# Simplified vocabulary (bert4keras load_vocab(simplified=True))


def _is_cjk(c):
  return "CJK UNIFIED IDEOGRAPH" in unicodedata.name(c, "") or "CJK COMPATIBILITY IDEOGRAPH" in (
      unicodedata.name(c, ""))


def _is_punct(c):
  return (c.isascii() and not c.isalnum() and c.isprintable() and c != " ") or (
      unicodedata.category(c).startswith("P"))


def test_simplified_vocab_rule(zh_vocab):
  vocab = tokenizer_lib.load_vocab(zh_vocab)
  new_vocab, keep_tokens = tokenizer_lib.simplified_vocab(vocab)
  # In-test statement of the rule with different predicates (Unicode names, str methods).
  expected = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [
      t for t in sorted(vocab, key=vocab.get)
      if t not in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
      and not (len(t) > 1 and any(_is_cjk(c) or _is_punct(c) for c in t.removeprefix("##")))]
  assert list(new_vocab) == expected
  assert list(new_vocab.values()) == list(range(len(expected)))
  assert keep_tokens == [vocab[t] for t in expected]
  assert len(new_vocab) == 13584
  assert keep_tokens[:4] == [0, 100, 101, 102]
  assert keep_tokens[4:] == sorted(keep_tokens[4:])
  assert "中" in new_vocab and "##中" not in new_vocab and "[MASK]" not in new_vocab
  assert "##ing" in new_vocab and "[unused1]" not in new_vocab


def test_simplified_tokenizer_same_tokens(zh_vocab, zh):
  new_vocab, keep_tokens = tokenizer_lib.simplified_vocab(tokenizer_lib.load_vocab(zh_vocab))
  small = Tokenizer(new_vocab)
  assert small.mask_id is None and (small.pad_id, small.unk_id, small.cls_id, small.sep_id) == (
      0, 1, 2, 3)
  for text in SENTENCES:
    full, reduced = zh.encode(text, "问题是什么？"), small.encode(text, "问题是什么？")
    assert [keep_tokens[i] for i in reduced.ids] == full.ids
    assert reduced.offsets == full.offsets and reduced.segment_ids == full.segment_ids


def test_bad_vocabularies(tmp_path):
  path = tmp_path / "vocab.txt"
  path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nb\na\n", encoding="utf-8")
  with pytest.raises(DataFormatError, match=r"vocab.txt:7: duplicate token 'a'"):
    tokenizer_lib.load_vocab(path)
  with pytest.raises(ValueError, match="no \\[SEP\\]"):
    Tokenizer({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2})
  with pytest.raises(ValueError, match="ids must be exactly"):
    Tokenizer({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 5})


# ---------------------------------------------------------------------------------------------
# English vocabulary (MiniLM / bert-base-uncased)

EN_SENTENCES = [
    "Hello, unaffable world! 北京",
    "The quick brown fox jumps over the lazy dog.",
    "Naïve café owners résumé-writing in São Paulo, 2024: $3.50/hr?!",
    "Tokenizers don't split hyphenated-words the same way... or do they?",
]


def test_english_data_md_ids(en):
  assert en.encode("Hello, unaffable world! 北京").ids == [
      101, 7592, 1010, 14477, 20961, 3468, 2088, 999, 1781, 1755, 102]


@pytest.mark.parametrize("text", EN_SENTENCES)
def test_english_matches_transformers(en_vocab, en, text):
  transformers = _transformers()
  slow = transformers.BertTokenizer(str(en_vocab), do_lower_case=True)
  fast = transformers.BertTokenizerFast(str(en_vocab), do_lower_case=True)
  reference = fast(text, return_offsets_mapping=True)
  encoding = en.encode(text)
  assert encoding.ids == slow(text)["input_ids"] == reference["input_ids"]
  assert encoding.offsets == [tuple(o) for o in reference["offset_mapping"]]
