"""Decoders: cached autoregressive generation, span and clique decoders."""
from flaxnlp.decoding.autoregressive import GenerateOutput
from flaxnlp.decoding.autoregressive import filter_top_k_top_p
from flaxnlp.decoding.autoregressive import generate
