"""Readers of on-disk data formats; each yields plain Python examples."""
from flaxnlp.data.formats.errors import DataFormatError
from flaxnlp.data.formats.ner import NerExample, read_cluener, read_cmeee
from flaxnlp.data.formats.char_tagged import (TaggedCorpus, read_char_tagged, read_msra,
                                              read_people_daily)
from flaxnlp.data.formats.goemotions import MultiLabelExample, read_goemotions, read_label_names
