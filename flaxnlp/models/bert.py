"""BERT / UniLM encoder (Linen): optional MLM head and pooler, key/value cache for decoding.

The same modules build RoFormer and RoFormer-V2 (`flaxnlp.models.roformer`): the config class
sets the architecture switches `rotary`, `use_bias`, `rms_norm` and `embed_dim` (see
`BertConfig`); with `BertConfig` they are BERT's and everything below holds as written.

Architecture (identical to HF `BertModel` / Google BERT): word + absolute position + segment
embeddings, LayerNorm, dropout; post-LN transformer layers (self-attention -> dropout -> residual ->
LayerNorm -> FFN(gelu) -> dropout -> residual -> LayerNorm); exact erf GELU by default; dropout is
`flaxnlp.layers.Dropout` (inverted, masks from 16-bit draws: rate within 2⁻¹⁷). The MLM head
is dense + activation + LayerNorm + the tied word-embedding matrix + an output bias. Token id 0 is
padding: keys with token id 0 are masked out of every attention.

Parameters are float32 and carry logical axis names ("vocab", "embed", "mlp", "heads", "kv",
"length", "type"); `BertConfig.dtype` is the compute dtype. Attention softmax, LayerNorm statistics
and MLM logits are float32 whatever the compute dtype. Every dense layer and the tied MLM projection
multiply through `flaxnlp.layers.dense`, whose kernel gradient transposes the smaller operand.

Decoding (UniLM / causal): `Bert.prefill` encodes a prompt once and returns its per-layer keys and
values (`PrefixCache`); `init_decode_cache` adds pre-allocated slots for generated positions
(`DecodeCache`, shape-static, for `lax.while_loop`); `Bert.decode_step` runs a few new positions
against it. New positions see every non-padding prefix key and the earlier generated positions,
which is exactly what the UniLM mask gives target tokens (segment 1) and what the causal mask gives.
"""
import dataclasses
import json
import os
from typing import Any, ClassVar, Mapping

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp

from flaxnlp.layers import attention as attn_lib
from flaxnlp.layers import dense as dense_lib
from flaxnlp.layers import dropout as dropout_lib
from flaxnlp.layers import rope as rope_lib

ACTIVATIONS = {
    "gelu": lambda x: nn.gelu(x, approximate=False),
    "gelu_new": lambda x: nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: nn.gelu(x, approximate=True),
    "relu": nn.relu,
    "tanh": jnp.tanh,
}

