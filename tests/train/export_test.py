"""`checkpoints.save_pretrained`: HF `transformers` reads the exported folder and matches flaxnlp.

The reference is HF `BertForMaskedLM.from_pretrained` (torch CPU) on the written files: its MLM
logits must equal flaxnlp's to 1e-4, so the export is portable, not private.
"""
import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import torch
import transformers

from flaxnlp import paths
from flaxnlp.models import Bert, BertConfig, RoFormerConfig, checkpoints

CONFIG = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=48, max_position_embeddings=40)


def _random_params(pooler=False, config=CONFIG):
  ids = jnp.ones((1, 8), jnp.int32)
  params = Bert(config, mlm_head=True, pooler=pooler).init(jax.random.key(3), ids)["params"]
  # Non-trivial values everywhere (biases and LayerNorm offsets start at zero / one).
  leaves, tree = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(4), len(leaves))
  return jax.tree.unflatten(tree, [x + 0.1 * jax.random.normal(k, x.shape)
                                   for x, k in zip(leaves, keys)])


def _batch():
  rng = np.random.default_rng(0)
  ids = rng.integers(1, CONFIG.vocab_size, (3, 11)).astype(np.int64)
  ids[1, 7:] = 0  # padding
  segments = (np.arange(11) >= 5).astype(np.int64)[None].repeat(3, 0)
  return ids, segments


def _assert_hf_logits_match(hf_class, folder, config, params):
  """`hf_class.from_pretrained(folder)`'s MLM logits equal flaxnlp's to 1e-4 on real tokens."""
  ids, segments = _batch()
  model = hf_class.from_pretrained(str(folder)).eval()
  with torch.no_grad():
    theirs = model(input_ids=torch.tensor(ids), token_type_ids=torch.tensor(segments),
                   attention_mask=torch.tensor(ids != 0)).logits.numpy()
  ours = Bert(config, mlm_head=True).apply({"params": params}, jnp.asarray(ids, jnp.int32),
                                           jnp.asarray(segments, jnp.int32)).mlm_logits
  real = ids != 0
  np.testing.assert_allclose(np.asarray(ours)[real], theirs[real], atol=1e-4, rtol=1e-4)


def test_transformers_reads_the_export_and_matches_flaxnlp_logits(tmp_path):
  params = nn.unbox(_random_params())
  checkpoints.save_pretrained(tmp_path, CONFIG, params, vocab=paths.chinese_bert_vocab())
  assert (tmp_path / "vocab.txt").read_text() == paths.chinese_bert_vocab().read_text()
  assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
  _assert_hf_logits_match(transformers.BertForMaskedLM, tmp_path, CONFIG, params)


def test_load_pretrained_inverts_save_pretrained(tmp_path):
  params = nn.unbox(_random_params(pooler=True))
  checkpoints.save_pretrained(tmp_path, CONFIG, params)
  config, loaded = checkpoints.load_pretrained(tmp_path)
  assert config == CONFIG
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
               params, loaded)


def test_half_precision_storage_rounds_each_weight_once(tmp_path):
  params = nn.unbox(_random_params())
  checkpoints.save_pretrained(tmp_path, CONFIG, params, dtype="float16")
  assert (tmp_path / "model.safetensors").stat().st_size < 0.6 * 4 * sum(
      x.size for x in jax.tree.leaves(params))
  _, loaded = checkpoints.load_pretrained(tmp_path)
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(
      np.asarray(a).astype(np.float16).astype(np.float32), np.asarray(b)), params, loaded)



def test_roformer_export_is_read_by_transformers_roformer_for_masked_lm(tmp_path):
  """RoFormer (v1, with E ≠ D so `embeddings_project` is written too) → HF RoFormerForMaskedLM."""
  config = RoFormerConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                          intermediate_size=48, max_position_embeddings=40, embedding_size=24)
  params = nn.unbox(_random_params(config=config))
  checkpoints.save_pretrained(tmp_path, config, params)
  hf_config = json.loads((tmp_path / "config.json").read_text())
  assert (hf_config["architectures"], hf_config["model_type"]) == (["RoFormerForMaskedLM"],
                                                                   "roformer")
  _assert_hf_logits_match(transformers.RoFormerForMaskedLM, tmp_path, config, params)
  loaded_config, loaded = checkpoints.load_pretrained(tmp_path)
  assert loaded_config == config
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
               params, loaded)
