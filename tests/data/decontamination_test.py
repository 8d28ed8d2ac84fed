"""Decontamination of the pretraining stream, against references written here.

The references normalise text themselves (casefold, then NFKC, whitespace dropped with a regular
expression) and search with plain substring tests (`brute_force_kept`) or an anchored scan
(`leaks`), never the hashed n-gram sets of `flaxnlp.data.decontamination`. The hand-made cases
each reproduce one way a per-document check leaks: full-width / upper-case variants,
an evaluated sentence cut into short consecutive documents, a short document inside a longer
evaluated text, and neighbours that meet once the document between them is dropped.
"""
import re
import unicodedata

import numpy as np
import pytest

from flaxnlp.data import corpus
from flaxnlp.data import decontamination
from flaxnlp.tasks import corpus_sources


def own_normalize(text):
  return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text.casefold()))


def brute_force_kept(documents, eval_texts, window, min_chars):
  """The drop rules by substring search, repeated until the kept stream is clean."""
  docs = [own_normalize(d) for d in documents]
  evals = [own_normalize(e) for e in eval_texts]
  short = {e for e in evals if min_chars <= len(e) < window}
  kept = [not (min_chars <= len(d) < window and any(d in e for e in evals)) for d in docs]
  while True:
    order = [i for i, keep in enumerate(kept) if keep]
    stream = "".join(docs[i] for i in order)
    owner = [k for k, i in enumerate(order) for _ in docs[i]]
    hit = set()
    for p in range(len(stream)):
      for n in range(min_chars, window + 1):
        piece = stream[p:p + n]
        if len(piece) == n and (piece in short or
                                (n == window and any(piece in e for e in evals))):
          hit.update(owner[p:p + n])
    if not hit:
      return kept
    for k in hit:
      kept[order[k]] = False


def keep(documents, eval_texts, window=32, min_chars=10):
  index = decontamination.EvalIndex(eval_texts, window, min_chars)
  return list(decontamination.decontaminate(documents, index))


def test_normalize_hand_worked():
  assert decontamination.normalize(" Ｂ组 ２１世纪\u3000ＡＢＣ\n ﬁ ") == "b组21世纪abcfi"


SENTENCE = "国家主席江泽民发表了一九九八年新年讲话迈向充满希望的新世纪"  # 29 characters
LONG = SENTENCE + "，全国各族人民共同努力"                                # 40


def test_full_width_and_upper_case_variants_are_dropped():
  assert keep(["Ｂ组第一名是中国队，第二名是日本队。"], ["b组第一名是中国队，第二名"]) == [False]
  assert keep(["迈向２１世纪的ＣＨＩＮＡ，人民日报评论员文章说到了这些。"],
              ["迈向21世纪的china，人民日报评论员文章说到了"]) == [False]


def test_sentence_cut_into_short_consecutive_documents_is_dropped():
  pieces = [LONG[i:i + 8] for i in range(0, 40, 8)]          # five documents of 8 characters
  documents = ["今天天气很好。"] + pieces + ["我们去公园散步吧。"]
  assert all(len(p) < 10 for p in pieces)
  assert keep(documents, [LONG]) == [True] + [False] * 5 + [True]
  assert keep(documents, [SENTENCE]) == [True, False, False, False, False, True, True]


def test_short_document_inside_a_longer_evaluated_text_is_dropped():
  documents = ["江泽民发表了一九九八年新年讲话", "迈向充满希望的新世", "一九九八年新年讲话迈向"]
  # 15 characters: inside; 9 characters: too short to count; 11: inside.
  assert keep(documents, [LONG]) == [False, True, False]


def test_neighbours_that_meet_after_a_drop_are_checked_again():
  other = "各族人民共同努力建设社会主义现代化国家"                  # 19 characters
  documents = [SENTENCE[:6], other + "，", SENTENCE[6:12]]        # 6 + 20 + 6 characters
  assert keep(documents, [SENTENCE[:12]]) == [True, True, True]
  assert keep(documents, [SENTENCE[:12], other]) == [False, False, False]


@pytest.mark.parametrize("seed", range(6))
def test_equals_brute_force_on_random_text(seed):
  rng = np.random.default_rng(seed)
  letters = np.array(list("ab甲乙Ａ "))

  def text(n):
    return "".join(rng.choice(letters, n))

  eval_texts = [text(rng.integers(3, 14)) for _ in range(12)]
  documents = [text(rng.integers(0, 7)) for _ in range(40)]
  documents[5:8] = [eval_texts[0][:4], eval_texts[0][4:], eval_texts[1].upper()]
  ours = keep(documents, eval_texts, window=6, min_chars=3)
  assert ours == brute_force_kept(documents, eval_texts, window=6, min_chars=3)
  assert 0 < sum(ours) < len(ours)


def brute_force_shared(eval_texts, documents, window, min_chars):
  docs = [own_normalize(d) for d in documents]
  stream = "".join(docs)
  out = []
  for e in map(own_normalize, eval_texts):
    windows = (e[i:i + window] for i in range(len(e) - window + 1))
    out.append(any(w in stream for w in windows)
               or (min_chars <= len(e) < window and e in stream)
               or any(min_chars <= len(d) < window and d in e for d in docs))
  return out


@pytest.mark.parametrize("seed", range(4))
def test_shared_eval_texts_equals_brute_force(seed):
  rng = np.random.default_rng(100 + seed)
  letters = np.array(list("abc甲 "))
  eval_texts = ["".join(rng.choice(letters, rng.integers(2, 12))) for _ in range(30)]
  documents = ["".join(rng.choice(letters, rng.integers(0, 8))) for _ in range(20)]
  ours = list(decontamination.shared_eval_texts(eval_texts, documents, window=6, min_chars=4))
  assert ours == brute_force_shared(eval_texts, documents, window=6, min_chars=4)
  assert 0 < sum(ours) < len(ours)