@dataclasses.dataclass(frozen=True)
class BertConfig:
  """Encoder hyper-parameters; field names follow HF `BertConfig` / Google `bert_config.json`.

  The class variables are the architecture switches read by the shared modules; subclasses
  (`roformer.RoFormerConfig`, `roformer.RoFormerV2Config`) override them:
    architecture: the `config.model.architecture` name of this config class.
    rotary: tensors rotated by RoPE in every attention, "" (none: absolute position embeddings),
      "qk" or "qkv".
    use_bias: biases in every dense layer and the MLM output bias.
    rms_norm: every norm is the parameter-free x / sqrt(mean(x²) + eps) (bert4keras RoFormerV2;
      the embedding dropout then precedes the embedding norm and the MLM head is only the
      H -> E mapping, if any, and the tied embeddings) instead of LayerNorm with gain and bias.
  """
  architecture: ClassVar[str] = "bert"
  rotary: ClassVar[str] = ""
  use_bias: ClassVar[bool] = True
  rms_norm: ClassVar[bool] = False

  vocab_size: int = 21128
  hidden_size: int = 768
  num_hidden_layers: int = 12
  num_attention_heads: int = 12
  intermediate_size: int = 3072
  hidden_act: str = "gelu"
  max_position_embeddings: int = 512
  type_vocab_size: int = 2
  layer_norm_eps: float = 1e-12
  hidden_dropout_prob: float = 0.1
  attention_probs_dropout_prob: float = 0.1
  initializer_range: float = 0.02
  dtype: str = "float32"   # compute dtype; parameters are always float32
  remat: bool = False      # rematerialise each layer in the backward pass (nn.remat)

  def __post_init__(self):
    if self.hidden_size % self.num_attention_heads:
      raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                       f"num_attention_heads {self.num_attention_heads}")
    if self.hidden_act not in ACTIVATIONS:
      raise ValueError(
          f"hidden_act {self.hidden_act!r} not supported; one of {sorted(ACTIVATIONS)}")
    jnp.dtype(self.dtype)  # raises on an unknown dtype name

  @property
  def head_dim(self) -> int:
    return self.hidden_size // self.num_attention_heads

  @property
  def embed_dim(self) -> int:
    """E, the width of the token / segment embeddings (= hidden_size for BERT)."""
    return self.hidden_size

  @property
  def compute_dtype(self):
    return jnp.dtype(self.dtype)

  @classmethod
  def from_dict(cls, d: Mapping[str, Any], **overrides) -> "BertConfig":
    """Builds a config from a mapping or `ml_collections.ConfigDict`; unknown keys are an error.

    An `architecture` key is accepted when it names this class (`cls.architecture`); use
    `flaxnlp.models.encoder_config` to pick the class from it.
    """
    d = dict(d.to_dict() if hasattr(d, "to_dict") else d, **overrides)
    architecture = d.pop("architecture", cls.architecture)
    if architecture != cls.architecture:
      raise ValueError(f"{cls.__name__} is architecture {cls.architecture!r}, the mapping says "
                       f"{architecture!r}: build it with flaxnlp.models.encoder_config")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
      raise ValueError(f"unknown BertConfig fields {unknown}; known: {sorted(names)}")
    if "dtype" in d:
      d["dtype"] = jnp.dtype(d["dtype"]).name
    return cls(**d)

  @classmethod
  def from_json(cls, path: str | os.PathLike, **overrides) -> "BertConfig":
    """Reads HF `config.json` or Google `bert_config.json` (other keys in the file are ignored).

    Raises if the file describes a variant this encoder does not implement (relative position
    embeddings).
    """
    with open(path, encoding="utf-8") as f:
      d = json.load(f)
    kind = d.get("position_embedding_type", "absolute")
    if kind != "absolute":
      raise ValueError(f"{path}: position_embedding_type={kind!r} is not supported (absolute only)")
    names = {f.name for f in dataclasses.fields(cls)} - {"dtype", "remat"}
    return cls.from_dict({k: v for k, v in d.items() if k in names}, **overrides)


@flax.struct.dataclass
class BertOutput:
  """Encoder outputs: `hidden_states` = (embeddings, layer 1, ..., layer L), each [B, N, D]."""
  hidden_states: tuple
  last_hidden_state: jax.Array
  pooled: jax.Array | None = None       # [B, D], tanh(dense(h[:, 0])) if the pooler is on
  mlm_logits: jax.Array | None = None   # [B, N, V] float32 if the MLM head is on


@flax.struct.dataclass
class PrefixCache:
  """Keys/values of an encoded prompt: keys, values [L, B, H, N, Dh]; mask bool [B, N] (non-pad)."""
  keys: jax.Array
  values: jax.Array
  mask: jax.Array


@flax.struct.dataclass
class DecodeCache:
  """Key/value cache for decoding R = B * K rows against B shared prefixes (row r -> prefix r // K).

  prefix: the `PrefixCache` of the B prompts (never copied per row).
  keys, values: [L, R, H, T, Dh] slots for generated positions; slot `index` is written next.
  mask: bool [R, T], slot holds a non-padding generated token.
  index: int32 scalar, number of slots written.
  """
  prefix: PrefixCache
  keys: jax.Array
  values: jax.Array
  mask: jax.Array
  index: jax.Array

  def reorder(self, rows: jax.Array) -> "DecodeCache":
    """Selects rows of the generated part (beam re-ordering): `rows` int [R], row r <- rows[r].

    Rows must stay within their prompt's block of K (the prefix is shared, not gathered).
    """
    return self.replace(keys=self.keys[:, rows], values=self.values[:, rows], mask=self.mask[rows])


