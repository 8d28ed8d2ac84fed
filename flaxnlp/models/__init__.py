"""BERT / UniLM encoder (also RoFormer, RoFormer-V2 through their configs) and checkpoint converters."""
from flaxnlp.models.bert import Bert
from flaxnlp.models.bert import BertConfig
from flaxnlp.models.bert import BertOutput
from flaxnlp.models.bert import DecodeCache
from flaxnlp.models.bert import PrefixCache
from flaxnlp.models.bert import init_decode_cache
from flaxnlp.models.encoders import build_encoder
from flaxnlp.models.encoders import encoder_config
from flaxnlp.models.roformer import RoFormerConfig
from flaxnlp.models.roformer import RoFormerV2Config
