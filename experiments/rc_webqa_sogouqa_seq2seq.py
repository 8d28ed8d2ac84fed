"""bojone's seq2seq reading comprehension on WebQA + SogouQA (bert4keras
`examples/task_reading_comprehension_by_seq2seq.py`, blog 7115) — for users holding the data and
the BERT weights; not run (neither is in the shared data).

  python launch.py --config experiments/rc_webqa_sogouqa_seq2seq.py --workdir runs/rc_sogou \
      --config.task_args.data_dir=/path/to/dgcnn_datasets \
      --config.init_checkpoint=/path/to/chinese_L-12_H-768_A-12
  # official SogouQA gold (qid_answer_expand of the DGCNN repo's evaluate_tool):
  python launch.py ... --mode eval --config.task_args.answer_expand=/path/to/qid_answer_expand
  # answers for {"id", "question", "passages": [str, ...]} lines:
  python launch.py ... --mode predict --input questions.jsonl --output answers.jsonl

Data: `SogouQA.json` and `WebQA.json` in `data_dir`, bojone's reformatting (one JSON list of
{"id", "question", "passages": [{"passage", "answer"}]}), distributed only through Baidu pan:
github.com/bojone/dgcnn_for_reading_comprehension `datasets/README.md`
(https://pan.baidu.com/s/11C21BAupOpiYWoOx23J7Mg, password dh9w). Put bojone's `random_order.json`
(the Sogou permutation) in `data_dir` to reproduce his exact split; otherwise a seeded permutation is
used. Eval = positions i % 3 == 0 of the permutation (1/3 of Sogou, ≈ 10,000 questions); train =
the other 2/3 of Sogou twice + all of WebQA (Sogou:WebQA = 2:1).

Weights: Google `chinese_L-12_H-768_A-12` (TF checkpoint, needs TensorFlow) or an HF
bert-base-chinese directory with the MLM head. Set-up: UniLM mask + MLM head, simplified vocabulary
(keep_tokens: the task's `pretrained_params` slices the checkpoint's embedding rows and MLM bias
to it when the weights load), lengths 256 / 64 / 32, bert4keras Adam lr 1e-5 (eps 1e-6), constant, batch 32,
8 epochs of the mixed list, no validation during training (last checkpoint), beam 2, extractive,
vote log(v + 1e-12).

Expected (blog 7115 / example header; 1/3 Sogou offline split, official tool):
Accuracy 0.7259, F1 0.8139, Final 0.7699 (±0.5 pt from the random split). Our `sogou_*` metrics
without `answer_expand` use standard = first passage answer, expansions = all passage answers, a
close but not identical gold. Time: not measured (BERT-base, ≈ 8 × 43k samples; GPU/TPU needed).
The technique: docs/techniques.md#reading-comprehension-by-seq2seq; the runnable stand-in on
CMRC 2018: docs/results.md#cmrc-2018.
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.tasks import reading_comprehension

NUM_TRAIN_QUESTIONS = 2 * 20_000 + 42_000   # Sogou-train twice + WebQA (approximate)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """bojone's BERT-base set-up (warm-started: `init_checkpoint` is required); no variants."""
  configs.variant_set(arg, ())
  c = configs.base_config()
  c.task = "reading_comprehension"
  c.task_args = reading_comprehension.ReadingComprehensionTask.task_args(
      dataset="webqa_sogouqa", simplified_vocab=True, max_p_len=256, max_q_len=64, max_a_len=32,
      beam_size=2, extractive=True)
  c.model = configs.encoder("base")
  c.init_checkpoint_required = True
  c.optimizer.name = "adamw"
  c.optimizer.learning_rate = 1e-5
  c.optimizer.eps = 1e-6
  c.optimizer.schedule = "constant"
  c.train.batch_size = 32
  c.train.num_steps = 8 * NUM_TRAIN_QUESTIONS // 32
  c.train.buckets = (128, 256, 384)
  c.train.length_group_batches = 16  # batches of similar lengths (less padding)
  c.train.eval_every = 0           # bojone does not validate during training
  c.train.eval_batch_size = 32
  c.train.checkpoint_every = NUM_TRAIN_QUESTIONS // 32
  c.lock()
  return c