def init_decode_cache(prefix: PrefixCache, rows_per_prefix: int, max_len: int) -> DecodeCache:
  """Empty `DecodeCache` with `max_len` generated slots for `rows_per_prefix` rows per prompt."""
  n_layers, b, h, _, dh = prefix.keys.shape
  r = b * rows_per_prefix
  zeros = jnp.zeros((n_layers, r, h, max_len, dh), prefix.keys.dtype)
  return DecodeCache(prefix=prefix, keys=zeros, values=zeros, mask=jnp.zeros((r, max_len), bool),
                     index=jnp.zeros((), jnp.int32))


@jax.custom_vjp
def add_output_bias(logits: jax.Array, bias: jax.Array) -> jax.Array:
  """logits [..., V] + bias [V], whose gradient wrt `bias` is computed as ones [M] @ g [M, V].

  The value and both gradients are those of `logits + bias`; only the bias gradient's reduction
  differs: XLA:CPU sums the M rows of the [M, V] upstream gradient (M = B·P MLM targets, V = 21,128)
  tens of times slower than the same sum as a vector-matrix product
  (`benchmarks/train_step_breakdown.py`, the "bias gradient" parts).
  """
  return logits + bias


def _add_output_bias_fwd(logits, bias):
  return logits + bias, None


def _add_output_bias_bwd(_, g):
  rows = g.reshape(-1, g.shape[-1])
  return g, jnp.ones((rows.shape[0],), rows.dtype) @ rows


add_output_bias.defvjp(_add_output_bias_fwd, _add_output_bias_bwd)


def _init(cfg: BertConfig, names: tuple):
  return nn.with_logical_partitioning(nn.initializers.normal(cfg.initializer_range), names)


def _const(init, names: tuple):
  return nn.with_logical_partitioning(init, names)


def _layer_norm(cfg: BertConfig, name: str) -> nn.Module:
  """LayerNorm (gain, bias), or the parameter-free RMS norm when `cfg.rms_norm`."""
  if cfg.rms_norm:
    return nn.RMSNorm(epsilon=cfg.layer_norm_eps, dtype=cfg.compute_dtype, use_scale=False,
                      name=name)
  return nn.LayerNorm(epsilon=cfg.layer_norm_eps, dtype=cfg.compute_dtype, name=name,
                      scale_init=_const(nn.initializers.ones_init(), ("embed",)),
                      bias_init=_const(nn.initializers.zeros_init(), ("embed",)))


def _dense(cfg: BertConfig, features: int, names: tuple, name: str) -> nn.Dense:
  return nn.Dense(features, dtype=cfg.compute_dtype, name=name, kernel_init=_init(cfg, names),
                  use_bias=cfg.use_bias, dot_general=dense_lib.dense_dot_general,
                  bias_init=_const(nn.initializers.zeros_init(), names[-1:]))


class BertEmbeddings(nn.Module):
  """Word + position + segment embeddings, LayerNorm, dropout.

  With `config.rotary` there are no position embeddings (positions enter the attention); with
  `config.rms_norm` the dropout comes before the norm. When E = `config.embed_dim` differs from
  the hidden size D, a dense `mapping` [E, D] follows (HF RoFormer `embeddings_project`).

  The looked-up word embeddings pass through `self.perturb("token_embeddings", .)`, so gradients
  wrt the embedded tokens are available through the "perturbations" collection
  (path `perturbations/embeddings/token_embeddings`, shape [B, N, E]).
  """
  config: BertConfig

  def setup(self):
    cfg = self.config
    e = cfg.embed_dim
    self.word_embeddings = nn.Embed(cfg.vocab_size, e, dtype=cfg.compute_dtype,
                                    embedding_init=_init(cfg, ("vocab", "embed")))
    if not cfg.rotary:
      self.position_embeddings = nn.Embed(cfg.max_position_embeddings, e,
                                          dtype=cfg.compute_dtype,
                                          embedding_init=_init(cfg, ("length", "embed")))
    self.token_type_embeddings = nn.Embed(cfg.type_vocab_size, e, dtype=cfg.compute_dtype,
                                          embedding_init=_init(cfg, ("type", "embed")))
    self.layer_norm = _layer_norm(cfg, None)
    self.dropout = dropout_lib.Dropout(cfg.hidden_dropout_prob)
    if e != cfg.hidden_size:
      self.mapping = _dense(cfg, cfg.hidden_size, ("embed", "mlp"), None)

  def __call__(self, token_ids, segment_ids, positions, deterministic: bool):
    cfg = self.config
    x = self.word_embeddings(token_ids)
    x = self.perturb("token_embeddings", x)
    if not cfg.rotary:
      x = x + self.position_embeddings(positions)
    x = x + self.token_type_embeddings(segment_ids)
    if cfg.rms_norm:
      x = self.layer_norm(self.dropout(x, deterministic=deterministic))
    else:
      x = self.dropout(self.layer_norm(x), deterministic=deterministic)
    return x if cfg.embed_dim == cfg.hidden_size else self.mapping(x)


