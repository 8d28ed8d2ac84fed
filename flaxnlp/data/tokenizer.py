"""BERT WordPiece tokenizer with bert4keras semantics, built on HF `tokenizers`.

Tokenization itself (normalisation, pre-tokenisation, greedy longest-match WordPiece) runs in the
Rust `tokenizers` library with BERT's components: `BertNormalizer` (clean text, put spaces around
CJK characters, lower-case and strip accents when `lowercase=True`), `BertPreTokenizer` (split on
whitespace and punctuation) and the `WordPiece` model (a word with no complete segmentation, or
longer than 200 characters as in bert4keras, becomes one `[UNK]`).

What this module adds on top is the bert4keras behaviour the examples rely on:

* `encode(first, second, maxlen)` builds `[CLS] first [SEP] second [SEP]` with segment ids 0…0 1…1
  and bert4keras's longest-first truncation (see `Tokenizer.encode`);
* `decode(ids)` reproduces bert4keras `Tokenizer.decode` (Chinese characters joined without
  spaces, `##` pieces merged, English words space-separated);
* `simplified_vocab` reproduces `load_vocab(..., simplified=True)` and returns `keep_tokens`.

Offsets are character offsets `(start, end)` (half-open) into the ORIGINAL text of the segment a
token comes from; special tokens (`[CLS]`, `[SEP]`) get the empty offset `(0, 0)`. A whole word
mapped to `[UNK]` gets the offsets of the whole word. `flaxnlp.data.spans` maps character spans
to token spans with these offsets.
"""
import os
import re
import unicodedata
from typing import Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import tokenizers
from tokenizers import models, normalizers, pre_tokenizers

from flaxnlp.data.formats.errors import DataFormatError

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"

# bert4keras `Tokenizer._word_maxlen`: longer words become one [UNK].
_WORD_MAXLEN = 200

# Characters after which bert4keras's decode removes the following space: CJK punctuation
# (`Tokenizer._cjk_punctuation()`) plus '+-/={(<['.
_NO_SPACE_AFTER = (
    "\uff02\uff03\uff04\uff05\uff06\uff07\uff08\uff09\uff0a\uff0b\uff0c\uff0d\uff0f\uff1a\uff1b"
    "\uff1c\uff1d\uff1e\uff20\uff3b\uff3c\uff3d\uff3e\uff3f\uff40\uff5b\uff5c\uff5d\uff5e\uff5f"
    "\uff60\uff62\uff63\uff64\u3000\u3001\u3003\u3008\u3009\u300a\u300b\u300c\u300d\u300e\u300f"
    "\u3010\u3011\u3014\u3015\u3016\u3017\u3018\u3019\u301a\u301b\u301c\u301d\u301e\u301f\u3030"
    "\u303e\u303f\u2013\u2014\u2018\u2019\u201b\u201c\u201d\u201e\u201f\u2026\u2027\ufe4f\ufe51"
    "\ufe54\u00b7\uff01\uff1f\uff61\u3002" "+-/={(<[")
_NO_SPACE_AFTER_RE = re.compile("([%s]) " % re.escape(_NO_SPACE_AFTER))
_APOSTROPHE_RE = re.compile(r"' (re|m|s|t|ve|d|ll) ")
_DECIMAL_RE = re.compile(r"(\d\.) (\d)")
_SPACES_RE = re.compile(" +")

Offsets = List[Tuple[int, int]]


def is_cjk_character(ch: str) -> bool:
  """True for a CJK unified ideograph (BERT's / bert4keras's code-point ranges)."""
  code = ord(ch)
  return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
          or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F
          or 0x2B820 <= code <= 0x2CEAF or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


def is_punctuation(ch: str) -> bool:
  """True for ASCII symbols (33–47, 58–64, 91–96, 123–126) or a Unicode `P*` category."""
  code = ord(ch)
  return (33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126
          or unicodedata.category(ch).startswith("P"))


def load_vocab(path: Union[str, os.PathLike]) -> dict:
  """Reads a BERT `vocab.txt`: token on line k (0-based) gets id k.

  Lines are split on '\\n', '\\r\\n' and '\\r' only and each token is the line with surrounding
  whitespace stripped (so the Chinese vocab's line 343, U+2028, is the token '' and line 13502
  is '##', as in bert4keras and HF `tokenizers`).

  Returns:
    dict token -> id, in id order.

  Raises:
    DataFormatError: a token occurs twice (naming file and line).
  """
  vocab = {}
  with open(path, encoding="utf-8") as f:
    for index, line in enumerate(f):
      token = line.strip()
      if token in vocab:
        raise DataFormatError(path, index + 1,
                              f"duplicate token {token!r} (first on line {vocab[token] + 1})")
      vocab[token] = index
  return vocab


