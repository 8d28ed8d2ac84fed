"""Import pretrained BERT weights (HF transformers and Google TF checkpoints) into `Bert` params.

RoFormer (HF `RoFormerModel` / `RoFormerForMaskedLM`, or Google-style checkpoints as bert4keras
reads them) and RoFormer-V2 (Google-style names as bert4keras 0.11 maps them) load through the
same tables: the config (`flaxnlp.models.roformer`) decides which names exist — no position
embeddings with RoPE, `bert/encoder/embedding_hidden_mapping_in` when the embedding size differs
from the hidden size, and for RoFormer-V2 only kernels and embeddings (no bias, gamma or beta).

Both formats go through one table of Google variable names: an HF state dict is first renamed to
Google names (`hf_to_google_names`, Linear weights transposed to [in, out]) and then converted by
`load_google_variables`. Every name is accounted for: a missing weight or an unknown name raises
a `ValueError` listing them. The only names skipped are listed in `HF_IGNORED` / `GOOGLE_IGNORED`
(buffers, the next-sentence head, the MLM decoder tied to the word embeddings, optimizer slots),
plus the pooler / MLM head weights when they are explicitly not requested (`pooler=False`,
`mlm_head=False`).

`keep_tokens` (bert4keras simplified vocabulary) keeps the listed rows of the word embeddings
and entries of the MLM output bias, in that order.
"""
import dataclasses
import json
import os
import pathlib
import re
from typing import Any, Mapping, Sequence

import jax.numpy as jnp
import numpy as np

from flaxnlp.models import encoders
from flaxnlp.models.bert import BertConfig

# HF keys (after removing an optional `bert.` / `roformer.` prefix) with no parameter of `Bert`.
HF_IGNORED = (
    "embeddings.position_ids",          # buffer
    "encoder.embed_positions.weight",   # RoFormer's fixed sinusoidal table (RoPE is computed)
    "cls.predictions.decoder.weight",   # tied to embeddings.word_embeddings.weight
    "cls.predictions.decoder.bias",     # same tensor as cls.predictions.bias
    "cls.seq_relationship.weight",      # next-sentence-prediction head
    "cls.seq_relationship.bias",
)
# Google names with no `Bert` parameter; names ending in an optimizer slot suffix are skipped too.
GOOGLE_IGNORED = ("global_step", "cls/seq_relationship/output_weights",
                  "cls/seq_relationship/output_bias", "bad_steps", "loss_scale", "good_steps")
_OPTIMIZER_SLOTS = ("/adam_m", "/adam_v")

_POOLER = ("bert/pooler/dense/kernel", "bert/pooler/dense/bias")
_MLM = ("cls/predictions/transform/dense/kernel", "cls/predictions/transform/dense/bias",
        "cls/predictions/transform/LayerNorm/gamma", "cls/predictions/transform/LayerNorm/beta",
        "cls/predictions/output_bias")


def _to_numpy(x) -> np.ndarray:
  if hasattr(x, "detach"):  # torch tensor (any dtype, any device)
    x = x.detach().cpu().float().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
  return np.asarray(x)


_HF_LAYER_NORM = re.compile(
    r"(embeddings|encoder\.layer\.\d+\.(?:attention\.output|output)|cls\.predictions\.transform)"
    r"\.LayerNorm\.(weight|gamma|bias|beta)")
_HF_DENSE = re.compile(
    r"(encoder\.layer\.\d+\.(?:attention\.self\.(?:query|key|value)|attention\.output\.dense"
    r"|intermediate\.dense|output\.dense)|pooler\.dense|cls\.predictions\.transform\.dense)"
    r"\.(weight|bias)")


def _hf_name(key: str) -> tuple[str, bool] | None:
  """Google name of an HF key (prefix removed) and whether to transpose it; None if unknown."""
  m = re.fullmatch(r"embeddings\.(word|position|token_type)_embeddings\.weight", key)
  if m:
    return f"bert/embeddings/{m.group(1)}_embeddings", False
  m = re.fullmatch(r"embeddings_project\.(weight|bias)", key)
  if m:
    weight = m.group(1) == "weight"
    return "bert/encoder/embedding_hidden_mapping_in/" + ("kernel" if weight else "bias"), weight
  if key == "cls.predictions.bias":
    return "cls/predictions/output_bias", False
  m = _HF_LAYER_NORM.fullmatch(key)
  if m:
    kind = "gamma" if m.group(2) in ("weight", "gamma") else "beta"
    return f"{_stem(m.group(1))}/LayerNorm/{kind}", False
  m = _HF_DENSE.fullmatch(key)
  if m:
    weight = m.group(2) == "weight"
    return _stem(m.group(1)) + ("/kernel" if weight else "/bias"), weight
  return None