class BertSelfAttention(nn.Module):
  """Multi-head self-attention (query/key/value/output projections), full or cached.

  Kernels: query/key/value [D, H, Dh] ("embed", "heads", "kv"), output [H, Dh, D]. With
  `config.rotary`, the listed projections are rotated by RoPE (`flaxnlp.layers.rope`, channel
  pairs (2m, 2m+1), θ_m = 10000^(-2m/Dh)) at their absolute positions before the attention, so
  cached keys/values are stored rotated.
  """
  config: BertConfig

  def setup(self):
    cfg = self.config
    qkv = dict(features=(cfg.num_attention_heads, cfg.head_dim), dtype=cfg.compute_dtype,
               kernel_init=_init(cfg, ("embed", "heads", "kv")), use_bias=cfg.use_bias,
               bias_init=_const(nn.initializers.zeros_init(), ("heads", "kv")),
               dot_general=dense_lib.dense_dot_general)
    self.query = nn.DenseGeneral(**qkv)
    self.key = nn.DenseGeneral(**qkv)
    self.value = nn.DenseGeneral(**qkv)
    self.output = nn.DenseGeneral(cfg.hidden_size, axis=(-2, -1), dtype=cfg.compute_dtype,
                                  kernel_init=_init(cfg, ("heads", "kv", "embed")),
                                  use_bias=cfg.use_bias, dot_general=dense_lib.dense_dot_general,
                                  bias_init=_const(nn.initializers.zeros_init(), ("embed",)))
    self.dropout = dropout_lib.Dropout(cfg.attention_probs_dropout_prob)

  def __call__(self, x, mask, deterministic: bool, cache=None, positions=None):
    """Full attention (cache None, mask bool [B, 1, N, N]) -> (out [B, N, D], (k, v) [B, H, N, Dh]).

    Cached attention: cache = (prefix_k, prefix_v, prefix_mask, k, v, index) for this layer, mask
    bool [R, S, T] over the generated slots; the new keys/values are written at slots
    index..index+S-1 -> (out [R, S, D], (k, v) updated [R, H, T, Dh]).
    positions: int [B, N] absolute positions of x (used only with `config.rotary`).
    """
    projected = {"q": self.query(x), "k": self.key(x), "v": self.value(x)}  # [B, N, H, Dh]
    for name in self.config.rotary:
      projected[name] = rope_lib.apply_rope(projected[name], positions[..., None])
    q = projected["q"]
    k = projected["k"].transpose(0, 2, 1, 3)
    v = projected["v"].transpose(0, 2, 1, 3)
    if cache is None:
      dropout = None if deterministic else (lambda p: self.dropout(p, deterministic=False))
      out = attn_lib.dot_product_attention(q, k, v, mask, dropout)
    else:
      prefix_k, prefix_v, prefix_mask, cache_k, cache_v, index = cache
      k = jax.lax.dynamic_update_slice(cache_k, k.astype(cache_k.dtype), (0, 0, index, 0))
      v = jax.lax.dynamic_update_slice(cache_v, v.astype(cache_v.dtype), (0, 0, index, 0))
      out = attn_lib.prefix_cached_attention(q, prefix_k, prefix_v, prefix_mask, k, v, mask)
    return self.output(out), (k, v)


