"""RoFormer and RoFormer-V2 configs: the `Bert` modules with rotary position embeddings.

The encoder is `flaxnlp.models.Bert` (same parameter naming, logical axes, masks 'bidirectional' |
'unilm' | 'causal', MLM head, `prefill` / `decode_step`); these config classes switch its
architecture (`BertConfig` documents the switches). Build one with `flaxnlp.models.build_encoder`.

RoFormer (HF `RoFormerModel` / `RoFormerForMaskedLM`; Su et al. 2021, kexue.fm/archives/8265):
BERT without position embeddings; in every layer queries and keys (and values with
`rotary_value`) are rotated by RoPE at their absolute positions (channel pairs (2m, 2m+1),
θ_m = 10000^(-2m/Dh), position 0 = the first token). Word and segment embeddings have width
E = `embedding_size` (default: hidden_size), followed by LayerNorm, dropout and, when E != D, a
dense E -> D (`embeddings/mapping`). The MLM head is dense D -> E, activation, LayerNorm(E), the
tied word embeddings and an output bias.

RoFormer-V2 (bert4keras 0.11 `models.RoFormerV2`; kexue.fm/archives/8998): RoFormer with no bias
anywhere and every norm replaced by the parameter-free x / sqrt(mean(x²) + eps) (no mean
subtraction, no gain, no bias). Embeddings: word + segment, dropout, norm, then a bias-free
mapping E -> D when E != D. Post-norm layers: norm(x + dropout(Attn(x))), then
norm(h + dropout(FFN(h))) with FFN = dense(act(dense(h))), act = `hidden_act` (relu in the released
checkpoints). The MLM head is a bias-free dense D -> E (only when E != D), dropout, and the tied
word embeddings without output bias. bert4keras's epsilon is Keras' `K.epsilon()` = 1e-7.
"""
import dataclasses

from flaxnlp.models.bert import BertConfig


@dataclasses.dataclass(frozen=True)
class RoFormerConfig(BertConfig):
  """HF `RoFormerConfig` fields (plus `BertConfig`'s); `max_position_embeddings` is not used
  (RoPE angles are computed for any position)."""
  architecture = "roformer"
  embedding_size: int | None = None   # E; None = hidden_size
  rotary_value: bool = False          # also rotate the values (HF `rotary_value`)

  def __post_init__(self):
    super().__post_init__()
    if self.embedding_size is not None and self.embedding_size < 1:
      raise ValueError(f"embedding_size must be positive, got {self.embedding_size}")
    if self.head_dim % 2:
      raise ValueError(f"RoPE needs an even head size, got {self.head_dim}")

  @property
  def rotary(self) -> str:
    return "qkv" if self.rotary_value else "qk"

  @property
  def embed_dim(self) -> int:
    return self.embedding_size or self.hidden_size


@dataclasses.dataclass(frozen=True)
class RoFormerV2Config(RoFormerConfig):
  """bert4keras RoFormerV2 hyper-parameters (Google `bert_config.json` field names)."""
  architecture = "roformer_v2"
  use_bias = False
  rms_norm = True
  hidden_act: str = "relu"
  layer_norm_eps: float = 1e-7

  def __post_init__(self):
    super().__post_init__()
    if self.rotary_value:
      raise ValueError("RoFormer-V2 rotates queries and keys only (rotary_value must be False)")
