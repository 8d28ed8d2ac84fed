"""Encoder selection by `config.model.architecture`: "bert" | "roformer" | "roformer_v2"."""
from typing import Any, Mapping

from flaxnlp.models import bert
from flaxnlp.models import roformer

CONFIGS = {cls.architecture: cls for cls in
           (bert.BertConfig, roformer.RoFormerConfig, roformer.RoFormerV2Config)}


def encoder_config(model_config: Mapping[str, Any], **overrides) -> bert.BertConfig:
  """The config dataclass named by `model_config["architecture"]` (default "bert").

  `model_config` is a mapping or `ml_collections.ConfigDict` (e.g. `config.model`) of that class's
  fields; unknown keys are an error. `overrides` replace entries (e.g. vocab_size).
  """
  d = dict(model_config.to_dict() if hasattr(model_config, "to_dict") else model_config)
  architecture = d.get("architecture", bert.BertConfig.architecture)
  if architecture not in CONFIGS:
    raise ValueError(f"model.architecture={architecture!r}; one of {sorted(CONFIGS)}")
  return CONFIGS[architecture].from_dict(d, **overrides)


def build_encoder(config: bert.BertConfig | Mapping[str, Any], **kwargs) -> bert.Bert:
  """The encoder module for `config`: a config dataclass, or a mapping for `encoder_config`.

  `kwargs` go to the module (mlm_head, pooler, name, ...).
  """
  if not isinstance(config, bert.BertConfig):
    config = encoder_config(config)
  return bert.Bert(config, **kwargs)
