"""Decoders: cached autoregressive generation, GlobalPointer spans (and their labels), cliques,
relations, BIO tags and the CRF's Viterbi (`viterbi`, the function of `flaxnlp.layers.crf`)."""
from flaxnlp.decoding.autoregressive import GenerateOutput
from flaxnlp.decoding.autoregressive import filter_top_k_top_p
from flaxnlp.decoding.autoregressive import generate
from flaxnlp.decoding.bio import bio_allowed_transitions
from flaxnlp.decoding.cliques import clique_search, decode_events, drop_subset_events
from flaxnlp.decoding.global_pointer import decode_spans
from flaxnlp.decoding.global_pointer import spans_to_dense_labels
from flaxnlp.decoding.global_pointer import spans_to_sparse_labels
from flaxnlp.decoding.relations import decode_relations
from flaxnlp.layers.crf import viterbi
