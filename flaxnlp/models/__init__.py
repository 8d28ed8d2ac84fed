"""BERT / UniLM encoder and checkpoint converters."""
from flaxnlp.models.bert import Bert
from flaxnlp.models.bert import BertConfig
from flaxnlp.models.bert import BertOutput
from flaxnlp.models.bert import DecodeCache
from flaxnlp.models.bert import PrefixCache
from flaxnlp.models.bert import init_decode_cache
