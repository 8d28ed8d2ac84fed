"""Attention masks (padding, causal, UniLM) and masked scaled dot-product attention.

Conventions: a mask is a boolean array, `True` where query i may attend to key j. Token id 0 is
padding. Masked logits are replaced by a large finite negative in float32 (`jnp.where`, never
`-inf - -inf`), so a row with every key masked yields a uniform distribution instead of NaN.
"""
import jax
import jax.numpy as jnp

# Finite stand-in for -inf on masked attention logits (float32).
MASK_VALUE = float(jnp.finfo(jnp.float32).min)


def padding_mask(token_ids: jax.Array) -> jax.Array:
  """Key padding mask: `token_ids != 0`, bool [B, N]."""
  return token_ids != 0


def causal_mask(length: int) -> jax.Array:
  """Lower-triangular mask: query i sees keys j <= i, bool [N, N]."""
  return jnp.tril(jnp.ones((length, length), dtype=bool))


def unilm_mask(segment_ids: jax.Array, token_ids: jax.Array | None = None) -> jax.Array:
  """UniLM seq2seq mask (bert4keras `UniLM_Mask`): bool [B, N, N], query i may see key j.

  With c = cumsum(segment_ids, axis=1), allowed[b, i, j] = c[b, j] <= c[b, i]: source tokens
  (segment 0, c = 0) see the whole source; the k-th target token (c = k) sees the source and the
  targets 1..k. Padding must carry segment 0, so padded keys share the last target's index and are
  only removed by the key padding mask, which is ANDed in when `token_ids` is given
  (allowed &= token_ids[b, j] != 0).

  Args:
    segment_ids: int [B, N], 0 = source (bidirectional), 1 = target (causal).
    token_ids: optional int [B, N]; 0 marks padding keys.
  Returns:
    bool [B, N, N].
  """
  c = jnp.cumsum(segment_ids, axis=1)
  allowed = c[:, None, :] <= c[:, :, None]
  if token_ids is not None:
    allowed &= padding_mask(token_ids)[:, None, :]
  return allowed


def attention_mask(token_ids: jax.Array, segment_ids: jax.Array, kind: str) -> jax.Array:
  """Full self-attention mask of kind 'bidirectional' | 'unilm' | 'causal', bool [B, N, N].

  Every kind is ANDed with the key padding mask `token_ids != 0`.
  """
  keys = padding_mask(token_ids)[:, None, :]
  n = token_ids.shape[1]
  if kind == "bidirectional":
    return jnp.broadcast_to(keys, (token_ids.shape[0], n, n))
  if kind == "unilm":
    return unilm_mask(segment_ids, token_ids)
  if kind == "causal":
    return causal_mask(n)[None] & keys
  raise ValueError(
      f"unknown attention kind {kind!r}; expected 'bidirectional', 'unilm' or 'causal'")


def masked_softmax(logits: jax.Array, mask: jax.Array) -> jax.Array:
  """softmax over the last axis of `where(mask, logits, MASK_VALUE)`, computed in float32."""
  logits = jnp.where(mask, logits.astype(jnp.float32), MASK_VALUE)
  return jax.nn.softmax(logits, axis=-1)


def dot_product_attention(query: jax.Array, key: jax.Array, value: jax.Array, mask: jax.Array,
                          dropout_fn=None) -> jax.Array:
  """softmax(q k^T / sqrt(d), masked) v, softmax in float32.

  Args:
    query: [B, Nq, H, D]; key, value: [B, H, Nk, D] (the key/value-cache layout).
    mask: bool broadcastable to [B, H, Nq, Nk].
    dropout_fn: optional function applied to the attention probabilities.
  Returns:
    [B, Nq, H, D] in the dtype of `value`.
  """
  scale = 1.0 / jnp.sqrt(query.shape[-1]).astype(jnp.float32)
  logits = jnp.einsum("bqhd,bhkd->bhqk", query, key, preferred_element_type=jnp.float32) * scale
  probs = masked_softmax(logits, mask)
  if dropout_fn is not None:
    probs = dropout_fn(probs)
  return jnp.einsum("bhqk,bhkd->bqhd", probs.astype(value.dtype), value)


def prefix_cached_attention(query: jax.Array, prefix_key: jax.Array, prefix_value: jax.Array,
                            prefix_mask: jax.Array, key: jax.Array, value: jax.Array,
                            mask: jax.Array) -> jax.Array:
  """Attention of new positions over a shared prefix cache plus a per-row cache (decoding).

  R = B * K query rows share B prefixes: row r uses prefix r // K (K beams or samples per prompt).
  One softmax (float32) runs over the concatenation [prefix keys ; row keys], so the result equals
  attention over the full sequence with the same mask.

  Args:
    query: [R, S, H, D] new positions.
    prefix_key, prefix_value: [B, H, N, D] prefix keys/values, computed once.
    prefix_mask: bool [B, N], prefix keys visible to every new position (non-padding).
    key, value: [R, H, T, D] per-row keys/values of generated positions (cache slots).
    mask: bool [R, S, T], slot t visible to new position s of row r.
  Returns:
    [R, S, H, D] in the dtype of `value`.
  """
  r, s, h, d = query.shape
  b, n = prefix_mask.shape
  k = r // b
  t = key.shape[2]
  q = query.reshape(b, k, s, h, d)
  scale = 1.0 / jnp.sqrt(d).astype(jnp.float32)
  logits_p = jnp.einsum("bkshd,bhnd->bkhsn", q, prefix_key, preferred_element_type=jnp.float32)
  logits_g = jnp.einsum("bkshd,bkhtd->bkhst", q, key.reshape(b, k, h, t, d),
                        preferred_element_type=jnp.float32)
  logits = jnp.concatenate([logits_p, logits_g], axis=-1) * scale
  full_mask = jnp.concatenate([
      jnp.broadcast_to(prefix_mask[:, None, None, None, :], (b, k, 1, s, n)),
      mask.reshape(b, k, 1, s, t)], axis=-1)
  probs = masked_softmax(logits, full_mask).astype(value.dtype)
  out = (jnp.einsum("bkhsn,bhnd->bkshd", probs[..., :n], prefix_value)
         + jnp.einsum("bkhst,bkhtd->bkshd", probs[..., n:], value.reshape(b, k, h, t, d)))
  return out.reshape(r, s, h, d)
