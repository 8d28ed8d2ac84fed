"""The NER model: a BERT encoder and a GlobalPointer / Efficient GlobalPointer / CRF head."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from flaxnlp.decoding import bio
from flaxnlp.layers import crf, global_pointer
from flaxnlp.models import bert, encoders


class NerModel(nn.Module):
  """BERT encoder + GlobalPointer / Efficient GlobalPointer head.

  Params: `encoder` (a `flaxnlp.models.Bert`, the subtree a warm start replaces) and `head`
  (+ `crf`, the transitions, for the crf head).
  Token id 0 is padding.

  Attributes:
    config: encoder config.
    heads: H, number of entity types.
    head_size: d.
    head_type: "gp" | "egp" | "crf" (`head` = Dense to 2H + 1 BIO tags, then `crf`).
    use_rope: RoPE in the head.
    crf_lr_multiplier: lr multiplier of the CRF transitions.
  """
  config: bert.BertConfig
  heads: int
  head_size: int = 64
  head_type: str = "egp"
  use_rope: bool = True
  crf_lr_multiplier: float = 1.0

  def setup(self):
    self.encoder = encoders.build_encoder(self.config)
    if self.head_type == "crf":
      num_tags = 2 * self.heads + 1
      self.head = nn.Dense(num_tags, dtype=jnp.float32, kernel_init=nn.with_logical_partitioning(
          nn.initializers.glorot_uniform(), ("embed", None)))
      self.crf = crf.ConditionalRandomField(num_tags, self.crf_lr_multiplier)
      return
    head_cls = {"gp": global_pointer.GlobalPointer,
                "egp": global_pointer.EfficientGlobalPointer}[self.head_type]
    self.head = head_cls(self.heads, self.head_size, use_rope=self.use_rope)

  def tag_nll(self, token_ids, tags, deterministic: bool = True) -> jax.Array:
    """CRF head: NLL float32 [B] of int [B, N] BIO `tags` over the text tokens (`bio.text_mask`)."""
    hidden = self.encoder(token_ids, deterministic=deterministic).last_hidden_state
    return self.crf.nll(self.head(hidden), tags, bio.text_mask(token_ids))

  def tag_paths(self, token_ids, deterministic: bool = True) -> jax.Array:
    """CRF head: BIO-constrained Viterbi paths int32 [B, N] (0 = O outside the text)."""
    hidden = self.encoder(token_ids, deterministic=deterministic).last_hidden_state
    allowed, start, end = bio.constraints(self.heads)
    return self.crf.decode(self.head(hidden), bio.text_mask(token_ids), allowed, start, end)

  def span_factors(self, token_ids, deterministic: bool = True) -> global_pointer.SpanFactors:
    """`SpanFactors` of the head for int [B, N] `token_ids` (for the blockwise loss)."""
    hidden = self.encoder(token_ids, deterministic=deterministic).last_hidden_state
    return self.head.project(hidden)

  def __call__(self, token_ids, deterministic: bool = True) -> jax.Array:
    """Span logits float32 [B, H, N, N]; padding rows/columns and cells j < i hold −1e12.

    The crf head returns its tag paths instead (`tag_paths`).
    """
    if self.head_type == "crf":
      return self.tag_paths(token_ids, deterministic)
    hidden = self.encoder(token_ids, deterministic=deterministic).last_hidden_state
    return self.head(hidden, token_ids != 0)


def span_f1(logits: jax.Array, labels: jax.Array, sparse: bool) -> jax.Array:
  """Training-batch F1 2·Σ(y·[s>0]) / Σ(y + [s>0]) (bert4keras `global_pointer_f1_score`)."""
  predicted = logits > 0
  if sparse:
    b, h, n, _ = logits.shape
    listed = labels > 0
    hits = jnp.take_along_axis(predicted.reshape(b, h, n * n), labels, axis=-1) & listed
    correct, gold = hits.sum(), listed.sum()
  else:
    correct, gold = (predicted & (labels > 0)).sum(), (labels > 0).sum()
  return 2 * correct / jnp.maximum(gold + predicted.sum(), 1)
