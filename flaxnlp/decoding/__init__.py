"""Decoders: cached autoregressive generation, span and clique decoders, CRF Viterbi."""
from flaxnlp.decoding.autoregressive import GenerateOutput
from flaxnlp.decoding.autoregressive import filter_top_k_top_p
from flaxnlp.decoding.autoregressive import generate
from flaxnlp.decoding.cliques import clique_search, decode_events, drop_subset_events
from flaxnlp.decoding.relations import decode_relations
from flaxnlp.decoding.viterbi import bio_allowed_transitions  # the decoder: viterbi.viterbi
