"""The trainer: one sharded, jitted train step over any registered task; eval, predict, resume.

Phases of `run(config, workdir, mode)`:
  * Task & model: `registry.get(config.task)(config)`; params initialised from `task.dummy_batch`.
  * Mesh & shardings: ("data", "fsdp", "tensor") Auto mesh; params from logical axis names and
    `config.sharding_rules`, optimizer state leaf by leaf from the param it mirrors; the state is
    born sharded (`jax.jit(init, out_shardings=...)`).
  * Step: `jax.jit(train_step, in_shardings, out_shardings, donate_argnums=0)`; gradient
    accumulation inside the step (a scan over micro-batches), regularizers, global-norm clipping,
    EMA of params.
  * Loop: grain batches padded to a few bucket lengths (one compile each), periodic eval with the
    task's metrics, async orbax checkpoints (state + data iterator), best checkpoint by
    `config.train.best_metric`; a non-finite loss or gradient stops the run before it is saved.
"""
from __future__ import annotations

import contextlib
import json
import pathlib
import shutil
import time
from collections.abc import Iterator, Sequence
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm

from flaxnlp import configs
from flaxnlp.data import pipeline
from flaxnlp.errors import UserError
from flaxnlp.tasks import registry
from flaxnlp.train import checkpointing, optimizers, sharding
from flaxnlp.train import logging as train_logging


@flax.struct.dataclass
class TrainState:
  """Everything a step updates: step count, params, optimizer state, EMA of params (or None)."""
  step: jax.Array
  params: Any
  opt_state: Any
  ema: Any


def _path_names(path) -> tuple:
  return tuple(getattr(p, "key", getattr(p, "name", getattr(p, "idx", p))) for p in path)


def _mirror_shardings(abstract_tree, params_abstract, params_shardings, replicated):
  """Shardings for a tree (e.g. optimizer state) whose leaves mirror params by path suffix + shape."""
  by_path = {}
  for (path, leaf), (_, sh) in zip(jax.tree_util.tree_flatten_with_path(params_abstract)[0],
                                   jax.tree_util.tree_flatten_with_path(params_shardings)[0]):
    by_path[_path_names(path)] = (leaf.shape, sh)

  def leaf_sharding(path, leaf):
    names = _path_names(path)
    for i in range(len(names)):
      hit = by_path.get(names[i:])
      if hit is not None and hit[0] == leaf.shape:
        return hit[1]
    return replicated

  return jax.tree_util.tree_map_with_path(leaf_sharding, abstract_tree)


def _jsonable(x):
  """json.dumps default: numpy scalars/arrays, sets and tuples become plain JSON values."""
  if isinstance(x, (np.integer, np.floating, np.bool_)):
    return x.item()
  if isinstance(x, (np.ndarray, set, frozenset, tuple)):
    return [_jsonable(v) for v in (x.tolist() if isinstance(x, np.ndarray) else sorted(x, key=str)
                                   if isinstance(x, (set, frozenset)) else x)]
  raise TypeError(f"{type(x).__name__} is not JSON serialisable")


@contextlib.contextmanager
def _user_errors(what: str) -> Iterator[None]:
  """Reports the FileNotFoundError / ValueError of `what` (reading the user's config or data,
  whose readers name the file and line) as a UserError; other exceptions are bugs and pass."""
  try:
    yield
  except UserError:
    raise
  except (FileNotFoundError, ValueError) as e:
    raise UserError(f"{what}: {e}") from e


