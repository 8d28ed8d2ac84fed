"""Pure Linen building blocks and attention masks."""
from flaxnlp.layers.attention import attention_mask
from flaxnlp.layers.attention import causal_mask
from flaxnlp.layers.attention import dot_product_attention
from flaxnlp.layers.attention import padding_mask
from flaxnlp.layers.attention import unilm_mask
from flaxnlp.layers.crf import ConditionalRandomField
from flaxnlp.layers.crf import crf_log_partition
from flaxnlp.layers.crf import crf_path_score
from flaxnlp.layers.crf import viterbi
from flaxnlp.layers.dropout import Dropout
from flaxnlp.layers.global_pointer import MASK_VALUE
from flaxnlp.layers.global_pointer import EfficientGlobalPointer
from flaxnlp.layers.global_pointer import GlobalPointer
from flaxnlp.layers.global_pointer import SpanFactors
from flaxnlp.layers.global_pointer import span_logits
from flaxnlp.layers.rope import apply_rope
from flaxnlp.layers.rope import sinusoidal_positions
