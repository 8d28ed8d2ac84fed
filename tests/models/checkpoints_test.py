"""Checkpoint converters: name accounting (missing/unknown/ignorable), keep_tokens, file loaders.

Numerical parity with HF on real and random weights is in bert_reference_test.py; here the
reference is a tiny random `Bert` whose params are exported to HF names by code written in the test.
"""
import importlib.util
import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp.models import Bert
from flaxnlp.models import BertConfig
from flaxnlp.models import checkpoints

TINY = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=24, max_position_embeddings=20)


def _random_params(model, seed=0):
  """Random params without compiling `init` (XLA's RNG makes that slow): N(0, 0.1), scales 1 + N."""
  boxed = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.ones((1, 4), jnp.int32))
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    x = rng.normal(0.0, 0.1, leaf.shape).astype(np.float32)
    return jnp.asarray(x + 1.0 if path[-1].key == "scale" else x)

  return jax.tree_util.tree_map_with_path(draw, nn.unbox(boxed["params"]))


@pytest.fixture(scope="module")
def tiny_params():
  return jax.tree.map(np.asarray, _random_params(Bert(TINY, mlm_head=True, pooler=True)))


def _to_hf(params, prefix="bert."):
  """Exports `Bert` params to an HF BertForMaskedLM-style state dict (numpy), test-side code."""
  p = jax.tree.map(np.asarray, params)
  d = TINY.hidden_size
  sd = {
      f"{prefix}embeddings.word_embeddings.weight": p["embeddings"]["word_embeddings"]["embedding"],
      f"{prefix}embeddings.position_embeddings.weight":
          p["embeddings"]["position_embeddings"]["embedding"],
      f"{prefix}embeddings.token_type_embeddings.weight":
          p["embeddings"]["token_type_embeddings"]["embedding"],
      f"{prefix}embeddings.LayerNorm.weight": p["embeddings"]["layer_norm"]["scale"],
      f"{prefix}embeddings.LayerNorm.bias": p["embeddings"]["layer_norm"]["bias"],
      f"{prefix}embeddings.position_ids": np.arange(TINY.max_position_embeddings)[None],
      f"{prefix}pooler.dense.weight": p["pooler_dense"]["kernel"].T,
      f"{prefix}pooler.dense.bias": p["pooler_dense"]["bias"],
      "cls.predictions.transform.dense.weight": p["mlm_dense"]["kernel"].T,
      "cls.predictions.transform.dense.bias": p["mlm_dense"]["bias"],
      "cls.predictions.transform.LayerNorm.weight": p["mlm_norm"]["scale"],
      "cls.predictions.transform.LayerNorm.bias": p["mlm_norm"]["bias"],
      "cls.predictions.bias": p["mlm_bias"],
      "cls.predictions.decoder.weight": p["embeddings"]["word_embeddings"]["embedding"],
      "cls.predictions.decoder.bias": p["mlm_bias"],
  }
  for i in range(TINY.num_hidden_layers):
    lp, hp = p[f"layers_{i}"], f"{prefix}encoder.layer.{i}."
    for proj in ("query", "key", "value"):
      sd[f"{hp}attention.self.{proj}.weight"] = lp["attention"][proj]["kernel"].reshape(d, d).T
      sd[f"{hp}attention.self.{proj}.bias"] = lp["attention"][proj]["bias"].reshape(d)
    sd[f"{hp}attention.output.dense.weight"] = lp["attention"]["output"]["kernel"].reshape(d, d).T
    sd[f"{hp}attention.output.dense.bias"] = lp["attention"]["output"]["bias"]
    sd[f"{hp}attention.output.LayerNorm.weight"] = lp["attention_norm"]["scale"]
    sd[f"{hp}attention.output.LayerNorm.bias"] = lp["attention_norm"]["bias"]
    sd[f"{hp}intermediate.dense.weight"] = lp["intermediate"]["kernel"].T
    sd[f"{hp}intermediate.dense.bias"] = lp["intermediate"]["bias"]
    sd[f"{hp}output.dense.weight"] = lp["output"]["kernel"].T
    sd[f"{hp}output.dense.bias"] = lp["output"]["bias"]
    sd[f"{hp}output.LayerNorm.weight"] = lp["output_norm"]["scale"]
    sd[f"{hp}output.LayerNorm.bias"] = lp["output_norm"]["bias"]
  return sd


def _assert_trees_equal(a, b):
  assert jax.tree.structure(a) == jax.tree.structure(b)
  jax.tree.map(lambda x, y: np.testing.assert_array_equal(np.asarray(x), np.asarray(y)), a, b)


@pytest.mark.parametrize("prefix", ["bert.", ""])
def test_hf_round_trip(tiny_params, prefix):
  sd = _to_hf(tiny_params, prefix)
  sd["cls.seq_relationship.weight"] = np.zeros((2, TINY.hidden_size))   # BertForPreTraining
  sd["cls.seq_relationship.bias"] = np.zeros(2)
  _assert_trees_equal(checkpoints.load_hf_state_dict(sd, TINY), tiny_params)


