"""The trainer: `run(config, workdir, mode="train" | "eval" | "predict")`.

How a task plugs in (see `flaxnlp/tasks/base.py`; `flaxnlp/train/testing.py` is a complete
minimal example). The trainer reaches the task only through `registry.get(config.task)(config)`
and calls, in this order:

  construction  `build_model()`; `dummy_batch(1, min(buckets))` → params are initialised with
                `model.init({"params": k, "dropout": k}, batch["token_ids"][, batch["segment_ids"]])`
                ["params"] (or `task.init_params(rng, dummy_batch)` if the task defines it). Params
                may be boxed with `nn.with_logical_partitioning`; the names are mapped to the mesh
                by `config.sharding_rules`, unnamed leaves are replicated.
  warm start    if `config.init_checkpoint`: `flaxnlp.models.checkpoints.load_pretrained(path)`
                params (after the optional `task.transform_pretrained_params(params)`, e.g. a
                simplified-vocabulary slice) replace the subtree `params[task.encoder_key]`
                (default ("encoder",)).
  training      `examples("train")` once; per record and epoch `featurize(ex, train=True, rng=...)`
                (rng seeded by (config.seed, record index)); per batch `collate(features, length)`
                with `length` = the smallest `config.train.buckets` entry ≥ the longest
                "token_ids" of the global batch; inside the jitted step
                `loss(params, batch, rng, deterministic=False, perturbations=None | {...})` →
                (scalar loss, dict of scalar aux metrics, logged as train metrics).
                `config.regularizer` wraps `loss` with `flaxnlp.regularizers`: fgm perturbs
                `params[regularizer.embedding_path]`; input_gradient_penalty passes zeros shaped
                like the model's "perturbations" collection (from the default init call, or
                `task.zero_perturbations(batch, rng)` if defined).
  evaluation    `examples(config.train.eval_split)`; `featurize(ex, train=False, rng=...)`;
                `collate`; jitted `predict(params, batch)`; on the host
                `decode(outputs, batch, examples)` for the real rows of each batch; then
                `metrics(predictions, examples)` → dict of floats (`config.train.best_metric`
                picks the best checkpoint).
  predict mode  each input JSON line → `task.from_json(obj)` (optional; default the object
                itself) → featurize/collate/predict/decode → `task.to_json(example, prediction)`
                (optional; default `{"input": obj, "prediction": prediction}`).

Workdir: config.json, metrics.jsonl, tensorboard/, checkpoints/ (state + grain iterator, exact
resume), best/ (params of the best eval).
"""
from flaxnlp.train.trainer import Trainer, TrainState, run

__all__ = ["Trainer", "TrainState", "run"]
