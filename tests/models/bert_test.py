"""Unit tests of `Bert`: masking semantics, dtype, remat, perturbations, config, KV cache."""
import dataclasses
import functools
import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from model_testing import apply_jitted, random_params

from flaxnlp import configs
from flaxnlp.models import Bert
from flaxnlp.models import BertConfig
from flaxnlp.models import bert as bert_lib

TINY = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=48, max_position_embeddings=40)


@functools.lru_cache(maxsize=None)
def _init(config, mlm_head, pooler):
  return random_params(Bert(config, mlm_head=mlm_head, pooler=pooler))


def _params(config=TINY, mlm_head=False, pooler=False):
  return Bert(config, mlm_head=mlm_head, pooler=pooler), _init(config, mlm_head, pooler)


def _batch():
  ids = np.array([[2, 17, 33, 41, 3, 25, 9, 3], [2, 5, 6, 3, 11, 3, 0, 0]])
  seg = np.array([[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1, 0, 0]])
  return ids, seg


@pytest.mark.parametrize("attention", ["bidirectional", "unilm", "causal"])
def test_padding_does_not_change_real_positions(attention):
  model, params = _params(mlm_head=True)
  ids, seg = _batch()
  short = apply_jitted(model, {"params": params}, ids[1:, :6], seg[1:, :6], attention=attention)
  padded = apply_jitted(model, {"params": params}, np.pad(ids[1:], ((0, 0), (0, 5))),
                       np.pad(seg[1:], ((0, 0), (0, 5))), attention=attention)
  for a, b in zip(short.hidden_states, padded.hidden_states):
    np.testing.assert_allclose(a, b[:, :6], atol=1e-5)
  np.testing.assert_allclose(short.mlm_logits, padded.mlm_logits[:, :6], atol=1e-5)


def test_causal_positions_do_not_see_the_future():
  model, params = _params()
  ids, seg = _batch()
  changed = ids.copy()
  changed[:, 4:] = np.where(changed[:, 4:] > 0, 7, 0)
  a = apply_jitted(model, {"params": params}, ids, seg, attention="causal").last_hidden_state
  b = apply_jitted(model, {"params": params}, changed, seg, attention="causal").last_hidden_state
  np.testing.assert_allclose(a[:, :4], b[:, :4], atol=1e-6)
  assert np.abs(a[:, 4:6] - b[:, 4:6]).max() > 1e-3


def test_unilm_source_ignores_target_and_target_is_causal():
  model, params = _params()
  ids, seg = _batch()
  changed = ids.copy()
  changed[0, 6] = 44   # second target token of row 0
  a = apply_jitted(model, {"params": params}, ids, seg, attention="unilm").last_hidden_state[0]
  b = apply_jitted(model, {"params": params}, changed, seg, attention="unilm").last_hidden_state[0]
  np.testing.assert_allclose(a[:6], b[:6], atol=1e-6)   # source + first target unchanged
  assert np.abs(a[6:] - b[6:]).max() > 1e-3
  bi = apply_jitted(model, {"params": params}, changed, seg).last_hidden_state[0]
  assert np.abs(bi[:5] - a[:5]).max() > 1e-3            # bidirectional does see the target


def test_remat_gives_same_outputs_and_gradients():
  model, params = _params(mlm_head=True)
  remat = Bert(dataclasses.replace(TINY, remat=True), mlm_head=True)
  ids, seg = _batch()

  @functools.partial(jax.jit, static_argnums=1)
  @jax.value_and_grad
  def loss(p, m):
    return m.apply({"params": p}, ids, seg, attention="unilm").mlm_logits.std()

  (l1, g1), (l2, g2) = loss(params, model), loss(params, remat)
  np.testing.assert_allclose(l1, l2, rtol=1e-6)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), g1, g2)


def test_bfloat16_compute_runs_close_to_float32():
  model, params = _params(mlm_head=True, pooler=True)
  bf16 = Bert(dataclasses.replace(TINY, dtype="bfloat16"), mlm_head=True, pooler=True)
  ids, seg = _batch()
  ref = apply_jitted(model, {"params": params}, ids, seg)
  out = apply_jitted(bf16, {"params": params}, ids, seg)
  assert out.last_hidden_state.dtype == jnp.bfloat16
  assert out.mlm_logits.dtype == jnp.float32
  assert np.isfinite(np.asarray(out.mlm_logits)).all()
  np.testing.assert_allclose(out.last_hidden_state.astype(jnp.float32), ref.last_hidden_state,
                             atol=0.15)
  np.testing.assert_allclose(out.mlm_logits, ref.mlm_logits, atol=0.15)


def test_dropout_is_active_only_when_not_deterministic():
  model, params = _params()
  ids, seg = _batch()
  det = apply_jitted(model, {"params": params}, ids, seg).last_hidden_state
  drop = apply_jitted(model, {"params": params}, ids, seg, deterministic=False,
                     rngs={"dropout": jax.random.PRNGKey(1)}).last_hidden_state
  assert np.abs(det - drop).max() > 1e-2


