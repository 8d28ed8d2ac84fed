"""The shipped encoder `weights/zh-small`: it loads, HF `transformers` reads the same model, and it
fills masked characters of text it never saw.

The unseen text is the MSRA NER test set: every pretraining document sharing a 32-character window
with it (or containing one of its sentences) was dropped from the corpus
(`flaxnlp.tasks.corpus_sources.eval_texts`), so predicting its masked characters is a held-out
measurement. The reference for "learned something" is the best a model without context can do:
always predicting the most frequent character of the test sentences themselves.
"""
import collections

import jax
import jax.numpy as jnp
import numpy as np
import torch
import transformers

from flaxnlp import configs, paths
from flaxnlp.data import formats
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.models import Bert, checkpoints


def _masked_sentences(tokenizer, count=200, length=64, rate=0.15, seed=0):
  """(token ids [B, L] with 15% of the characters → [MASK], targets [B, L] (-1 = not masked))."""
  rng = np.random.default_rng(seed)
  texts = [ex.text for ex in formats.read_msra("test").examples if len(ex.text) >= 20][:count]
  ids = np.zeros((len(texts), length), np.int32)
  targets = np.full((len(texts), length), -1, np.int32)
  for i, text in enumerate(texts):
    tokens = tokenizer.encode(text, maxlen=length).ids
    ids[i, :len(tokens)] = tokens
    chosen = rng.choice(np.arange(1, len(tokens) - 1), max(1, round(rate * (len(tokens) - 2))),
                        replace=False)
    targets[i, chosen] = ids[i, chosen]
    ids[i, chosen] = tokenizer.mask_id
  return ids, targets


def test_zh_small_has_the_small_preset_shape_and_an_mlm_head():
  config, params = checkpoints.load_pretrained(paths.zh_small_dir())
  assert {k: getattr(config, k) for k in configs.ENCODER_SIZES["small"]} == (
      configs.ENCODER_SIZES["small"])
  assert config.vocab_size == 21128 and "mlm_bias" in params
  n = sum(x.size for x in jax.tree.leaves(params))
  assert 8e6 < n < 12e6
  assert (paths.zh_small_dir() / "vocab.txt").read_text() == paths.chinese_bert_vocab().read_text()


def test_transformers_reads_zh_small_with_the_same_logits():
  config, params = checkpoints.load_pretrained(paths.zh_small_dir())
  ids, _ = _masked_sentences(Tokenizer.from_vocab(paths.zh_small_dir() / "vocab.txt"), count=4)
  model = transformers.BertForMaskedLM.from_pretrained(str(paths.zh_small_dir()),
                                                       torch_dtype=torch.float32).eval()
  with torch.no_grad():
    theirs = model(input_ids=torch.tensor(ids, dtype=torch.long),
                   attention_mask=torch.tensor(ids != 0)).logits.numpy()
  ours = Bert(config, mlm_head=True).apply({"params": params}, jnp.asarray(ids)).mlm_logits
  real = ids != 0
  np.testing.assert_allclose(np.asarray(ours)[real], theirs[real], atol=2e-3, rtol=1e-3)


def test_zh_small_fills_masks_in_text_it_never_saw():
  config, params = checkpoints.load_pretrained(paths.zh_small_dir())
  tokenizer = Tokenizer.from_vocab(paths.zh_small_dir() / "vocab.txt")
  ids, targets = _masked_sentences(tokenizer)
  logits = jax.jit(lambda p, x: Bert(config, mlm_head=True).apply({"params": p}, x).mlm_logits)(
      params, jnp.asarray(ids))
  masked = targets >= 0
  accuracy = float(np.mean(np.asarray(logits).argmax(-1)[masked] == targets[masked]))
  most_frequent, count = collections.Counter(targets[masked].tolist()).most_common(1)[0]
  context_free = count / masked.sum()
  assert most_frequent != tokenizer.mask_id
  assert context_free < 0.1
  assert accuracy > 0.3 and accuracy > 4 * context_free, (accuracy, context_free)