def _stem(stem: str) -> str:
  stem = re.sub(r"^encoder\.layer\.(\d+)", r"encoder.layer_\1", stem)
  prefix = "" if stem.startswith("cls") else "bert/"
  return prefix + stem.replace(".", "/")


def hf_to_google_names(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """Renames an HF BERT / RoFormer state dict to Google variable names.

  Keys may carry the `bert.` or `roformer.` prefix or not. Linear weights [out, in] become
  kernels [in, out]. Keys in `HF_IGNORED` are dropped; any other key that is not a BERT /
  RoFormer weight raises a ValueError listing all of them.
  """
  out, unknown = {}, []
  for key, value in state_dict.items():
    name = re.sub(r"^(bert|roformer)\.", "", key)
    if name in HF_IGNORED:
      continue
    mapped = _hf_name(name)
    if mapped is None:
      unknown.append(key)
      continue
    google, transpose = mapped
    array = _to_numpy(value)
    out[google] = array.T if transpose else array
  if unknown:
    raise ValueError(f"unknown keys in HF state dict (not BERT weights): {sorted(unknown)}")
  return out


def keep_tokens_params(params: dict, keep_tokens: Sequence[int]) -> dict:
  """Simplified vocabulary: keeps rows `keep_tokens` of the word embeddings and MLM output bias.

  New token i is old token keep_tokens[i]; the tied MLM output follows the embeddings. Returns a
  new params tree (the model config must then use vocab_size = len(keep_tokens)).
  """
  keep = np.asarray(keep_tokens, dtype=np.int64)
  vocab = params["embeddings"]["word_embeddings"]["embedding"].shape[0]
  if keep.ndim != 1 or keep.size == 0 or keep.min() < 0 or keep.max() >= vocab:
    raise ValueError(f"keep_tokens must be a non-empty list of ids in [0, {vocab})")
  params = dict(params)
  params["embeddings"] = dict(params["embeddings"])
  params["embeddings"]["word_embeddings"] = {
      "embedding": jnp.asarray(params["embeddings"]["word_embeddings"]["embedding"])[keep]}
  if "mlm_bias" in params:
    params["mlm_bias"] = jnp.asarray(params["mlm_bias"])[keep]
  return params


def _select(config: BertConfig, entries) -> dict[str, tuple[tuple, tuple[int, ...]]]:
  """Table of (Google name, params path, shape) entries, less those `config` has no parameter
  for: biases without `use_bias`, LayerNorm gamma/beta with `rms_norm`."""
  def present(name: str) -> bool:
    if name.endswith("/bias"):
      return config.use_bias
    if name.endswith(("/gamma", "/beta")):
      return not config.rms_norm
    return True
  return {name: (path, shape) for name, path, shape in entries if present(name)}


def _expected(config: BertConfig) -> dict[str, tuple[tuple, tuple[int, ...]]]:
  """Google name -> (params path, shape in Google layout) for the encoder."""
  d, e, f = config.hidden_size, config.embed_dim, config.intermediate_size
  emb = "bert/embeddings/"
  entries = [
      (emb + "word_embeddings", ("embeddings", "word_embeddings", "embedding"),
       (config.vocab_size, e)),
      (emb + "token_type_embeddings", ("embeddings", "token_type_embeddings", "embedding"),
       (config.type_vocab_size, e)),
      (emb + "LayerNorm/gamma", ("embeddings", "layer_norm", "scale"), (e,)),
      (emb + "LayerNorm/beta", ("embeddings", "layer_norm", "bias"), (e,))]
  if not config.rotary:
    entries.append((emb + "position_embeddings", ("embeddings", "position_embeddings",
                                                  "embedding"), (config.max_position_embeddings, e)))
  if e != d:
    mapping = "bert/encoder/embedding_hidden_mapping_in/"
    entries += [(mapping + "kernel", ("embeddings", "mapping", "kernel"), (e, d)),
                (mapping + "bias", ("embeddings", "mapping", "bias"), (d,))]
  for i in range(config.num_hidden_layers):
    g, p = f"bert/encoder/layer_{i}/", f"layers_{i}"
    for proj in ("query", "key", "value"):
      entries.append((f"{g}attention/self/{proj}/kernel", (p, "attention", proj, "kernel"), (d, d)))
      entries.append((f"{g}attention/self/{proj}/bias", (p, "attention", proj, "bias"), (d,)))
    for gname, pname, shape in (
        ("attention/output/dense/kernel", ("attention", "output", "kernel"), (d, d)),
        ("attention/output/dense/bias", ("attention", "output", "bias"), (d,)),
        ("attention/output/LayerNorm/gamma", ("attention_norm", "scale"), (d,)),
        ("attention/output/LayerNorm/beta", ("attention_norm", "bias"), (d,)),
        ("intermediate/dense/kernel", ("intermediate", "kernel"), (d, f)),
        ("intermediate/dense/bias", ("intermediate", "bias"), (f,)),
        ("output/dense/kernel", ("output", "kernel"), (f, d)),
        ("output/dense/bias", ("output", "bias"), (d,)),
        ("output/LayerNorm/gamma", ("output_norm", "scale"), (d,)),
        ("output/LayerNorm/beta", ("output_norm", "bias"), (d,))):
      entries.append((g + gname, (p,) + pname, shape))
  return _select(config, entries)


def _head_tables(config: BertConfig):
  """(pooler, MLM head) tables. RoFormer-V2's MLM head has no checkpoint name in bert4keras:
  with E = D it has no parameter at all (its table is empty)."""
  d, e = config.hidden_size, config.embed_dim
  pooler = _select(config, [(_POOLER[0], ("pooler_dense", "kernel"), (d, d)),
                            (_POOLER[1], ("pooler_dense", "bias"), (d,))])
  if config.rms_norm:
    return pooler, {}
  mlm = {_MLM[0]: (("mlm_dense", "kernel"), (d, e)), _MLM[1]: (("mlm_dense", "bias"), (e,)),
         _MLM[2]: (("mlm_norm", "scale"), (e,)), _MLM[3]: (("mlm_norm", "bias"), (e,)),
         _MLM[4]: (("mlm_bias",), (config.vocab_size,))}
  return pooler, mlm


def _to_param_layout(path: tuple, array: np.ndarray, config: BertConfig) -> np.ndarray:
  """Google layout -> `Bert` layout (split heads for the attention projections)."""
  h, dh = config.num_attention_heads, config.head_dim
  if path[1:2] == ("attention",):
    if path[2] in ("query", "key", "value"):
      return array.reshape(array.shape[:-1] + (h, dh))
    if path[2:] == ("output", "kernel"):
      return array.reshape(h, dh, -1)
  return array


def load_google_variables(variables: Mapping[str, Any], config: BertConfig, *,
                          mlm_head: bool | None = None, pooler: bool | None = None,
                          keep_tokens: Sequence[int] | None = None) -> dict:
  """Converts Google BERT variables (`bert/encoder/layer_0/attention/self/query/kernel`, ...).

  Args:
    variables: Google name -> array (numpy, or anything `np.asarray` accepts).
    config: the checkpoint's config; every shape is checked against it.
    mlm_head, pooler: True = required, False = not loaded (its weights are skipped),
      None = loaded if present.
    keep_tokens: optional simplified vocabulary (see `keep_tokens_params`).
  Returns:
    `Bert` params (nested dict of float32 arrays), to use as `{'params': params}`.
  Raises:
    ValueError naming every missing weight, unknown variable or shape mismatch.
  """
  if mlm_head and config.rms_norm and config.embed_dim != config.hidden_size:
    raise ValueError("RoFormer-V2 with embedding_size != hidden_size: bert4keras maps no "
                     "checkpoint variable to the MLM head's mapping (Output-Mapping)")
  table = _expected(config)
  pooler_t, mlm_t = _head_tables(config)
  for flag, head in ((pooler, pooler_t), (mlm_head, mlm_t)):
    present = any(name in variables for name in head)
    if flag or (flag is None and present):
      table.update(head)
  skipped = set(GOOGLE_IGNORED)
  if pooler is False:
    skipped |= set(pooler_t)
  if mlm_head is False:
    skipped |= set(mlm_t)
  unknown = sorted(n for n in variables if n not in table and n not in skipped
                   and not n.endswith(_OPTIMIZER_SLOTS))
  missing = sorted(n for n in table if n not in variables)
  bad_shape = []
  params: dict = {}
  for name, (path, shape) in table.items():
    if name not in variables:
      continue
    array = np.asarray(_to_numpy(variables[name]), dtype=np.float32)
    if array.shape != shape:
      bad_shape.append(f"{name}: {array.shape} != expected {shape}")
      continue
    node = params
    for key in path[:-1]:
      node = node.setdefault(key, {})
    node[path[-1]] = jnp.asarray(_to_param_layout(path, array, config))
  errors = []
  if missing:
    errors.append(f"missing weights: {missing}")
  if unknown:
    errors.append(f"unknown variables: {unknown}")
  if bad_shape:
    errors.append(f"shape mismatches: {bad_shape}")
  if errors:
    raise ValueError("cannot load BERT weights; " + "; ".join(errors))
  if keep_tokens is not None:
    params = keep_tokens_params(params, keep_tokens)
  return params


def load_hf_state_dict(state_dict: Mapping[str, Any], config: BertConfig, *,
                       mlm_head: bool | None = None, pooler: bool | None = None,
                       keep_tokens: Sequence[int] | None = None) -> dict:
  """Converts an HF `BertModel` / `BertForMaskedLM` / `BertForPreTraining` state dict, or (with a
  `RoFormerConfig`) an HF `RoFormerModel` / `RoFormerForMaskedLM` one.

  Keys may carry the `bert.` / `roformer.` prefix or not; values are numpy arrays or torch
  tensors. Arguments and errors as in `load_google_variables`.
  """
  return load_google_variables(hf_to_google_names(state_dict), config, mlm_head=mlm_head,
                               pooler=pooler, keep_tokens=keep_tokens)


def read_tf_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """Reads all variables of a TF checkpoint (`.../bert_model.ckpt`): `tf.train.load_checkpoint`.

  TensorFlow is an optional extra, only needed for this reader (`pip install tensorflow-cpu`).
  """
  try:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise RuntimeError(
        f"reading the TF checkpoint {path} needs TensorFlow, an optional extra of flaxnlp: "
        "`pip install tensorflow-cpu` (or convert the checkpoint elsewhere and pass the arrays "
        "to flaxnlp.models.checkpoints.load_google_variables)") from e
  reader = tf.train.load_checkpoint(str(path))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def _read_hf_weights(directory: pathlib.Path) -> dict:
  safetensors_file = directory / "model.safetensors"
  if safetensors_file.exists():
    from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
    return load_file(str(safetensors_file))
  bin_file = directory / "pytorch_model.bin"
  if bin_file.exists():
    try:
      import torch  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise RuntimeError(f"{bin_file} is a torch pickle; reading it needs torch "
                         "(`pip install torch`), or convert it to model.safetensors") from e
    return torch.load(str(bin_file), map_location="cpu", weights_only=True)
  raise FileNotFoundError(f"{directory}: neither model.safetensors nor pytorch_model.bin found")


def load_pretrained(path: str | os.PathLike, *, mlm_head: bool | None = None,
                    pooler: bool | None = None, keep_tokens: Sequence[int] | None = None,
                    architecture: str = "bert", **config_overrides) -> tuple[BertConfig, dict]:
  """Loads (config, params) from an HF directory or a Google BERT directory / checkpoint prefix.

  HF: `config.json` + `model.safetensors` (or `pytorch_model.bin`, needs torch); its
  `model_type` "roformer" gives a `RoFormerConfig`, anything else a `BertConfig`.
  Google: `bert_config.json` + `bert_model.ckpt.*` (needs TensorFlow), or a checkpoint prefix
  whose directory holds `bert_config.json`; `architecture` ("bert" | "roformer" | "roformer_v2")
  names the config class, which the file does not tell. With `keep_tokens` the returned config
  has vocab_size = len(keep_tokens). `config_overrides` (e.g. dtype, remat, dropout) go to the
  config.
  """
  path = pathlib.Path(path)
  heads = dict(mlm_head=mlm_head, pooler=pooler, keep_tokens=keep_tokens)
  if path.is_dir() and (path / "config.json").exists():
    with open(path / "config.json", encoding="utf-8") as f:
      model_type = json.load(f).get("model_type")
    config_cls = encoders.CONFIGS["roformer" if model_type == "roformer" else "bert"]
    config = config_cls.from_json(path / "config.json", **config_overrides)
    params = load_hf_state_dict(_read_hf_weights(path), config, **heads)
  else:
    directory, ckpt = (path, path / "bert_model.ckpt") if path.is_dir() else (path.parent, path)
    if not (directory / "bert_config.json").exists():
      raise FileNotFoundError(f"{path}: no HF config.json nor Google bert_config.json found")
    config = encoders.CONFIGS[architecture].from_json(directory / "bert_config.json",
                                                      **config_overrides)
    params = load_google_variables(read_tf_checkpoint(ckpt), config, **heads)
  if keep_tokens is not None:
    config = dataclasses.replace(config, vocab_size=len(keep_tokens))
  return config, params


def _google_to_hf_name(google: str) -> str:
  """HF key (with the `bert.` prefix where HF has one) of a Google variable name."""
  name = {"cls/predictions/output_bias": "cls/predictions/bias",
          "bert/encoder/embedding_hidden_mapping_in/kernel": "bert/embeddings_project/weight",
          "bert/encoder/embedding_hidden_mapping_in/bias": "bert/embeddings_project/bias",
          }.get(google, google)
  name = re.sub(r"layer_(\d+)", r"layer/\1", name)
  name = re.sub(r"LayerNorm/gamma$", "LayerNorm/weight", name)
  name = re.sub(r"LayerNorm/beta$", "LayerNorm/bias", name)
  name = re.sub(r"(_embeddings)$", r"\1/weight", name)
  name = re.sub(r"kernel$", "weight", name)
  return name.replace("/", ".")


def _sinusoidal_table(positions: int, dim: int) -> np.ndarray:
  """float32 [positions, dim]: HF RoFormer's sinusoidal table, sin(p·ω_k) in the first dim/2
  columns and cos(p·ω_k) in the rest, ω_k = 10000^(−2k/dim) (kept in float32: these are angles)."""
  angles = np.arange(positions)[:, None] * 10000.0 ** (-2.0 * np.arange(dim // 2) / dim)
  return np.concatenate([np.sin(angles), np.cos(angles)], axis=1).astype(np.float32)


def save_pretrained(directory: str | os.PathLike, config: BertConfig, params: Mapping[str, Any],
                    *, vocab: str | os.PathLike | None = None, dtype: str = "float32") -> None:
  """Writes `Bert` params as an HF folder; the inverse of `load_pretrained`.

  A BERT config gives `BertForMaskedLM` / `BertModel`, a RoFormer (v1) config
  `RoFormerForMaskedLM` / `RoFormerModel` (keys under `roformer.`). Files: `config.json` (the
  config's fields with HF names), `model.safetensors` (HF names, Linear weights [out, in],
  stored as `dtype`: "float32" or "float16"), and `vocab.txt` copied from `vocab` when given.
  The MLM head and the pooler are written when `params` holds them. RoFormer-V2 has no HF class.
  """
  import shutil  # pylint: disable=import-outside-toplevel

  from safetensors.numpy import save_file  # pylint: disable=import-outside-toplevel
  hf_class = {"bert": "Bert", "roformer": "RoFormer"}.get(config.architecture)
  if hf_class is None:
    raise ValueError(f"save_pretrained writes BERT and RoFormer folders; {config.architecture} "
                     "has no HF class")
  table = _expected(config)
  pooler_t, mlm_t = _head_tables(config)
  table.update({k: v for head in (pooler_t, mlm_t) for k, v in head.items()
                if head[next(iter(head))][0][0] in params})
  tensors = {}
  for google, (path, shape) in table.items():
    leaf = params
    for key in path:
      leaf = leaf[key]
    array = np.asarray(leaf, np.float32).reshape(shape)
    hf = _google_to_hf_name(google)
    stripped = hf[len("bert."):] if hf.startswith("bert.") else hf
    if _hf_name(stripped) != (google, google.endswith("kernel")):
      raise AssertionError(f"HF name {hf} does not map back to {google}")
    if stripped != hf and config.architecture == "roformer":
      hf = "roformer." + stripped
    tensors[hf] = np.ascontiguousarray(array.T if google.endswith("kernel") else array
                                       ).astype(dtype)
  if config.architecture == "roformer":  # HF's fixed RoPE table, so HF finds every weight it expects
    tensors["roformer.encoder.embed_positions.weight"] = _sinusoidal_table(
        config.max_position_embeddings, config.head_dim)
  out = pathlib.Path(directory)
  out.mkdir(parents=True, exist_ok=True)
  save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
  fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if f.name not in ("dtype", "remat")}
  head = f"{hf_class}ForMaskedLM" if "mlm_bias" in params else f"{hf_class}Model"
  extra = {"position_embedding_type": "absolute"} if config.architecture == "bert" else {}
  (out / "config.json").write_text(json.dumps(
      {"architectures": [head], "model_type": config.architecture, "pad_token_id": 0,
       "torch_dtype": dtype, **extra, **fields}, indent=2) + "\n")
  if vocab is not None:
    shutil.copyfile(vocab, out / "vocab.txt")