def test_token_embedding_perturbation_equals_shifted_embedding_row():
  model, params = _params()
  ids = np.array([[2, 17, 33, 3]])
  variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), ids)
  delta = np.zeros(variables["perturbations"]["embeddings"]["token_embeddings"].shape, np.float32)
  delta[0, 2] = 0.3   # token 33 occurs once
  perturbed = apply_jitted(model, {"params": params,
                           "perturbations": {"embeddings": {"token_embeddings": delta}}}, ids)
  shifted = jax.tree.map(lambda x: x, params)
  table = np.array(shifted["embeddings"]["word_embeddings"]["embedding"])
  table[33] += 0.3
  shifted["embeddings"]["word_embeddings"]["embedding"] = table
  want = apply_jitted(model, {"params": shifted}, ids)
  np.testing.assert_allclose(perturbed.last_hidden_state, want.last_hidden_state, atol=1e-6)


def test_output_bias_value_and_gradients_are_those_of_a_plain_add():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(3, 5, 7)).astype(np.float32)
  bias = rng.normal(size=(7,)).astype(np.float32)
  upstream = rng.normal(size=(3, 5, 7)).astype(np.float32)
  out, vjp = jax.vjp(bert_lib.add_output_bias, logits, bias)
  d_logits, d_bias = vjp(jnp.asarray(upstream))
  np.testing.assert_allclose(np.asarray(out), logits + bias, rtol=1e-6)
  np.testing.assert_array_equal(np.asarray(d_logits), upstream)
  # d bias[v] = sum over every row (b, p) of upstream[b, p, v]
  np.testing.assert_allclose(np.asarray(d_bias), upstream.astype(np.float64).sum((0, 1)),
                             rtol=1e-5, atol=1e-6)


def test_every_parameter_has_logical_axes_that_map_to_the_mesh_rules():
  model = Bert(TINY, mlm_head=True, pooler=True)
  boxed = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.ones((1, 4), jnp.int32))["params"]
  leaves = jax.tree.leaves(boxed, is_leaf=lambda x: isinstance(x, nn.Partitioned))
  assert leaves and all(isinstance(x, nn.LogicallyPartitioned) for x in leaves)
  specs = nn.get_partition_spec(boxed)
  rules = configs.base_config().sharding_rules
  mesh_specs = nn.logical_to_mesh(specs, rules)
  names = {n for x in leaves for n in x.names}
  assert names == {"vocab", "embed", "mlp", "heads", "kv", "length", "type"}
  assert mesh_specs["embeddings"]["word_embeddings"]["embedding"] == jax.sharding.PartitionSpec(
      "tensor", "fsdp")


def test_config_from_dict_and_json(tmp_path):
  c = BertConfig.from_dict(configs.bert_config(num_hidden_layers=2, dtype="bfloat16"))
  assert (c.num_hidden_layers, c.dtype, c.hidden_size) == (2, "bfloat16", 256)
  with pytest.raises(ValueError, match="unknown BertConfig fields"):
    BertConfig.from_dict({"hidden_sise": 3})
  google = {"attention_probs_dropout_prob": 0.1, "directionality": "bidi", "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
            "intermediate_size": 3072, "max_position_embeddings": 512, "num_attention_heads": 12,
            "num_hidden_layers": 12, "pooler_fc_size": 768, "type_vocab_size": 2,
            "vocab_size": 21128}
  (tmp_path / "bert_config.json").write_text(json.dumps(google))
  c = BertConfig.from_json(tmp_path / "bert_config.json", remat=True)
  assert (c.vocab_size, c.hidden_size, c.remat, c.layer_norm_eps) == (21128, 768, True, 1e-12)
  relative = {**google, "position_embedding_type": "relative_key"}
  (tmp_path / "config.json").write_text(json.dumps(relative))
  with pytest.raises(ValueError, match="relative_key"):
    BertConfig.from_json(tmp_path / "config.json")
  with pytest.raises(ValueError, match="multiple"):
    BertConfig(hidden_size=30, num_attention_heads=4)


@pytest.mark.parametrize("chunk", [1, 2])
def test_cached_decoding_equals_full_unilm_forward(chunk):
  """prefill + decode_step (rows repeated per prompt) == one full UniLM pass over the sequence."""
  model, params = _params(mlm_head=True)
  prompt = np.array([[2, 17, 33, 41, 3], [2, 5, 6, 3, 0]])          # different prompt lengths
  lengths = np.array([5, 4])
  new = np.array([[12, 13, 14, 15], [21, 22, 23, 24], [31, 32, 33, 34], [41, 42, 43, 44]])
  rows_per_prompt, steps = 2, new.shape[1]
  out, prefix = apply_jitted(model, {"params": params}, prompt, np.zeros_like(prompt),
                            method=Bert.prefill)
  cache = bert_lib.init_decode_cache(prefix, rows_per_prompt, steps)
  hidden = []
  for t in range(0, steps, chunk):
    tok = new[:, t:t + chunk]
    pos = np.repeat(lengths, rows_per_prompt)[:, None] + t + np.arange(chunk)
    h, cache = apply_jitted(model, {"params": params}, tok, np.ones_like(tok), pos, cache,
                           method=Bert.decode_step)
    hidden.append(h)
  hidden = np.concatenate(hidden, axis=1)
  for r in range(new.shape[0]):
    b = r // rows_per_prompt
    seq = np.concatenate([prompt[b, :lengths[b]], new[r]])[None]
    seg = np.concatenate([np.zeros(lengths[b], int), np.ones(steps, int)])[None]
    full = apply_jitted(model, {"params": params}, seq, seg, attention="unilm").last_hidden_state[0]
    np.testing.assert_allclose(hidden[r], full[lengths[b]:], atol=1e-5)
    np.testing.assert_allclose(out.last_hidden_state[b, :lengths[b]], full[:lengths[b]],
                               atol=1e-5)