class Trainer:
  """Holds the task, mesh, shardings and jitted functions of one experiment config."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | pathlib.Path,
               devices: Sequence[jax.Device] | None = None):
    """Builds everything but touches no data; `devices` defaults to all devices."""
    self.config = config
    self.workdir = pathlib.Path(workdir)
    try:
      task_class = registry.get(config.task)
    except KeyError as e:
      raise UserError(f"config.task: {e.args[0]}") from e
    with _user_errors(f"config.task={config.task!r}"):
      self.task = task_class(config)
    self.model = self.task.build_model()
    tc = config.train
    self.buckets = tuple(sorted(int(b) for b in tc.buckets))

    # ---- Mesh & shardings -------------------------------------------------------------------
    self.mesh = sharding.make_mesh(dict(config.mesh), devices)
    rules = tuple(tuple(r) for r in config.sharding_rules)
    self.batch_sharding = sharding.batch_sharding(self.mesh, rules)
    self.replicated = jax.sharding.NamedSharding(self.mesh, jax.sharding.PartitionSpec())
    divisor = sharding.batch_divisor(self.mesh, self.batch_sharding)
    for name in ("batch_size", "eval_batch_size"):
      size = int(tc[name])
      if size % divisor or size % jax.process_count():
        raise ValueError(f"config.train.{name}={size} must be a multiple of the {divisor} batch "
                         f"shards and {jax.process_count()} processes")
    if tc.batch_size % optimizers_accum(config):
      raise ValueError(f"config.train.batch_size={tc.batch_size} is not divisible by "
                       f"config.optimizer.grad_accum_steps={config.optimizer.grad_accum_steps}")

    # ---- Model & optimizer ------------------------------------------------------------------
    self.tx, self.schedule = optimizers.make_optimizer(config.optimizer, int(tc.num_steps))
    self.ema_decay = float(config.optimizer.ema)
    self.rng = jax.random.key(int(config.seed))
    dummy = {k: jnp.asarray(v) for k, v in self.task.dummy_batch(1, self.buckets[0]).items()}

    def boxed_params(rng):
      init = getattr(self.task, "init_params", None)
      if init is not None:
        return init(rng, dummy)
      args = [dummy["token_ids"]] + ([dummy["segment_ids"]] if "segment_ids" in dummy else [])
      return self.model.init({"params": rng, "dropout": rng}, *args)["params"]

    boxed = jax.eval_shape(boxed_params, self.rng)
    params_sh = sharding.logical_shardings(boxed, self.mesh, rules)
    params_abstract = nn.unbox(boxed)

    def init_state(rng):
      params = nn.unbox(boxed_params(rng))
      ema = jax.tree.map(jnp.zeros_like, params) if self.ema_decay else None
      return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                        opt_state=self.tx.init(params), ema=ema)

    self.abstract_state = jax.eval_shape(init_state, self.rng)
    opt_sh = _mirror_shardings(self.abstract_state.opt_state, params_abstract, params_sh,
                               self.replicated)
    self.state_sharding = TrainState(step=self.replicated, params=params_sh, opt_state=opt_sh,
                                     ema=params_sh if self.ema_decay else None)
    self._init = jax.jit(init_state, out_shardings=self.state_sharding)
    self._train_step = jax.jit(self._step, in_shardings=(self.state_sharding, self.batch_sharding),
                               out_shardings=(self.state_sharding, self.replicated),
                               donate_argnums=0)
    self._predict = jax.jit(self.task.predict, in_shardings=(params_sh, self.batch_sharding),
                            out_shardings=self.replicated)
    self._eval_params = jax.jit(self._eval_params_fn, in_shardings=(self.state_sharding,),
                                out_shardings=params_sh)
    self._loss = self._make_loss()
    self.compiled_shapes: set[tuple] = set()  # batch shape signatures the train step compiled
    self._eval_cache = None  # (split, examples)

  # ---- Step ---------------------------------------------------------------------------------
  def _make_loss(self):
    """(params, batch, rng) -> (loss, aux) with the configured regularizer."""
    task = self.task

    def base(params, perturbations, batch, rng):
      return task.loss(params, batch, rng, deterministic=False, perturbations=perturbations)

    reg = self.config.regularizer
    if reg.name == "none":
      return lambda params, batch, rng: base(params, None, batch, rng)
    from flaxnlp import regularizers  # pylint: disable=import-outside-toplevel
    kwargs = {}
    if reg.name == "fgm":
      kwargs["embedding_path"] = tuple(reg.embedding_path.split("/"))
    if reg.name == "input_gradient_penalty":
      kwargs["zero_perturbations"] = getattr(task, "zero_perturbations", self._zero_perturbations)
    return regularizers.make_regularized_loss(reg.name, base, float(reg.epsilon), **kwargs)

  def _zero_perturbations(self, batch, rng):
    """Zeros shaped like the model's "perturbations" collection for `batch` (default init call)."""
    args = [batch["token_ids"]] + ([batch["segment_ids"]] if "segment_ids" in batch else [])
    shapes = jax.eval_shape(lambda: self.model.init({"params": rng, "dropout": rng}, *args))
    if "perturbations" not in shapes:
      raise ValueError("input_gradient_penalty: the model has no `self.perturb(...)` call")
    return jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes["perturbations"])

  def _grads(self, params, batch, rng):
    (loss, aux), grads = jax.value_and_grad(self._loss, has_aux=True)(params, batch, rng)
    return loss, aux, grads

  def _step(self, state: TrainState, batch):
    """One optimizer update on a global batch (mean over `grad_accum_steps` micro-batches)."""
    rng = jax.random.fold_in(self.rng, state.step)
    k = optimizers_accum(self.config)
    if k == 1:
      loss, aux, grads = self._grads(state.params, batch, rng)
    else:
      # Row j·k + i goes to micro-batch i: the sharded leading axis stays sharded.
      micro = jax.tree.map(lambda x: jnp.swapaxes(x.reshape((-1, k) + x.shape[1:]), 0, 1), batch)

      def body(carry, xs):
        mb, i = xs
        out = self._grads(state.params, mb, jax.random.fold_in(rng, i))
        return jax.tree.map(jnp.add, carry, out), None

      zero = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(
          self._grads, state.params, jax.tree.map(lambda x: x[0], micro), rng))
      total, _ = jax.lax.scan(body, zero, (micro, jnp.arange(k)))
      loss, aux, grads = jax.tree.map(lambda x: x / k, total)
    grad_norm = optax.tree.norm(grads)
    updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ema = (optimizers.ema_update(state.ema, params, self.ema_decay) if self.ema_decay else None)
    metrics = {"loss": loss, **aux, "grad_norm": grad_norm,
               "learning_rate": self.schedule(state.step)}
    return TrainState(step=state.step + 1, params=params, opt_state=opt_state, ema=ema), metrics

  def _eval_params_fn(self, state: TrainState):
    if self.ema_decay:
      return optimizers.ema_debiased(state.ema, state.step, self.ema_decay)
    return state.params

  # ---- Batches ------------------------------------------------------------------------------
  def _global_length(self, features: Sequence[dict]) -> int:
    """Bucketed padded length of the global batch (max over all processes' rows)."""
    longest = max(pipeline.feature_length(f) for f in features)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
      longest = int(np.max(multihost_utils.process_allgather(np.int32(longest))))
    return pipeline.bucket_length(longest, self.buckets)

  def _device_batch(self, local_batch) -> dict[str, jax.Array]:
    return sharding.global_batch(local_batch, self.batch_sharding)

  def train_step(self, state: TrainState, features: Sequence[dict]) -> tuple[TrainState, dict]:
    """Pads this process's `features` to the global bucket length and runs one jitted update.

    `state` is donated. Returns the new state and device scalars (loss, aux, grad_norm,
    learning_rate, loss_and_grad_finite).
    """
    length = self._global_length(features)
    batch = self.task.collate(features, length)
    shapes = tuple(sorted((key, np.shape(value)) for key, value in batch.items()))
    if shapes not in self.compiled_shapes:
      self.compiled_shapes.add(shapes)
      if jax.process_index() == 0:
        tqdm.tqdm.write(f"compiling the train step for length {length} "
                        f"({len(self.compiled_shapes)} compiled shape(s))")
    state, metrics = self._train_step(state, self._device_batch(batch))
    finite = jnp.isfinite(metrics["loss"]) & jnp.isfinite(metrics["grad_norm"])
    return state, {**metrics, "loss_and_grad_finite": finite}

  # ---- State --------------------------------------------------------------------------------
  def examples(self, split: str) -> Sequence[Any]:
    """`task.examples(split)`, or with `config.train.tfds_data_dir` set, the same examples read
    lazily from the task's tfds array_record cache there (built on first use)."""
    with _user_errors(f"reading the {split!r} examples"):
      if not self.config.train.tfds_data_dir:
        return self.task.examples(split)
      from flaxnlp.data import builders  # pylint: disable=import-outside-toplevel
      return builders.task_examples_source(self.task, split, self.config.train.tfds_data_dir)

  def train_iterator(self):
    """This process's endless, checkpointable stream of training feature lists."""
    task = self.task
    return pipeline.train_stream(
        self.examples("train"), lambda ex, rng: task.featurize(ex, train=True, rng=rng),
        global_batch_size=int(self.config.train.batch_size), seed=int(self.config.seed),
        process_index=jax.process_index(), process_count=jax.process_count(),
        workers=int(self.config.train.data_workers),
        group_batches=int(self.config.train.length_group_batches))

  def restore_or_init(self, mngr, data_iterator=None) -> TrainState:
    """The latest checkpoint (onto this mesh) if any, else a fresh (optionally warm-started) state."""
    step = mngr.latest_step()
    if step is not None:
      target = checkpointing.abstract_target(self.abstract_state, self.state_sharding)
      return checkpointing.restore(mngr, step, target, data_iterator)
    state = self._init(self.rng)
    if self.config.init_checkpoint:
      state = state.replace(params=self.warm_start(state.params))
    return state

  def warm_start(self, params):
    """`params` with the task's encoder subtree loaded from `config.init_checkpoint`.

    Strict (`checkpointing.merge_pretrained`): a shape mismatch, or encoder leaves the checkpoint
    lacks without `config.init_checkpoint_allow_partial`, is a UserError. The report (leaves and
    parameters loaded, leaves left at init, checkpoint leaves unused) goes to the console.
    """
    from flaxnlp.models import checkpoints  # pylint: disable=import-outside-toplevel
    path = self.config.init_checkpoint
    with _user_errors(f"config.init_checkpoint={path}"):
      _, pretrained = checkpoints.load_pretrained(path)
    transform = getattr(self.task, "transform_pretrained_params", None)
    if transform is not None:  # e.g. slicing the vocabulary to the task's keep_tokens
      pretrained = transform(pretrained)
    key = tuple(getattr(self.task, "encoder_key", ("encoder",)))
    params, report = checkpointing.merge_pretrained(
        params, self.state_sharding.params, pretrained, key,
        allow_partial=bool(self.config.init_checkpoint_allow_partial))
    if jax.process_index() == 0:
      tqdm.tqdm.write(f"warm start from {path}: {report.summary()}")
    return params

  # ---- Train --------------------------------------------------------------------------------
  def train(self) -> dict[str, Any]:
    """Trains to `config.train.num_steps` (resuming from the workdir); returns a summary dict."""
    tc = self.config.train
    num_steps = int(tc.num_steps)
    data = self.train_iterator()  # reads the training files first: a data error creates nothing
    mngr = checkpointing.manager(self.workdir / "checkpoints", int(tc.keep_checkpoints))
    # Synchronous: two managers saving the same step concurrently deadlock across processes.
    best_mngr = (checkpointing.manager(self.workdir / "best", 1, async_save=False)
                 if tc.best_metric else None)
    try:
      best = checkpointing.best_meta(best_mngr) if best_mngr else None
      state = self.restore_or_init(mngr, data)  # may fail: a bad warm start
    except BaseException:
      for m in (mngr, best_mngr):
        if m is not None:
          m.close()
      raise
    start = int(jax.device_get(state.step))
    writer = train_logging.MetricWriter(self.workdir)
    progress = train_logging.Progress(num_steps, start)
    if start:
      progress.write(f"resumed from step {start} ({self.workdir / 'checkpoints'})")
    window, last, eval_metrics, t0 = [], {}, {}, time.perf_counter()

    def check(step, metrics):
      if not bool(jax.device_get(metrics["loss_and_grad_finite"])):
        mngr.wait_until_finished()
        raise FloatingPointError(
            f"non-finite loss or gradient at step {step} (loss={float(metrics['loss'])}, "
            f"grad_norm={float(metrics['grad_norm'])}); training stopped, the state of this step "
            f"was not saved; last good checkpoint: step {mngr.latest_step()}")

    def flush(step):
      nonlocal last
      for s, m in window:
        check(s, m)
      if window:
        host = jax.device_get([m for _, m in window])
        last = {k: float(np.mean([h[k] for h in host])) for k in host[0] if k != "loss_and_grad_finite"}
        steps_per_s, tokens_per_s = progress.rates()
        writer.write(step, "train", {**last, "steps_per_s": steps_per_s,
                                     "tokens_per_s": tokens_per_s})
        progress.show(loss=last["loss"])
      window.clear()

    try:
      for step in range(start + 1, num_steps + 1):
        features = next(data)
        state, metrics = self.train_step(state, features)
        if window:  # one step late, so the host never waits for the device it just fed
          check(*window[-1])
        window.append((step, metrics))
        progress.update(1, sum(pipeline.feature_length(f) for f in features) * jax.process_count())
        last_step = step == num_steps
        if step % int(tc.log_every) == 0 or last_step:
          flush(step)
        if (tc.eval_every and step % int(tc.eval_every) == 0) or last_step:
          flush(step)
          eval_params = self._eval_params(state)
          eval_metrics = self.evaluate(eval_params)
          writer.write(step, "eval", eval_metrics)
          progress.write(f"step {step} eval: " + " ".join(
              f"{k}={v:.4f}" for k, v in eval_metrics.items()))
          best = self._maybe_save_best(best_mngr, best, step, eval_params, eval_metrics)
        if step % int(tc.checkpoint_every) == 0 or last_step:
          flush(step)
          checkpointing.save(mngr, step, state, data)
      flush(num_steps)
      if start >= num_steps:  # already trained (e.g. `make run` again): report the evaluation
        eval_metrics = self.evaluate(self._eval_params(state))
        progress.write(f"step {start} eval (training already complete): " + " ".join(
            f"{k}={v:.4f}" for k, v in eval_metrics.items()))
    finally:  # close() waits for the saves in flight and stops orbax's threads
      mngr.close()
      if best_mngr:
        best_mngr.close()
      progress.close()
      writer.close()
    steps_per_s, tokens_per_s = progress.rates()
    summary = {"steps": num_steps, "resumed_from": start, "loss": last.get("loss"),
               "eval": eval_metrics, "best": best, "compiled_shapes": len(self.compiled_shapes),
               "steps_per_s": steps_per_s, "tokens_per_s": tokens_per_s,
               "seconds": time.perf_counter() - t0}
    progress.write("done: " + json.dumps(summary, default=_jsonable))
    return summary

  def _maybe_save_best(self, best_mngr, best, step, params, metrics):
    name = self.config.train.best_metric
    if not best_mngr:
      return best
    if name not in metrics:
      raise KeyError(f"config.train.best_metric={name!r} is not an eval metric; the task "
                     f"reports {sorted(metrics)}")
    value = float(metrics[name])
    sign = 1.0 if self.config.train.best_mode == "max" else -1.0
    if best is None or sign * value > sign * float(best["value"]):
      best = {"step": step, "metric": name, "value": value, "metrics": metrics}
      checkpointing.save_best(best_mngr, step, params, best)
    return best

  # ---- Eval & predict -----------------------------------------------------------------------
  def predict_examples(self, params, examples: Sequence[Any]) -> list[Any]:
    """Decoded predictions for `examples` (the same list on every process), in order."""
    task = self.task
    rng = np.random.default_rng(int(self.config.seed))
    features = [task.featurize(ex, train=False, rng=rng) for ex in examples]
    size = int(self.config.train.eval_batch_size)
    rows = sharding.local_rows(self.batch_sharding, size)
    predictions = []
    for idx, length, n in pipeline.eval_batches(features, global_batch_size=size,
                                                buckets=self.buckets):
      host = task.collate([features[i] for i in idx], length)
      out = jax.device_get(self._predict(params, self._device_batch(
          {k: np.asarray(v)[rows] for k, v in host.items()})))
      predictions += task.decode(jax.tree.map(lambda x: x[:n], out),
                                 {k: np.asarray(v)[:n] for k, v in host.items()},
                                 [examples[i] for i in idx[:n]])
    return predictions

  def evaluate(self, params, split: str | None = None) -> dict[str, float]:
    """The task's metrics of `params` on `split` (default `config.train.eval_split`)."""
    split = split or self.config.train.eval_split
    if self._eval_cache is None or self._eval_cache[0] != split:
      examples = list(self.examples(split))
      limit = int(self.config.train.max_eval_examples)
      self._eval_cache = (split, examples[:limit] if limit else examples)
    examples = self._eval_cache[1]
    predictions = self.predict_examples(params, examples)
    return {k: float(v) for k, v in self.task.metrics(predictions, examples).items()}

  def load_eval_params(self):
    """Best params if a best checkpoint exists, else the eval params of the latest checkpoint.

    Raises a UserError (and creates nothing in the workdir) when there is no checkpoint yet.
    """
    best_dir, ckpt_dir = self.workdir / "best", self.workdir / "checkpoints"
    if checkpointing.has_checkpoint(best_dir):
      mngr = checkpointing.manager(best_dir, 1)
      try:
        return checkpointing.restore_best_params(
            mngr, checkpointing.abstract_target(self.abstract_state.params,
                                                self.state_sharding.params))
      finally:
        mngr.close()
    if not checkpointing.has_checkpoint(ckpt_dir):
      raise UserError(f"no checkpoint in {self.workdir} ({best_dir} and {ckpt_dir} hold none); "
                      f"train first (--mode train)")
    mngr = checkpointing.manager(ckpt_dir, int(self.config.train.keep_checkpoints))
    try:
      return self._eval_params(self.restore_or_init(mngr))
    finally:
      mngr.close()


