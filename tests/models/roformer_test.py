"""RoFormer (`Bert` with a `RoFormerConfig`) vs HF transformers `RoFormerForMaskedLM` (torch CPU).

References: HF `RoFormerModel` / `RoFormerForMaskedLM` with random weights (hidden states and MLM
logits, with padding, to 1e-5 in float32), imported by `checkpoints.load_hf_state_dict` /
`load_pretrained`; a full UniLM forward for the cached decoding path. HF parity tests skip when
torch or transformers is absent.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers

from learning_testing import memorisation_config
from model_testing import IDS, SEGMENTS, apply_jitted, random_params

from flaxnlp.models import Bert
from flaxnlp.models import BertConfig
from flaxnlp.models import RoFormerConfig
from flaxnlp.models import RoFormerV2Config
from flaxnlp.models import bert as bert_lib
from flaxnlp.models import build_encoder
from flaxnlp.models import checkpoints
from flaxnlp.models import encoder_config

TINY = dict(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=48, max_position_embeddings=64)


# ---- HF transformers parity --------------------------------------------------------------------

def _hf_model(seed, **fields):
  torch.manual_seed(seed)
  hf_config = transformers.RoFormerConfig(**TINY, hidden_act="gelu", layer_norm_eps=1e-12,
                                          **fields)
  model = transformers.RoFormerForMaskedLM(hf_config).eval()
  with torch.no_grad():   # HF's init leaves LayerNorm at (1, 0) and biases at 0: randomise them
    for name, p in model.named_parameters():
      if "embed_positions" not in name:
        p.add_(0.1 * torch.randn_like(p))
  return model


def _hf_reference(model):
  import torch  # pylint: disable=import-outside-toplevel
  with torch.no_grad():
    out = model(input_ids=torch.tensor(IDS), token_type_ids=torch.tensor(SEGMENTS),
                attention_mask=torch.tensor(IDS != 0), output_hidden_states=True)
  return [h.numpy() for h in out.hidden_states], out.logits.numpy()


@pytest.mark.parametrize("fields", [dict(embedding_size=24), dict(rotary_value=True)],
                         ids=["embedding_size", "rotary_value"])
def test_matches_hf_roformer_for_masked_lm(fields):
  hf = _hf_model(0, **fields)
  hidden_ref, logits_ref = _hf_reference(hf)
  config = RoFormerConfig(**TINY, **fields)
  params = checkpoints.load_hf_state_dict(hf.state_dict(), config, mlm_head=True)
  out = apply_jitted(Bert(config, mlm_head=True), {"params": params}, IDS, SEGMENTS)
  real = IDS != 0
  assert len(out.hidden_states) == len(hidden_ref) == config.num_hidden_layers + 1
  for ours, theirs in zip(out.hidden_states, hidden_ref):
    np.testing.assert_allclose(np.asarray(ours)[real], theirs[real], atol=1e-5, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(out.mlm_logits)[real], logits_ref[real], atol=1e-5,
                             rtol=1e-5)


def test_load_pretrained_reads_an_hf_roformer_directory(tmp_path):
  hf = _hf_model(1, embedding_size=24)
  hidden_ref, _ = _hf_reference(hf)
  hf.roformer.save_pretrained(tmp_path)          # RoFormerModel: config.json + model.safetensors
  config, params = checkpoints.load_pretrained(tmp_path)
  assert isinstance(config, RoFormerConfig) and config.embed_dim == 24
  out = apply_jitted(Bert(config), {"params": params}, IDS, SEGMENTS)
  real = IDS != 0
  np.testing.assert_allclose(np.asarray(out.last_hidden_state)[real], hidden_ref[-1][real],
                             atol=1e-5, rtol=1e-5)


def test_hf_import_accounts_for_every_name():
  hf = _hf_model(2, embedding_size=24)
  config = RoFormerConfig(**TINY, embedding_size=24)
  state = dict(hf.state_dict())
  state["roformer.encoder.layer.0.attention.self.relative_bias"] = state["cls.predictions.bias"]
  with pytest.raises(ValueError, match="relative_bias"):
    checkpoints.load_hf_state_dict(state, config)
  state = dict(hf.state_dict())
  del state["roformer.embeddings_project.bias"]
  with pytest.raises(ValueError, match=r"missing weights: \['bert/encoder/embedding_hidden"):
    checkpoints.load_hf_state_dict(state, config)


# ---- model behaviour ---------------------------------------------------------------------------

@pytest.mark.parametrize("config", [RoFormerConfig(**TINY, embedding_size=24),
                                    RoFormerV2Config(**TINY, embedding_size=24)],
                         ids=["roformer", "roformer_v2"])
def test_cached_decoding_equals_full_unilm_forward(config):
  """prefill + decode_step (RoPE at the absolute positions) == one full UniLM pass."""
  model = Bert(config, mlm_head=True)
  params = random_params(model, std=0.2)
  prompt = np.array([[2, 17, 33, 41, 3], [2, 5, 6, 3, 0]])
  lengths = np.array([5, 4])
  new = np.array([[12, 13, 14], [21, 22, 23], [31, 32, 33], [41, 42, 43]])
  rows_per_prompt, steps = 2, new.shape[1]
  out, prefix = apply_jitted(model, {"params": params}, prompt, np.zeros_like(prompt),
                       method=Bert.prefill)
  cache = bert_lib.init_decode_cache(prefix, rows_per_prompt, steps)
  hidden = []
  for t in range(steps):
    tok = new[:, t:t + 1]
    pos = np.repeat(lengths, rows_per_prompt)[:, None] + t
    h, cache = apply_jitted(model, {"params": params}, tok, np.ones_like(tok), pos, cache,
                      method=Bert.decode_step)
    hidden.append(h)
  hidden = np.concatenate(hidden, axis=1)
  logits = apply_jitted(model, {"params": params}, hidden, method=Bert.mlm)
  for r in range(new.shape[0]):
    b = r // rows_per_prompt
    seq = np.concatenate([prompt[b, :lengths[b]], new[r]])[None]
    seg = np.concatenate([np.zeros(lengths[b], int), np.ones(steps, int)])[None]
    full = apply_jitted(model, {"params": params}, seq, seg, attention="unilm")
    np.testing.assert_allclose(hidden[r], full.last_hidden_state[0, lengths[b]:], atol=1e-5)
    np.testing.assert_allclose(logits[r], full.mlm_logits[0, lengths[b]:], atol=1e-4)
    np.testing.assert_allclose(out.last_hidden_state[b, :lengths[b]],
                               full.last_hidden_state[0, :lengths[b]], atol=1e-5)


def test_param_trees():
  def tree(config, **heads):
    boxed = jax.eval_shape(Bert(config, **heads).init, jax.random.PRNGKey(0),
                           jnp.ones((1, 4), jnp.int32))
    return {"/".join(k.key for k in path): leaf.shape
            for path, leaf in jax.tree_util.tree_leaves_with_path(nn.unbox(boxed["params"]))}

  v1 = tree(RoFormerConfig(**TINY, embedding_size=24), mlm_head=True)
  assert not any("position" in k for k in v1)
  assert v1["embeddings/word_embeddings/embedding"] == (60, 24)
  assert v1["embeddings/mapping/kernel"] == (24, 32)
  assert v1["mlm_dense/kernel"] == (32, 24) and v1["mlm_norm/scale"] == (24,)
  v2 = tree(RoFormerV2Config(**TINY), mlm_head=True)
  assert not any(k.endswith(("bias", "scale")) for k in v2), sorted(v2)
  assert sorted(v2) == sorted(
      ["embeddings/word_embeddings/embedding", "embeddings/token_type_embeddings/embedding"]
      + [f"layers_{i}/{m}/kernel" for i in range(2) for m in (
          "attention/query", "attention/key", "attention/value", "attention/output",
          "intermediate", "output")])
  # BERT keeps its tree (position embeddings, no mapping).
  bert = tree(BertConfig(**TINY), mlm_head=True)
  assert "embeddings/position_embeddings/embedding" in bert and "embeddings/mapping/kernel" not in bert


def test_encoder_config_dispatches_on_architecture():
  assert type(encoder_config(TINY)) is BertConfig
  assert type(encoder_config({**TINY, "architecture": "bert"})) is BertConfig
  c = encoder_config({**TINY, "architecture": "roformer", "embedding_size": 16})
  assert type(c) is RoFormerConfig and c.embed_dim == 16 and c.rotary == "qk"
  c = encoder_config({**TINY, "architecture": "roformer_v2"}, vocab_size=7)
  assert type(c) is RoFormerV2Config and c.vocab_size == 7 and not c.use_bias
  assert isinstance(build_encoder({**TINY, "architecture": "roformer"}, mlm_head=True).config,
                    RoFormerConfig)
  with pytest.raises(ValueError, match="architecture='gpt'"):
    encoder_config({**TINY, "architecture": "gpt"})
  with pytest.raises(ValueError, match="encoder_config"):
    BertConfig.from_dict({**TINY, "architecture": "roformer"})
  with pytest.raises(ValueError, match="embedding_size"):
    BertConfig.from_dict({**TINY, "embedding_size": 16})
  with pytest.raises(ValueError, match="rotary_value"):
    RoFormerV2Config(**TINY, rotary_value=True)


# ---- a task end to end -------------------------------------------------------------------------

@pytest.mark.slow
def test_ner_task_learns_with_a_roformer_encoder(tmp_path):
  """`config.model.architecture="roformer"` reaches the NER task's model, and the real trainer
  fits 256 MSRA sentences with it (F1 on them > 0.5; an untrained model scores ≈ 0.001, see
  ner_learning_test.py, which runs the same recipe with BERT)."""
  from flaxnlp import train  # pylint: disable=import-outside-toplevel
  from flaxnlp.tasks import ner  # pylint: disable=import-outside-toplevel
  c = memorisation_config(
      "ner", ner.ner_task_args(dataset="msra", head="egp", head_size=32, maxlen=128,
                               max_train_examples=256),
      num_steps=150, learning_rate=3e-3, architecture="roformer")
  model = ner.NerTask(c).build_model()
  assert isinstance(model.config, RoFormerConfig)
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.ones((1, 8), jnp.int32))
  assert "position_embeddings" not in shapes["params"]["encoder"]["embeddings"]
  metrics = train.run(c, tmp_path).metrics
  print(f"trained F1 {metrics['f1']:.4f}")
  assert metrics["f1"] > 0.5 and metrics["num_gold"] > 100
