"""Seq2seq reading comprehension (UniLM + multi-passage vote) on CMRC 2018 — the
runnable stand-in for the WebQA/SogouQA experiment (rc_webqa_sogouqa_seq2seq.py), whose data is not
available here. Scores are NOT comparable to any published CMRC 2018 result.

  python launch.py --config experiments/rc_cmrc2018_seq2seq.py --workdir runs/rc_cmrc
  python launch.py --config experiments/rc_cmrc2018_seq2seq.py:scratch --workdir runs/rc_cmrc_scratch
  python launch.py --config experiments/rc_cmrc2018_seq2seq.py:long --workdir runs/rc_cmrc_long
  python launch.py --config experiments/rc_cmrc2018_seq2seq.py --workdir runs/rc_cmrc \
      --mode predict --input questions.jsonl --output answers.jsonl  # {"question", "passages"}

Variants: `:zh-small` (the default, `configs.DEFAULT_START`: fine-tunes the shipped
`weights/zh-small`, its MLM head included, AdamW 1e-3, 1,000 steps ≈ 4.5 epochs, half the
training passages drawn among the answer-bearing ones), `:long` (zh-small, 20 epochs, not run),
`:scratch` (the set-up below, a random-init encoder).

Measured here, `:zh-small` (2 CPU cores; the fast test suite ran beside it): CMRC F1 0.78,
EM 0.78 (percent), answered 0.023 on 128 held-out questions (3 answered, 1 of them right),
26.6 min wall (0.64 steps/s; train loss 5.15 → 2.54 at steps 50 / 1,000). The held-out
*training* articles gave F1 3.26, answered 0.117 with the same config (table below). Target
F1 ≥ 35 with answered ≥ 0.5 far from reached. The step-0 report on these 128 questions: `[SEP]`
wins step 0 on 97% of the 135 answer-bearing passages (P 0.62) and on all but one of the 418
answerless ones (P 0.75); the answer's first token gets P 0.009 (median rank 75). So nearly
every passage is excluded at step 0 and the answer is empty. Before (lr 3e-4, the uniform passage
draw): F1 = EM = 0.0, answered 0.0, 30.6 min.

How the set-up was chosen, on training articles only (`--config.train.holdout_fraction=0.2`: 187
of the training articles, 729 questions, held out by article; the first 128 decoded):
  python launch.py --config experiments/rc_cmrc2018_seq2seq.py --workdir runs/rc_hold \
      --config.train.holdout_fraction=0.2 --config.train.eval_every=500 \
      [--config.optimizer.learning_rate=3e-4]
  python -m flaxnlp.diagnostics.reading_comprehension --workdir runs/rc_hold --limit 128 --latest
| lr, answer_passage_rate | F1 / EM / answered at step 500 | at step 1,000 | gold first token at step 0: mean P, median rank | train loss |
| 3e-4, 0.5 | 0.0 / 0.0 / 0.0 | 0.0 / 0.0 / 0.0 | 0.007, 59 | 3.19 |
| 1e-3, 0.5 (the default) | 0.0 / 0.0 / 0.016 | 3.26 / 2.34 / 0.117 | 0.014, 45 | 2.35 |
(F1 and EM in percent, as the CMRC 2018 script reports them; rank among 13,584 tokens.) With
lr 1e-3 on 1,000 steps, 24.9 min here (a 1.5-minute evaluation beside it). The earlier default (3e-4 and bert4keras's uniform passage
draw, 77% answerless samples) was not re-run on the holdout; lr 1e-3 with the uniform draw was not
measured either, so the rate of 0.5 is carried over, not chosen. `[SEP]` still wins step 0 on
93% of the answer-bearing passages (P 0.58) and 98% of the answerless ones (P 0.73): the reader
has begun to point at answers (the gold first token's probability doubled) but rarely enough to
beat the no-answer prior. So the limit is the reader (a 4-layer encoder, 6.7 M parameters,
pretrained on 9.8 M tokens, fine-tuned on 2,842–3,571 questions for 1,000 steps), not the
no-answer rule.

Data: ../shared/data/cmrc2018 (`FLAXNLP_SHARED_DATA` overrides the root): the official dev
(3,219 questions, 848 articles) and trial (1,002) files of github.com/ymcui/cmrc2018
(`squad-style-data/`); the official train file is not available here. Split by article (seeded):
20% of the dev articles (≈ 640 questions) are "eval", the other dev articles + trial are "train".
Each context is cut into windows of `cmrc_window_chars` characters, one passage each, so the
answer sits in one of several passages and the step-0 no-answer exclusion and the vote matter.

`:scratch`: random-init UniLM BERT (2 layers, hidden 128, simplified Chinese-BERT vocabulary from
cn-clip), lengths 128 / 32 / 16, AdamW 1e-3 with linear decay, batch 16, beam 2, extractive.

Measured here (2 CPU cores), `:scratch` (300 steps ≈ 1.3 epochs of the 3,571 training questions)
took 5.3 min wall (307 s of training at 1.0 step/s, then 128 held-out questions decoded with beam
2); train loss 3.75; CMRC EM = F1 = 0.0, Sogou Final 0.0, `answered` 0.0. The 0.0 is the
no-answer rule at work, not a pipeline failure: a question's passages are its context's 126-char
windows (4.6 per question), so 77% of the training samples (a random passage per question and
epoch, §1.2) have the empty answer, and after 300 steps the model's most likely first token on
every held-out passage is `[SEP]`; every passage is then excluded at step 0 and the answer is
empty. `:long` (20 epochs, ≈ 75 min here) was not run. Not
comparable: a from-scratch model on ≈ 3,600 questions is far from the ≈ 85 F1 of pretrained
BERT-base trained on the official 10k train set; the learning test shows that the same pipeline
memorises questions (F1 62.5).
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import reading_comprehension


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """CMRC 2018 config; `arg` ∈ {None, "scratch", "zh-small", "long"} (module docstring); None is
  `configs.DEFAULT_START`."""
  variant = configs.variant(arg, ("scratch", "zh-small", "long"), configs.DEFAULT_START)
  c = configs.base_config(warm_start="" if variant == "scratch" else "zh-small")
  c.task = "reading_comprehension"
  c.task_args = reading_comprehension.ReadingComprehensionTask.task_args(
      dataset="cmrc2018", max_p_len=128, max_q_len=32, max_a_len=16, beam_size=2,
      extractive=True, cmrc_window_chars=126,
      answer_passage_rate=0.0 if variant == "scratch" else 0.5)
  if variant == "scratch":
    c.model = configs.encoder("tiny", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
  c.optimizer.name = "adamw"
  c.optimizer.learning_rate = 1e-3  # zh-small: chosen on held-out training articles (docstring)
  c.optimizer.schedule = "linear"
  c.train.batch_size = 16
  c.train.num_steps = {"zh-small": 1000, "scratch": 300, "long": 20 * 3600 // 16}[variant]
  c.optimizer.warmup_steps = c.train.num_steps // 20
  c.train.buckets = (96, 128, 192)
  c.train.length_group_batches = 16  # batches of similar lengths (less padding)
  c.train.eval_every = 0 if variant != "long" else 2000
  c.train.eval_batch_size = 32
  c.train.max_eval_examples = 128 if variant != "long" else 0
  c.train.best_metric = "cmrc_f1"
  c.train.log_every = 50
  c.train.checkpoint_every = c.train.num_steps if variant != "long" else 2000
  c.lock()
  return c