class BertLayer(nn.Module):
  """Post-LN transformer layer: LN(x + Attn(x)), then LN(h + FFN(h))."""
  config: BertConfig

  @nn.compact
  def __call__(self, x, mask, deterministic: bool, cache=None, positions=None):
    cfg = self.config
    act = ACTIVATIONS[cfg.hidden_act]
    drop = dropout_lib.Dropout(cfg.hidden_dropout_prob)
    a, kv = BertSelfAttention(cfg, name="attention")(x, mask, deterministic, cache, positions)
    h = _layer_norm(cfg, "attention_norm")(x + drop(a, deterministic=deterministic))
    f = act(_dense(cfg, cfg.intermediate_size, ("embed", "mlp"), "intermediate")(h))
    f = _dense(cfg, cfg.hidden_size, ("mlp", "embed"), "output")(f)
    return _layer_norm(cfg, "output_norm")(h + drop(f, deterministic=deterministic)), kv


class Bert(nn.Module):
  """BERT encoder; `mlm_head` adds the tied MLM head, `pooler` the tanh pooler on [CLS].

  Parameter tree: embeddings/{word,position,token_type}_embeddings, embeddings/layer_norm,
  layers_{i}/attention/{query,key,value,output}, layers_{i}/{attention_norm, intermediate, output,
  output_norm}, [mlm_dense, mlm_norm, mlm_bias], [pooler].
  With a RoFormer config there is no position embedding, an `embeddings/mapping` when E != D, and
  `mlm_dense` maps D -> E; with RoFormer-V2 there are no biases nor norm parameters, and the MLM
  head keeps only `mlm_dense` (without activation, when E != D).

  Call: `apply({'params': p}, token_ids, segment_ids, attention='bidirectional',
  deterministic=True)`
  with token_ids, segment_ids int [B, N] (segment_ids None = all 0) -> `BertOutput`. Dropout needs
  `rngs={'dropout': key}` when `deterministic=False`. `init` also returns a "perturbations"
  collection shaped like its example batch: apply with `{'params': variables['params']}` (plus
  perturbations only when differentiating wrt the embedded tokens).
  """
  config: BertConfig
  mlm_head: bool = False
  pooler: bool = False

  def setup(self):
    cfg = self.config
    self.embeddings = BertEmbeddings(cfg)
    layer_cls = nn.remat(BertLayer, static_argnums=(3,)) if cfg.remat else BertLayer
    self.layers = [layer_cls(cfg) for _ in range(cfg.num_hidden_layers)]
    if self.mlm_head:
      if cfg.rms_norm:
        self.mlm_dropout = dropout_lib.Dropout(cfg.hidden_dropout_prob)
      if not cfg.rms_norm or cfg.embed_dim != cfg.hidden_size:
        self.mlm_dense = _dense(cfg, cfg.embed_dim, ("embed", "mlp"), None)
      if not cfg.rms_norm:
        self.mlm_norm = _layer_norm(cfg, None)
      if cfg.use_bias:
        self.mlm_bias = self.param("mlm_bias", _const(nn.initializers.zeros_init(), ("vocab",)),
                                   (cfg.vocab_size,), jnp.float32)
    if self.pooler:
      self.pooler_dense = _dense(cfg, cfg.hidden_size, ("embed", "mlp"), None)

  def _encode(self, token_ids, segment_ids, attention, deterministic):
    if segment_ids is None:
      segment_ids = jnp.zeros_like(token_ids)
    positions = jnp.broadcast_to(jnp.arange(token_ids.shape[1]), token_ids.shape)
    mask = attn_lib.attention_mask(token_ids, segment_ids, attention)[:, None]
    x = self.embeddings(token_ids, segment_ids, positions, deterministic)
    hidden, kvs = [x], []
    for layer in self.layers:
      x, kv = layer(x, mask, deterministic, None, positions)
      hidden.append(x)
      kvs.append(kv)
    return hidden, kvs

  def _outputs(self, hidden, deterministic: bool, mlm_positions=None) -> BertOutput:
    last = hidden[-1]
    at = last if mlm_positions is None else jnp.take_along_axis(last, mlm_positions[..., None], 1)
    return BertOutput(
        hidden_states=tuple(hidden), last_hidden_state=last,
        pooled=jnp.tanh(self.pooler_dense(last[:, 0])) if self.pooler else None,
        mlm_logits=self.mlm(at, deterministic) if self.mlm_head else None)

  def __call__(self, token_ids, segment_ids=None, attention: str = "bidirectional",
               mlm_positions=None, deterministic: bool = True) -> BertOutput:
    """Encodes int [B, N] tokens; attention 'bidirectional' | 'unilm' | 'causal' (see layers).

    `mlm_positions` (int [B, P]): MLM logits [B, P, V] at these positions only, not [B, N, V].
    """
    hidden, _ = self._encode(token_ids, segment_ids, attention, deterministic)
    return self._outputs(hidden, deterministic, mlm_positions)

  def mlm(self, hidden: jax.Array, deterministic: bool = True) -> jax.Array:
    """MLM logits [..., V] float32 = LN(act(dense(h))) @ W^T + b (W the word embeddings [V, E]).

    RoFormer-V2 (`rms_norm`): dropout(dense(h)) @ W^T, the dense only when E != D (bert4keras
    `Output-Mapping`, `Output-MLM-Dropout`).
    """
    cfg = self.config
    if cfg.rms_norm:
      h = hidden if cfg.embed_dim == cfg.hidden_size else self.mlm_dense(hidden)
      h = self.mlm_dropout(h, deterministic=deterministic)
    else:
      h = self.mlm_norm(ACTIVATIONS[cfg.hidden_act](self.mlm_dense(hidden)))
    emb = self.embeddings.word_embeddings.embedding.astype(cfg.compute_dtype)
    logits = dense_lib.dense(h, emb.T, preferred_element_type=jnp.float32)
    return add_output_bias(logits, self.mlm_bias) if cfg.use_bias else logits

  def prefill(self, token_ids, segment_ids=None,
              attention: str = "unilm") -> tuple[BertOutput, PrefixCache]:
    """Encodes a right-padded prompt [B, N] once; returns outputs and its `PrefixCache`."""
    hidden, kvs = self._encode(token_ids, segment_ids, attention, True)
    prefix = PrefixCache(keys=jnp.stack([k for k, _ in kvs]), values=jnp.stack([v for _, v in kvs]),
                         mask=attn_lib.padding_mask(token_ids))
    return BertOutput(hidden_states=tuple(hidden), last_hidden_state=hidden[-1]), prefix

  def decode_step(self, token_ids, segment_ids, positions,
                  cache: DecodeCache) -> tuple[jax.Array, DecodeCache]:
    """Runs S new positions per row against the cache (no dropout).

    Args:
      token_ids, segment_ids, positions: int [R, S]; positions are absolute position ids
        (e.g. prompt length + step, per row).
      cache: `DecodeCache` with R rows; the new positions go to slots index..index+S-1.
    Returns:
      (last hidden state [R, S, D], cache with the new slots written and index += S).
      New position s sees every non-padding prefix key, the earlier generated slots and the new
      positions <= s (those with token id != 0).
    """
    s = token_ids.shape[1]
    t = cache.mask.shape[1]
    mask = jax.lax.dynamic_update_slice(cache.mask, attn_lib.padding_mask(token_ids),
                                        (0, cache.index))
    slot = jnp.arange(t)
    visible = mask[:, None, :] & (slot[None, None, :] <= cache.index + jnp.arange(s)[None, :, None])
    x = self.embeddings(token_ids, segment_ids, positions, True)
    keys, values = [], []
    for i, layer in enumerate(self.layers):
      layer_cache = (cache.prefix.keys[i], cache.prefix.values[i], cache.prefix.mask,
                     cache.keys[i], cache.values[i], cache.index)
      x, (k, v) = layer(x, visible, True, layer_cache, positions)
      keys.append(k)
      values.append(v)
    new = cache.replace(keys=jnp.stack(keys), values=jnp.stack(values), mask=mask,
                        index=cache.index + s)
    return x, new
