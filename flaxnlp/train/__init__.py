"""The trainer: `run(config, workdir, mode="train" | "eval" | "predict") -> RunResult`.

The trainer knows tasks only through the contract of `flaxnlp/tasks/base.py` (the whole of it;
`flaxnlp/tasks/toy.py` is a complete minimal task), reached by
`registry.get(config.task)(registry.resolve(config))`.
It calls, in this order:

  construction  `task.dummy_batch(1, min(buckets))` → `task.init_params(rng, batch)` (boxed with
                logical axis names, mapped to the mesh by `config.sharding_rules`; unnamed leaves
                are replicated); the optimizer state is built from the boxed params, so its
                moments carry (and are sharded by) the names of their params.
  warm start    if `config.init_checkpoint`: `task.warm_start(params, shardings, path,
                allow_partial=...)` → (params, report); the report is logged.
  training      `examples("train")` once; per record and epoch `featurize(ex, train=True, rng=...)`
                (rng seeded by (config.seed, record index)); per batch `collate(features, length)`
                with `length` = the smallest `config.train.buckets` entry ≥ the longest
                "token_ids" of the global batch; inside the jitted step
                `loss(params, batch, rng, deterministic=False, perturbations=None | {...})` →
                (scalar loss, dict of scalar aux metrics, logged as train metrics).
                `config.regularizer` wraps `loss` with `flaxnlp.regularizers`: fgm perturbs
                `params[task.embedding_path]` (or `config.regularizer.embedding_path` when set);
                input_gradient_penalty passes `task.zero_perturbations(batch, rng)`.
  evaluation    `examples(config.train.eval_split)` (with `config.train.holdout_fraction` > 0:
                a seeded part of `examples("train")`, whole `task.holdout_group`s, that training
                then skips); `featurize(ex, train=False, rng=...)`;
                `collate`; jitted `predict(params, batch)`; on the host
                `decode(outputs, batch, examples)` for the real rows of each batch; then
                `metrics(predictions, examples)` → dict of floats (`config.train.best_metric`
                picks the best checkpoint).
  predict mode  each input JSON line → `task.from_json(obj)`; a long text → `task.predict_windows`
                → featurize/collate/predict/decode per window → `task.merge_windows`;
                `task.to_json(example, prediction)` over the input's fields, one output line
                (`flaxnlp.train.predict_io`, which `flaxnlp.load(workdir).predict` runs too).

Workdir: config.json, metrics.jsonl, tensorboard/, checkpoints/ (state + grain iterator, exact
resume), best/ (params of the best eval).
"""
from flaxnlp.train.trainer import RunResult, Trainer, TrainState, run

__all__ = ["RunResult", "Trainer", "TrainState", "run"]