def simplified_vocab(
    vocab: Mapping[str, int],
    startswith: Sequence[str] = (PAD, UNK, CLS, SEP),
) -> Tuple[dict, List[int]]:
  """bert4keras `load_vocab(simplified=True)`: drops tokens the tokenizer can never produce.

  Rule, exactly: the `startswith` tokens get new ids 0, 1, …; then every other token, in order of
  its original id, is kept unless `len(token) > 1` and its stem (the token without a leading
  '##') contains a CJK character or a punctuation character (`is_cjk_character`,
  `is_punctuation`). So single characters are always kept, while '##中', '##，', '[unused1]',
  '[MASK]' (not in `startswith`) and '...' are dropped. Since the pre-tokenizer isolates every
  CJK and punctuation character, tokenization is unchanged up to the id remapping.

  Args:
    vocab: token -> original id.
    startswith: tokens placed first, in this order (each must be in `vocab`).

  Returns:
    `(new_vocab, keep_tokens)`: new_vocab maps token -> new id (0..n-1) and
    `keep_tokens[new_id] == vocab[token]`, the row of the original embedding / MLM output to keep.
  """
  new_vocab, keep_tokens = {}, []
  for token in startswith:
    if token not in vocab:
      raise KeyError(f"startswith token {token!r} is not in the vocabulary")
    new_vocab[token] = len(new_vocab)
    keep_tokens.append(vocab[token])
  for token, index in sorted(vocab.items(), key=lambda item: item[1]):
    if token in new_vocab:
      continue
    stem = token[2:] if token.startswith("##") else token
    if len(token) > 1 and any(is_cjk_character(c) or is_punctuation(c) for c in stem):
      continue
    new_vocab[token] = len(new_vocab)
    keep_tokens.append(index)
  return new_vocab, keep_tokens


class Encoding(NamedTuple):
  """Output of `Tokenizer.encode`: three parallel lists of length L (L ≤ maxlen).

  ids: token ids `[CLS] first [SEP] (second [SEP])`.
  segment_ids: 0 for `[CLS] first [SEP]`, 1 for `second [SEP]`.
  offsets: `(start, end)` half-open character offsets into the original text of the token's own
    segment (`first` or `second`); `(0, 0)` for `[CLS]` and `[SEP]`.
  """
  ids: List[int]
  segment_ids: List[int]
  offsets: Offsets


def truncated_lengths(first_len: int, second_len: Optional[int], maxlen: int) -> Tuple[int, int]:
  """Lengths kept by bert4keras `truncate_sequences(maxlen, -2, first, second)`.

  Each length counts the segment's own `[CLS]` and `[SEP]`. While the total exceeds `maxlen`,
  bert4keras pops the token before the final `[SEP]` of the longest sequence (the first one on a
  tie). Closed form: if the longer one can absorb the whole excess while staying ≥ the shorter,
  only it shrinks, to `maxlen - shorter`; otherwise both end at `(maxlen // 2,
  maxlen - maxlen // 2)` (first, second).

  Args:
    first_len: tokens of `[CLS] first [SEP]`.
    second_len: tokens of `[CLS] second [SEP]`, or None for a single sequence (returns 0 for it).
    maxlen: total budget.
  """
  if second_len is None:
    return min(first_len, maxlen), 0
  if first_len + second_len <= maxlen:
    return first_len, second_len
  excess = first_len + second_len - maxlen
  if first_len >= second_len and first_len - excess >= second_len:
    return first_len - excess, second_len
  if second_len > first_len and second_len - excess >= first_len:
    return first_len, second_len - excess
  return maxlen // 2, maxlen - maxlen // 2