def test_heads_can_be_dropped_or_required(tiny_params):
  sd = _to_hf(tiny_params)
  bare = checkpoints.load_hf_state_dict(sd, TINY, mlm_head=False, pooler=False)
  assert set(bare) == {"embeddings", "layers_0", "layers_1"}
  no_pooler = {k: v for k, v in sd.items() if "pooler" not in k}
  with pytest.raises(ValueError, match=r"missing weights: \['bert/pooler/dense/bias'"):
    checkpoints.load_hf_state_dict(no_pooler, TINY, pooler=True)
  assert "pooler_dense" not in checkpoints.load_hf_state_dict(no_pooler, TINY)


def test_missing_unknown_and_misshaped_names_are_listed(tiny_params):
  sd = _to_hf(tiny_params)
  del sd["bert.encoder.layer.1.output.dense.bias"]
  sd["bert.encoder.layer.0.attention.self.rotary.weight"] = np.zeros(3)
  with pytest.raises(ValueError) as e:
    checkpoints.load_hf_state_dict(sd, TINY)
  assert "bert.encoder.layer.0.attention.self.rotary.weight" in str(e.value)
  variables = checkpoints.hf_to_google_names(_to_hf(tiny_params))
  del variables["bert/encoder/layer_1/output/dense/bias"]
  variables["bert/encoder/layer_2/output/dense/bias"] = np.zeros(16)
  variables["bert/embeddings/word_embeddings"] = np.zeros((31, 16))
  variables["bert/encoder/layer_0/output/dense/kernel/adam_m"] = np.zeros((24, 16))  # ignorable
  with pytest.raises(ValueError) as e:
    checkpoints.load_google_variables(variables, TINY)
  message = str(e.value)
  assert "missing weights: ['bert/encoder/layer_1/output/dense/bias']" in message
  assert "unknown variables: ['bert/encoder/layer_2/output/dense/bias']" in message
  assert "bert/embeddings/word_embeddings: (31, 16) != expected (30, 16)" in message
  assert "adam_m" not in message


def test_keep_tokens_slices_embeddings_and_output_bias(tiny_params):
  keep = [0, 3, 7, 2, 29]
  sliced = checkpoints.keep_tokens_params(tiny_params, keep)
  emb = np.asarray(tiny_params["embeddings"]["word_embeddings"]["embedding"])
  np.testing.assert_array_equal(sliced["embeddings"]["word_embeddings"]["embedding"],
                                np.stack([emb[i] for i in keep]))
  np.testing.assert_array_equal(sliced["mlm_bias"],
                                [np.asarray(tiny_params["mlm_bias"])[i] for i in keep])
  same = checkpoints.load_hf_state_dict(_to_hf(tiny_params), TINY, keep_tokens=keep)
  _assert_trees_equal(same, sliced)
  with pytest.raises(ValueError, match="keep_tokens"):
    checkpoints.keep_tokens_params(tiny_params, [0, 30])


def test_load_pretrained_safetensors_and_torch_bin(tiny_params, tmp_path):
  from safetensors.numpy import save_file  # pylint: disable=g-import-not-at-top
  hf_config = {k: v for k, v in TINY.__dict__.items() if k not in ("dtype", "remat")}
  hf_config.update(architectures=["BertForMaskedLM"], model_type="bert", pad_token_id=0)
  sd = {k: np.ascontiguousarray(v, dtype=np.int64 if "position_ids" in k else np.float32)
        for k, v in _to_hf(tiny_params).items()}
  (tmp_path / "st").mkdir()
  (tmp_path / "st" / "config.json").write_text(json.dumps(hf_config))
  save_file(sd, str(tmp_path / "st" / "model.safetensors"))
  config, params = checkpoints.load_pretrained(tmp_path / "st", keep_tokens=[0, 1, 5],
                                               dtype="bfloat16")
  assert (config.vocab_size, config.dtype, config.hidden_size) == (3, "bfloat16", 16)
  assert params["embeddings"]["word_embeddings"]["embedding"].shape == (3, 16)
  import torch  # pylint: disable=g-import-not-at-top  # requirements-test.txt: no skip
  (tmp_path / "pt").mkdir()
  (tmp_path / "pt" / "config.json").write_text(json.dumps(hf_config))
  torch.save({k: torch.tensor(v) for k, v in sd.items()}, tmp_path / "pt" / "pytorch_model.bin")
  config, params = checkpoints.load_pretrained(tmp_path / "pt")
  assert config == TINY
  _assert_trees_equal(params, tiny_params)


def test_missing_files_and_tensorflow_are_clear_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match="config.json"):
    checkpoints.load_pretrained(tmp_path)
  (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 16, "num_attention_heads": 2}))
  with pytest.raises(FileNotFoundError, match="model.safetensors"):
    checkpoints.load_pretrained(tmp_path)
  if importlib.util.find_spec("tensorflow") is not None:
    pytest.skip("TensorFlow is installed; the no-TF error path cannot be exercised")
  with pytest.raises(RuntimeError, match="pip install tensorflow-cpu"):
    checkpoints.read_tf_checkpoint(tmp_path / "bert_model.ckpt")