def leaks(stream_docs, eval_texts, window=32, min_chars=10, anchor=16):
  """Violations: (eval text, what) for a `window` characters shared with the joined stream, an
  evaluated text of `min_chars`+ characters inside it, or a `min_chars`..`window - 1`-character
  document inside an evaluated text.

  A shared window of an evaluated text contains one of its `anchor`-grams that start at a multiple
  of `anchor` (anchor ≤ window / 2); each such anchor found in the stream is extended both ways.
  """
  docs = [own_normalize(d) for d in stream_docs]
  stream = "".join(docs)
  evals = [own_normalize(e) for e in eval_texts]
  anchors, prefixes, short_docs = {}, {}, {}
  for t, e in enumerate(evals):
    for a in range(0, len(e) - anchor + 1, anchor):
      anchors.setdefault(e[a:a + anchor], []).append((t, a))
    if len(e) >= min_chars:
      prefixes.setdefault(e[:min_chars], set()).add(e)
  for d in docs:
    if min_chars <= len(d) < window:
      short_docs.setdefault(d[:min_chars], set()).add(d)
  found = []
  for j in range(len(stream)):
    for t, a in anchors.get(stream[j:j + anchor], ()):
      e, left, right = evals[t], 0, anchor
      while left < min(j, a) and stream[j - left - 1] == e[a - left - 1]:
        left += 1
      while (j + right < len(stream) and a + right < len(e)
             and stream[j + right] == e[a + right]):
        right += 1
      if left + right >= window:
        found.append((e, "window"))
    found += [(e, "inside the stream") for e in prefixes.get(stream[j:j + min_chars], ())
              if stream.startswith(e, j)]
  for e in evals:
    for p in range(len(e) - min_chars + 1):
      found += [(e, f"contains document {d}") for d in short_docs.get(e[p:p + min_chars], ())
                if e.startswith(d, p)]
  return found


def test_leaks_reference_finds_each_kind():
  docs = ["无关的文字", SENTENCE[:20], SENTENCE[20:] + "之后", "一九九八年新年讲话迈向"]
  found = leaks(docs, [LONG, "文字国家主席江泽民发表"], window=24, anchor=12)
  assert {what for _, what in found} == {
      "window", "inside the stream", f"contains document {SENTENCE[:20]}",
      "contains document 一九九八年新年讲话迈向"}
  assert leaks(["江泽民发表了一九", "无关"], [LONG]) == []


@pytest.mark.slow
def test_kept_stream_shares_nothing_with_any_evaluated_set():
  """The whole default corpus against every evaluated set, in full (46 s of CPU)."""
  missing = corpus_sources.missing_eval_files()
  if missing:
    pytest.skip(f"the shared evaluation data (../shared/data, or FLAXNLP_SHARED_DATA) lacks "
                f"{len(missing)} evaluated files, e.g. {missing[0]}: nothing to check the corpus "
                f"against")
  sets = corpus_sources.eval_sets()
  assert set(sets) == set(corpus_sources.EVALUATED)
  eval_texts = [t for texts in sets.values() for t in texts]
  streams, stats = corpus.clean_streams(corpus_sources.sources(), eval_texts)
  assert sum(s["contaminated"] for s in stats.values()) > 1000
  for split, docs in streams.items():
    assert leaks([text for _, text in docs], eval_texts)[:5] == [], split


def test_command_dumps_kept_and_evaluated_texts(tmp_path, monkeypatch, capsys):
  documents = ["今天天气很好。", LONG[:8], LONG[8:16] + "\n", "我们去公园 散步吧。"]
  monkeypatch.setattr(corpus_sources, "sources", lambda: {"toy": lambda: documents})
  monkeypatch.setattr(corpus_sources, "EVALUATED", {
      "toy_eval": corpus_sources.EvalSet(None, lambda _: [LONG[:14], "短句。"])})
  kept, evaluated = tmp_path / "kept.txt", tmp_path / "eval.txt"
  assert corpus_sources.main(["--dump", str(kept), "--dump-eval", str(evaluated)]) == 0
  assert kept.read_text(encoding="utf-8") == "今天天气很好。\n我们去公园 散步吧。\n"
  assert evaluated.read_text(encoding="utf-8") == LONG[:14] + "\n短句。\n"
  assert "| toy | 4 | 0 | 2 | 2 |" in capsys.readouterr().out
  assert corpus_sources.main(["--overlap", str(kept)]) == 0
  assert "| toy_eval | 2 | 0 |" in capsys.readouterr().out


def test_command_refuses_bad_paths_before_any_work(tmp_path, monkeypatch, capsys):
  assert corpus_sources.main(["--dump", str(tmp_path / "no" / "kept.txt"),
                              "--overlap", str(tmp_path / "absent.txt")]) == 2
  err = capsys.readouterr().err
  assert f"{tmp_path / 'no'}: no such folder" in err
  assert "absent.txt: no such file (write one with --dump)" in err
  assert corpus_sources.main(["--dump-eval", str(tmp_path)]) == 2
  assert "is a folder, not a file name" in capsys.readouterr().err
  monkeypatch.setenv("FLAXNLP_SHARED_DATA", str(tmp_path))
  assert corpus_sources.main(["--dump-eval", str(tmp_path / "eval.txt")]) == 2
  assert "people_daily_ner/example.dev: evaluation file missing" in capsys.readouterr().err
  assert not (tmp_path / "eval.txt").exists()
  with pytest.raises(SystemExit, match="2"):
    corpus_sources.main([])