class Tokenizer:
  """BERT WordPiece tokenizer (HF `tokenizers` inside) with bert4keras's encode/decode.

  Attributes:
    vocab_size: number of tokens.
    pad_id, unk_id, cls_id, sep_id: ids of `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]` (required tokens).
    mask_id: id of `[MASK]`, or None when the vocabulary has none (a simplified vocabulary).
  """

  def __init__(self, vocab: Mapping[str, int], lowercase: bool = True):
    """Builds the tokenizer on `vocab` (token -> id, ids exactly 0..len-1).

    Args:
      vocab: e.g. `load_vocab(path)` or the first output of `simplified_vocab`.
      lowercase: lower-case and strip accents (BERT `do_lower_case`, bert4keras
        `do_lower_case=True`); use False only for cased vocabularies.
    """
    self._vocab = dict(vocab)
    self._inverse = [None] * len(self._vocab)
    for token, index in self._vocab.items():
      if not 0 <= index < len(self._inverse) or self._inverse[index] is not None:
        raise ValueError(f"vocabulary ids must be exactly 0..{len(self._vocab) - 1}; "
                         f"bad id {index} for {token!r}")
      self._inverse[index] = token
    for token in (PAD, UNK, CLS, SEP):
      if token not in self._vocab:
        raise ValueError(f"vocabulary has no {token}")
    self.vocab_size = len(self._vocab)
    self.pad_id, self.unk_id = self._vocab[PAD], self._vocab[UNK]
    self.cls_id, self.sep_id = self._vocab[CLS], self._vocab[SEP]
    self.mask_id = self._vocab.get(MASK)
    self.lowercase = lowercase
    hf = tokenizers.Tokenizer(models.WordPiece(
        self._vocab, unk_token=UNK, max_input_chars_per_word=_WORD_MAXLEN))
    hf.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase)
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    self._hf = hf

  @classmethod
  def from_vocab(cls, path: Union[str, os.PathLike], lowercase: bool = True) -> "Tokenizer":
    """Tokenizer over the `vocab.txt` at `path` (see `load_vocab`)."""
    return cls(load_vocab(path), lowercase=lowercase)

  def token_to_id(self, token: str) -> int:
    """Id of `token`, or `unk_id` when it is not in the vocabulary."""
    return self._vocab.get(token, self.unk_id)

  def id_to_token(self, index: int) -> str:
    """Token with id `index` (IndexError when out of range)."""
    if not 0 <= index < self.vocab_size:
      raise IndexError(f"token id {index} out of range [0, {self.vocab_size})")
    return self._inverse[index]

  def tokenize(self, text: str) -> List[str]:
    """WordPiece tokens of `text`, without `[CLS]`/`[SEP]`."""
    return self._hf.encode(text, add_special_tokens=False).tokens

  def encode(self, first: str, second: Optional[str] = None,
             maxlen: Optional[int] = None) -> Encoding:
    """bert4keras `Tokenizer.encode(first, second, maxlen)` (pattern 'S*E*E'), plus offsets.

    Single text: `[CLS] first [SEP]`, cut to at most `maxlen` tokens by dropping trailing tokens
    of `first`. Pair: `[CLS] first [SEP] second [SEP]`, segments 0…0 1…1. With `maxlen`,
    truncation is bert4keras's longest-first: on the two sequences `[CLS] first [SEP]` and
    `[CLS] second [SEP]` with budget `maxlen + 1` (the second `[CLS]` is dropped afterwards, so
    `maxlen` bounds the output length), repeatedly drop the last content token of the currently
    longer one (the first on a tie); see `truncated_lengths`.

    Args:
      first: text of segment 0.
      second: optional text of segment 1.
      maxlen: maximum output length including `[CLS]`/`[SEP]`s (≥ 2 single, ≥ 3 pair).

    Returns:
      `Encoding(ids, segment_ids, offsets)`.
    """
    first_enc = self._hf.encode(first, add_special_tokens=False)
    second_enc = None if second is None else self._hf.encode(second, add_special_tokens=False)
    return self._assemble(first_enc, second_enc, maxlen)

  def encode_batch(self, texts: Iterable[str], maxlen: Optional[int] = None) -> List[Encoding]:
    """`[encode(t, maxlen=maxlen) for t in texts]`, tokenized in parallel by `tokenizers`."""
    return [self._assemble(enc, None, maxlen)
            for enc in self._hf.encode_batch(list(texts), add_special_tokens=False)]

  def _assemble(self, first_enc, second_enc, maxlen: Optional[int]) -> Encoding:
    """Adds `[CLS]`/`[SEP]`, truncates as bert4keras and concatenates (see `encode`)."""
    first_len = len(first_enc.ids) + 2
    second_len = None if second_enc is None else len(second_enc.ids) + 2
    if maxlen is not None:
      min_len = 2 if second_enc is None else 3
      if maxlen < min_len:
        raise ValueError(f"maxlen must be >= {min_len} to hold [CLS]/[SEP], got {maxlen}")
      budget = maxlen if second_enc is None else maxlen + 1
      first_len, second_len = truncated_lengths(first_len, second_len, budget)
    n = first_len - 2
    ids = [self.cls_id] + first_enc.ids[:n] + [self.sep_id]
    offsets = [(0, 0)] + first_enc.offsets[:n] + [(0, 0)]
    segment_ids = [0] * len(ids)
    if second_enc is not None:
      m = second_len - 2
      ids += second_enc.ids[:m] + [self.sep_id]
      offsets += second_enc.offsets[:m] + [(0, 0)]
      segment_ids += [1] * (m + 1)
    return Encoding(ids, segment_ids, offsets)

  def decode(self, ids: Iterable[int]) -> str:
    """Readable text from ids, as bert4keras `Tokenizer.decode`.

    Tokens of the form `[...]` (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`, `[unused*]`) are
    dropped. Then, token by token: a '##' piece is appended without its '##'; a single CJK
    character is appended; a single punctuation character is appended followed by a space; a
    token following a CJK character is appended directly; anything else is appended after a
    space. Finally runs of spaces collapse, "' s " → "'s " (also re, m, t, ve, d, ll), the space
    after CJK punctuation and after '+-/={(<[' is removed, "3. 5" → "3.5", and the ends stripped.
    """
    tokens = [self.id_to_token(i) for i in ids]
    text = ""
    for token in tokens:
      if token and token[0] == "[" and token[-1] == "]":
        continue
      if token.startswith("##"):
        text += token[2:]
      elif len(token) == 1 and is_cjk_character(token):
        text += token
      elif len(token) == 1 and is_punctuation(token):
        text += token + " "
      elif text and is_cjk_character(text[-1]):
        text += token
      else:
        text += " " + token
    text = _SPACES_RE.sub(" ", text)
    text = _APOSTROPHE_RE.sub(r"'\1 ", text)
    text = _NO_SPACE_AFTER_RE.sub(r"\1", text)
    text = _DECIMAL_RE.sub(r"\1\2", text)
    return text.strip()
