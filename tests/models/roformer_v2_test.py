"""RoFormer-V2 (`Bert` with a `RoFormerV2Config`) vs a numpy transcription of bert4keras 0.11.5.

The reference below is written in the test from bert4keras' `models.RoFormerV2` definition:
token + segment embeddings, (dropout), `LayerNormalization(zero_mean=False, scale=False,
offset=False)` = x / sqrt(mean(x²) + K.epsilon()), bias-free `Embedding-Mapping` when E != D;
post-norm layers with bias-free `MultiHeadAttention` (RoPE on q, k from
`SinusoidalPositionEmbedding(merge_mode='zero')`, scale 1/sqrt(key size), -1e12 on masked logits)
and bias-free `FeedForward`; MLM = tied embeddings, no bias. Weights are random and named as
bert4keras' `variable_mapping` names them (BERT's names less every beta, gamma and bias), and go
through `checkpoints.load_google_variables`.
"""

import numpy as np
import pytest

from model_testing import IDS, SEGMENTS, apply_jitted

from flaxnlp.models import Bert
from flaxnlp.models import RoFormerV2Config
from flaxnlp.models import checkpoints

TINY = dict(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=48)


def _google_variables(config: RoFormerV2Config, seed: int) -> dict[str, np.ndarray]:
  """Random weights under bert4keras' RoFormerV2 checkpoint names."""
  d, e, f = config.hidden_size, config.embed_dim, config.intermediate_size
  shapes = {"bert/embeddings/word_embeddings": (config.vocab_size, e),
            "bert/embeddings/token_type_embeddings": (config.type_vocab_size, e)}
  if e != d:
    shapes["bert/encoder/embedding_hidden_mapping_in/kernel"] = (e, d)
  for i in range(config.num_hidden_layers):
    g = f"bert/encoder/layer_{i}/"
    for proj in ("query", "key", "value"):
      shapes[f"{g}attention/self/{proj}/kernel"] = (d, d)
    shapes[g + "attention/output/dense/kernel"] = (d, d)
    shapes[g + "intermediate/dense/kernel"] = (d, f)
    shapes[g + "output/dense/kernel"] = (f, d)
  rng = np.random.default_rng(seed)
  return {name: rng.normal(0.0, 0.3, shape).astype(np.float32) for name, shape in shapes.items()}


def _reference(w, config, ids, segments, attention):
  """bert4keras RoFormerV2 forward in float64: (hidden states [embeddings, layer 1..L], MLM logits)."""
  w = {k: v.astype(np.float64) for k, v in w.items()}
  eps = config.layer_norm_eps
  b, n = ids.shape
  h, dh = config.num_attention_heads, config.head_dim

  def norm(x):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)

  # SinusoidalPositionEmbedding(merge_mode='zero'): [p, 2m] = sin(p θ_m), [p, 2m+1] = cos(p θ_m).
  theta = np.power(10000.0, -2 * np.arange(dh // 2) / dh)
  angles = np.arange(n)[:, None] * theta
  table = np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(n, dh)
  cos_pos = np.repeat(table[:, 1::2], 2, axis=-1)[None, :, None]   # [1, N, 1, Dh]
  sin_pos = np.repeat(table[:, 0::2], 2, axis=-1)[None, :, None]

  def rotate(x):   # apply_rotary_position_embeddings
    x2 = np.stack([-x[..., 1::2], x[..., 0::2]], axis=-1).reshape(x.shape)
    return x * cos_pos + x2 * sin_pos

  allowed = np.broadcast_to((ids != 0)[:, None, :], (b, n, n))
  if attention == "unilm":
    c = np.cumsum(segments, axis=1)
    allowed = allowed & (c[:, None, :] <= c[:, :, None])
  bias = np.where(allowed, 0.0, -1e12)[:, None]                    # [B, 1, N, N]

  x = w["bert/embeddings/word_embeddings"][ids] + w["bert/embeddings/token_type_embeddings"][segments]
  x = norm(x)
  if config.embed_dim != config.hidden_size:
    x = x @ w["bert/encoder/embedding_hidden_mapping_in/kernel"]
  hidden = [x]
  for i in range(config.num_hidden_layers):
    g = f"bert/encoder/layer_{i}/"
    q, k, v = (
        (x @ w[f"{g}attention/self/{p}/kernel"]).reshape(b, n, h, dh) for p in ("query", "key", "value"))
    q, k = rotate(q), rotate(k)
    a = np.einsum("bjhd,bkhd->bhjk", q, k) / np.sqrt(dh) + bias
    a = np.exp(a - a.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    o = np.einsum("bhjk,bkhd->bjhd", a, v).reshape(b, n, h * dh)
    x = norm(x + o @ w[g + "attention/output/dense/kernel"])
    ffn = np.maximum(x @ w[g + "intermediate/dense/kernel"], 0.0) @ w[g + "output/dense/kernel"]
    x = norm(x + ffn)
    hidden.append(x)
  logits = x @ w["bert/embeddings/word_embeddings"].T if config.embed_dim == config.hidden_size else None
  return hidden, logits


@pytest.mark.parametrize("attention", ["bidirectional", "unilm"])
@pytest.mark.parametrize("embedding_size", [None, 24], ids=["E=D", "E!=D"])
def test_matches_bert4keras_transcription(attention, embedding_size):
  config = RoFormerV2Config(**TINY, embedding_size=embedding_size)
  assert (config.hidden_act, config.layer_norm_eps) == ("relu", 1e-7)   # bert4keras / release
  w = _google_variables(config, seed=0)
  mlm = embedding_size is None
  params = checkpoints.load_google_variables(w, config, mlm_head=mlm)
  out = apply_jitted(Bert(config, mlm_head=mlm), {"params": params}, IDS, SEGMENTS, attention=attention)
  hidden_ref, logits_ref = _reference(w, config, IDS, SEGMENTS, attention)
  real = IDS != 0
  assert len(out.hidden_states) == len(hidden_ref)
  for ours, theirs in zip(out.hidden_states, hidden_ref):
    np.testing.assert_allclose(np.asarray(ours)[real], theirs[real], atol=1e-5, rtol=1e-5)
  if mlm:
    np.testing.assert_allclose(np.asarray(out.mlm_logits)[real], logits_ref[real], atol=1e-5,
                               rtol=1e-5)


def test_import_accounts_for_every_name():
  config = RoFormerV2Config(**TINY, embedding_size=24)
  w = _google_variables(config, seed=1)
  with pytest.raises(ValueError, match=r"unknown variables: \['bert/encoder/layer_0/attention/self/query/bias"):
    checkpoints.load_google_variables(
        {**w, "bert/encoder/layer_0/attention/self/query/bias": np.zeros(32, np.float32)}, config)
  with pytest.raises(ValueError, match=r"missing weights: \['bert/encoder/embedding_hidden"):
    checkpoints.load_google_variables(
        {k: v for k, v in w.items() if "embedding_hidden" not in k}, config)
  with pytest.raises(ValueError, match="Output-Mapping"):
    checkpoints.load_google_variables(w, config, mlm_head=True)
  # Adam slots and global_step are skipped, as for BERT.
  params = checkpoints.load_google_variables(
      {**w, "global_step": np.int64(3), "bert/embeddings/word_embeddings/adam_m": w[
          "bert/embeddings/word_embeddings"]}, config)
  assert params["embeddings"]["mapping"]["kernel"].shape == (24, 32)
