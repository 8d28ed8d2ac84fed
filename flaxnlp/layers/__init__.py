"""Pure Linen building blocks and attention masks."""
from flaxnlp.layers.attention import attention_mask
from flaxnlp.layers.attention import causal_mask
from flaxnlp.layers.attention import dot_product_attention
from flaxnlp.layers.attention import padding_mask
from flaxnlp.layers.attention import unilm_mask
from flaxnlp.layers.blockwise_loss import global_pointer_blockwise_loss
from flaxnlp.layers.dropout import Dropout
from flaxnlp.layers.global_pointer import MASK_VALUE
from flaxnlp.layers.global_pointer import EfficientGlobalPointer
from flaxnlp.layers.global_pointer import GlobalPointer
from flaxnlp.layers.global_pointer import SpanFactors
from flaxnlp.layers.global_pointer import decode_spans
from flaxnlp.layers.global_pointer import span_logits
from flaxnlp.layers.global_pointer import spans_to_dense_labels
from flaxnlp.layers.global_pointer import spans_to_sparse_labels
from flaxnlp.layers.rope import apply_rope
from flaxnlp.layers.rope import sinusoidal_positions