def optimizers_accum(config) -> int:
  """Number of micro-batches per optimizer update (`config.optimizer.grad_accum_steps` ≥ 1)."""
  return max(int(config.optimizer.grad_accum_steps), 1)


def run(config: ml_collections.ConfigDict, workdir: str | pathlib.Path, mode: str = "train", *,
        predict_input: str | None = None, predict_output: str | None = None) -> Any:
  """Entry point used by launch.py and tests.

  Modes: "train" (returns the summary dict; writes config.json, metrics.jsonl, TensorBoard files
  and checkpoints into `workdir`), "eval" (metrics of the best/latest checkpoint on
  `config.train.eval_split`), "predict" (reads JSON lines from `predict_input`, writes one JSON
  line per input to `predict_output`; returns the predictions).
  """
  workdir = pathlib.Path(workdir)
  if mode not in ("train", "eval", "predict"):
    raise UserError(f"unknown mode {mode!r}; valid: train | eval | predict")
  if config.task is None:
    raise UserError("config.task is not set (a registered task name, e.g. 'classification')")
  if mode == "train":
    _check_init_checkpoint(config)
  elif not workdir.is_dir():
    raise UserError(f"--mode {mode}: {workdir} does not exist; train it first (--mode train)")
  if mode == "predict" and not (predict_input and predict_output):
    raise UserError("--mode predict needs --input FILE.jsonl and --output FILE.jsonl")
  if mode == "predict" and not pathlib.Path(predict_input).is_file():
    raise UserError(f"--input {predict_input} does not exist")
  trainer = Trainer(config, workdir)  # checks the config before anything is written
  if mode == "train":
    return _train_cleanly(trainer)
  if mode == "eval":
    metrics = trainer.evaluate(trainer.load_eval_params())
    if jax.process_index() == 0:
      print(json.dumps({"split": config.train.eval_split, **metrics}))
    return metrics
  return _predict_file(trainer, predict_input, predict_output)


