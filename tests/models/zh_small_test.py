"""The shipped encoder `weights/zh-small`: its layout, HF parity, and that it learned Chinese.

References: HF transformers `RoFormerForMaskedLM` loading the folder itself (in float32, the
dtype flaxnlp computes in), and masked-token accuracy on MSRA test sentences, which the
pretraining corpus excludes by content (`flaxnlp.tasks.corpus_sources`), against the best
constant guess on the same masked positions.
"""
import numpy as np
import pytest
import torch
import transformers

from flaxnlp import configs
from flaxnlp import paths
from flaxnlp.data import formats
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.models import Bert
from flaxnlp.models import checkpoints
from model_testing import apply_jitted

WEIGHTS = paths.zh_small_dir()


@pytest.fixture(scope="module")
def zh_small():
  return checkpoints.load_pretrained(WEIGHTS, mlm_head=True)


@pytest.fixture(scope="module")
def msra_batch():
  """200 MSRA test sentences as a padded [200, ≤128] id batch, and a seeded 15% mask."""
  tokenizer = Tokenizer.from_vocab(WEIGHTS / "vocab.txt")
  texts = [ex.text for ex in formats.read_msra("test").examples[:200]]
  rows = [tokenizer.encode(text, maxlen=128).ids for text in texts]
  ids = np.zeros((len(rows), max(map(len, rows))), np.int32)
  for k, row in enumerate(rows):
    ids[k, :len(row)] = row
  content = ids > tokenizer.token_to_id("[SEP]")   # ids ≤ 102: [PAD], [unused*], [UNK], [CLS], [SEP]
  masked = content & (np.random.default_rng(0).random(ids.shape) < 0.15)
  inputs = np.where(masked, tokenizer.token_to_id("[MASK]"), ids)
  return ids, inputs, masked


def test_folder_is_the_small_roformer_preset_under_40_mb(zh_small):
  config, params = zh_small
  preset = configs.encoder("small", architecture="roformer")
  assert config.architecture == "roformer"
  for field in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size"):
    assert getattr(config, field) == preset[field], field
  assert "mlm_bias" in params
  vocab = (WEIGHTS / "vocab.txt").read_text(encoding="utf-8")
  assert vocab == paths.chinese_bert_vocab().read_text(encoding="utf-8")
  assert sum(f.stat().st_size for f in WEIGHTS.iterdir()) < 40 * 2**20


def test_hf_roformer_loads_the_folder_and_agrees(zh_small, msra_batch):
  config, params = zh_small
  ids = msra_batch[1][:8]
  hf = transformers.RoFormerForMaskedLM.from_pretrained(WEIGHTS, dtype=torch.float32).eval()
  with torch.no_grad():
    theirs = hf(input_ids=torch.tensor(ids, dtype=torch.long),
                attention_mask=torch.tensor(ids != 0)).logits.numpy()
  ours = np.asarray(apply_jitted(Bert(config, mlm_head=True), {"params": params}, ids,
                                 np.zeros_like(ids)).mlm_logits)
  real = ids != 0
  np.testing.assert_allclose(ours[real], theirs[real], atol=2e-4, rtol=1e-4)


def test_predicts_masked_characters_of_unseen_text(zh_small, msra_batch):
  config, params = zh_small
  ids, inputs, masked = msra_batch
  logits = apply_jitted(Bert(config, mlm_head=True), {"params": params}, inputs,
                        np.zeros_like(inputs)).mlm_logits
  accuracy = float(np.mean(np.asarray(logits).argmax(-1)[masked] == ids[masked]))
  constant_guess = np.bincount(ids[masked]).max() / masked.sum()   # the best single token
  assert masked.sum() > 1000
  assert accuracy > 0.3 and accuracy > 4 * constant_guess, (accuracy, constant_guess)
