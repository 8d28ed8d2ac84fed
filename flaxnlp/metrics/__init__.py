"""Task metrics computed on the host from decoded predictions."""
from flaxnlp.metrics.qa import cmrc2018_evaluate, read_answer_expand, sogou_evaluate, SogouGold
from flaxnlp.metrics.ner import entity_f1
from flaxnlp.metrics.classification import multilabel_counts, multilabel_f1
from flaxnlp.metrics.extraction import event_f1, micro_prf, relation_f1