def _check_init_checkpoint(config: ml_collections.ConfigDict) -> None:
  """UserError when a warm start is required but not set, or its path does not exist."""
  path = config.init_checkpoint
  if config.init_checkpoint_required and not path:
    raise UserError("this experiment fine-tunes pretrained weights: set --config.init_checkpoint="
                    "/path/to/bert (an HF directory with config.json, or a Google BERT directory "
                    "or checkpoint prefix with bert_config.json); see the experiment's docstring")
  if path and not (pathlib.Path(path).exists() or pathlib.Path(f"{path}.index").exists()):
    raise UserError(f"config.init_checkpoint={path} does not exist (an HF directory with "
                    f"config.json, or a Google BERT directory or checkpoint prefix)")


def _train_cleanly(trainer: Trainer) -> dict[str, Any]:
  """`trainer.train()` after writing config.json; a UserError before the first checkpoint removes
  what this run created in the workdir (the workdir itself if it created it)."""
  workdir = trainer.workdir
  main = jax.process_index() == 0
  before = set(workdir.iterdir()) if workdir.is_dir() else None
  if main:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(configs.to_json(trainer.config), encoding="utf-8")
  try:
    return trainer.train()
  except UserError:
    if main and not checkpointing.has_checkpoint(workdir / "checkpoints"):
      if before is None:
        shutil.rmtree(workdir, ignore_errors=True)
      else:
        for path in set(workdir.iterdir()) - before:
          if path.is_dir():
            shutil.rmtree(path)
          else:
            path.unlink()
    raise


