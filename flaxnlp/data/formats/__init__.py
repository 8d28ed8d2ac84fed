"""Readers of on-disk data formats; each yields plain Python examples."""
from flaxnlp.data.formats.errors import DataFormatError
from flaxnlp.data.formats.ner import NerExample, read_cluener, read_cmeee, read_span_jsonl
from flaxnlp.data.formats.char_tagged import (TaggedCorpus, detect_scheme, read_char_tagged,
                                              read_conll, read_msra, read_people_daily)
from flaxnlp.data.formats.goemotions import MultiLabelExample, read_goemotions, read_label_names