def _predict_file(trainer: Trainer, input_path, output_path) -> list[Any]:
  """Predict mode: JSON lines in, `{"input": obj, "prediction": ...}` lines out.

  A task may define `from_json(obj) -> example` and `to_json(example, prediction) -> obj` to
  control the formats; by default the JSON object is the example.
  """
  task = trainer.task
  objs, examples = [], []
  with open(input_path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        obj = json.loads(line)
      except json.JSONDecodeError as e:
        raise UserError(f"{input_path}:{lineno}: not valid JSON ({e.msg})") from e
      objs.append(obj)
      try:
        examples.append(task.from_json(obj) if hasattr(task, "from_json") else obj)
      except KeyError as e:
        raise UserError(f"{input_path}:{lineno}: the input has no {e.args[0]!r} field, which "
                        f"this task ({trainer.config.task}) needs; got {obj!r:.200}") from e
      except (TypeError, ValueError) as e:
        raise UserError(f"{input_path}:{lineno}: {e}") from e
  predictions = trainer.predict_examples(trainer.load_eval_params(), examples) if examples else []
  if jax.process_index() == 0:
    with open(output_path, "w", encoding="utf-8") as f:
      for obj, ex, pred in zip(objs, examples, predictions):
        out = (task.to_json(ex, pred) if hasattr(task, "to_json")
               else {"input": obj, "prediction": pred})
        f.write(json.dumps(out, ensure_ascii=False, default=_jsonable) + "\n")
  return predictions
