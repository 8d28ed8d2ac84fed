"""The trainer: one sharded, jitted train step over any registered task; eval, predict, resume.

Phases of `run(config, workdir, mode)`:
  * Task: `registry.get(config.task)(registry.resolve(config))`, reached only through
    `flaxnlp.tasks.base.Task`;
    boxed params from `task.init_params` on `task.dummy_batch`.
  * Mesh & shardings: ("data", "fsdp", "tensor") Auto mesh; the whole train state (params, the
    optimizer state `tx.init` builds from the boxed params, EMA) is sharded by the logical axis
    names its leaves carry and `config.sharding_rules`; it is born sharded
    (`jax.jit(init, out_shardings=...)`).
  * Step: `jax.jit(train_step, in_shardings, out_shardings, donate_argnums=0)`; gradient
    accumulation inside the step (a scan over micro-batches), regularizers, global-norm clipping,
    EMA of params.
  * Loop: grain batches padded to a few bucket lengths (one compile each), periodic eval with the
    task's metrics, async orbax checkpoints (state + data iterator), best checkpoint by
    `config.train.best_metric`; a non-finite loss or gradient stops the run before it is saved.
  * Reliability (docs/reliability.md): inputs are read before any work
    (`flaxnlp.train.validation`), one run per workdir (`flaxnlp.train.workdir_lock`), a step is
    saved before it is evaluated, SIGTERM / SIGINT checkpoint and stop
    (`flaxnlp.train.preemption`), unreadable checkpoints are skipped, and a failed write is a
    clear error that keeps the last good checkpoint.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
import time
from collections.abc import Sequence
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm

from flaxnlp import configs, regularizers
from flaxnlp.data import holdout, pipeline
from flaxnlp.errors import UserError
from flaxnlp.optim import ema as ema_lib, registry as optimizers
from flaxnlp.tasks import registry
from flaxnlp.train import checkpointing, predict_io, preemption, sharding, validation, workdir_lock
from flaxnlp.train import logging as train_logging


@flax.struct.dataclass
class TrainState:
  """Everything a step updates: step count, params, optimizer state, EMA of params (or None)."""
  step: jax.Array
  params: Any
  opt_state: Any
  ema: Any


def _format(metrics: dict[str, float]) -> str:
  return " ".join(f"{k}={v:.4f}" for k, v in metrics.items())




class Trainer:
  """Holds the task, mesh, shardings and jitted functions of one experiment config."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | pathlib.Path,
               devices: Sequence[jax.Device] | None = None):
    """Builds everything; of the data it reads only what resolving the dataset reads (label sets,
    schema: `registry.resolve`, whose result `self.config` is). `devices` defaults to all."""
    self.workdir = pathlib.Path(workdir)
    try:
      task_class = registry.get(config.task)
    except KeyError as e:
      raise UserError(f"config.task: {e.args[0]}") from e
    with validation.user_errors(f"config.task={config.task!r}"):
      self.config = config = registry.resolve(config)
      self.task = task_class(config)
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
    if tc.batch_size % _accum_steps(config):
      raise ValueError(f"config.train.batch_size={tc.batch_size} is not divisible by "
                       f"config.optimizer.grad_accum_steps={config.optimizer.grad_accum_steps}")

    # ---- Params & optimizer state -------------------------------------------------------------
    self.tx, self.schedule = optimizers.make_optimizer(config.optimizer, int(tc.num_steps),
                                                       self.task.encoder_key)
    self.ema_decay = float(config.optimizer.ema)
    self.rng = jax.random.key(int(config.seed))
    dummy = {k: jnp.asarray(v) for k, v in self.task.dummy_batch(1, self.buckets[0]).items()}

    def boxed_state(rng):  # leaves keep their logical axis names (the optimizer's moments too)
      params = self.task.init_params(rng, dummy)
      ema = jax.tree.map(jnp.zeros_like, params) if self.ema_decay else None
      return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                        opt_state=self.tx.init(params), ema=ema)

    def init_state(rng):
      return nn.unbox(boxed_state(rng))

    self.state_sharding = sharding.logical_shardings(jax.eval_shape(boxed_state, self.rng),
                                                     self.mesh, rules)
    self.abstract_state = jax.eval_shape(init_state, self.rng)
    params_sh = self.state_sharding.params
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
    self._examples: dict[str, Sequence[Any]] = {}  # split -> examples, each read once
    self._eval_cache = None  # (split, examples)
    self.steps_trained = 0  # optimizer steps this Trainer ran (not counting restored ones)

  # ---- Step ---------------------------------------------------------------------------------
  def _make_loss(self):
    """(params, batch, rng) -> (loss, aux) with the configured regularizer."""
    task, reg = self.task, self.config.regularizer

    def base(params, perturbations, batch, rng):
      return task.loss(params, batch, rng, deterministic=False, perturbations=perturbations)

    path = tuple(reg.embedding_path.split("/")) if reg.embedding_path else task.embedding_path
    return regularizers.make_regularized_loss(
        reg.name, base, float(reg.epsilon), embedding_path=path,
        zero_perturbations=task.zero_perturbations)

  def _grads(self, params, batch, rng):
    (loss, aux), grads = jax.value_and_grad(self._loss, has_aux=True)(params, batch, rng)
    return loss, aux, grads

  def _step(self, state: TrainState, batch):
    """One optimizer update on a global batch (mean over `grad_accum_steps` micro-batches)."""
    rng = jax.random.fold_in(self.rng, state.step)
    k = _accum_steps(self.config)
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
    ema = (ema_lib.ema_update(state.ema, params, self.ema_decay) if self.ema_decay else None)
    metrics = {"loss": loss, **aux, "grad_norm": grad_norm,
               "learning_rate": self.schedule(state.step)}
    return TrainState(step=state.step + 1, params=params, opt_state=opt_state, ema=ema), metrics

  def _eval_params_fn(self, state: TrainState):
    if self.ema_decay:
      return ema_lib.ema_debiased(state.ema, state.step, self.ema_decay)
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
  @property
  def eval_split(self) -> str:
    """The split evaluated: "holdout" when `config.train.holdout_fraction` > 0, else
    `config.train.eval_split`."""
    return "holdout" if self._holdout_fraction else self.config.train.eval_split

  @property
  def _holdout_fraction(self) -> float:
    return float(self.config.train.get("holdout_fraction", 0.0))  # absent in older workdirs

  def _task_examples(self, split: str) -> Sequence[Any]:
    """`task.examples(split)`; with a holdout fraction, "train" and "holdout" are the two parts
    of the training examples (`flaxnlp.data.holdout.split`)."""
    if not self._holdout_fraction or split not in ("train", "holdout"):
      return self.task.examples(split)
    kept, held = holdout.split(self.task.examples("train"), self._holdout_fraction,
                               int(self.config.seed), self.task.holdout_group)
    return held if split == "holdout" else kept

  def examples(self, split: str) -> Sequence[Any]:
    """`_task_examples(split)`, or with `config.train.tfds_data_dir` set, the same examples read
    lazily from the task's tfds array_record cache there (built on first use); read once."""
    if split not in self._examples:
      with validation.user_errors(f"reading the {split!r} examples"):
        self._examples[split] = self._read_examples(split)
    return self._examples[split]

  def _read_examples(self, split: str) -> Sequence[Any]:
    if not self.config.train.tfds_data_dir:
      return self._task_examples(split)
    from flaxnlp.data import builders  # pylint: disable=import-outside-toplevel
    return builders.examples_source(lambda: self._task_examples(split),
                                    builders.config_name(self.config, split), split,
                                    self.config.train.tfds_data_dir)

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
    """The newest readable checkpoint (onto this mesh) if any, else a fresh (optionally
    warm-started) state; see `checkpointing.restore_newest_readable`."""
    target = checkpointing.abstract_target(self.abstract_state, self.state_sharding)
    _, state = checkpointing.restore_newest_readable(mngr, target, data_iterator)
    if state is not None:
      return state
    state = self._init(self.rng)
    if self.config.init_checkpoint:
      state = state.replace(params=self.warm_start(state.params))
    return state

  def warm_start(self, params):
    """`params` with the task's encoder loaded from `config.init_checkpoint` (`task.warm_start`).

    Strict: a shape mismatch, or encoder leaves the checkpoint lacks without
    `config.init_checkpoint_allow_partial`, is a UserError. The report (leaves and parameters
    loaded, leaves left at init, checkpoint leaves unused) goes to the console.
    """
    path = self.config.init_checkpoint
    with validation.user_errors(f"config.init_checkpoint={path}"):
      params, report = self.task.warm_start(
          params, self.state_sharding.params, path,
          allow_partial=bool(self.config.init_checkpoint_allow_partial))
    if jax.process_index() == 0:
      tqdm.tqdm.write(f"warm start from {path}: {report.summary()}")
    return params

  # ---- Train --------------------------------------------------------------------------------
  def train(self) -> dict[str, Any]:
    """Trains to `config.train.num_steps` (resuming from the workdir); returns a summary dict.

    Raises `preemption.Preempted` after checkpointing when SIGTERM / SIGINT asked it to stop, and
    a UserError naming the last good checkpoint when the workdir cannot be written.
    """
    tc = self.config.train
    num_steps = int(tc.num_steps)

    # ---- Set-up: data, checkpoint managers, state ---------------------------------------------
    data = self.train_iterator()  # reads the training files first: a data error creates nothing
    mngr = checkpointing.manager(self.workdir / "checkpoints", int(tc.keep_checkpoints))
    # Synchronous: two managers saving the same step concurrently deadlock across processes.
    best_mngr = (checkpointing.manager(self.workdir / "best", 1, async_save=False)
                 if tc.best_metric else None)
    managers = [m for m in (mngr, best_mngr) if m is not None]
    try:
      best = checkpointing.best_meta(best_mngr) if best_mngr else None
      state = self.restore_or_init(mngr, data)  # may fail: a bad warm start
    except BaseException:
      for m in managers:
        m.close()
      raise
    start = int(jax.device_get(state.step))
    writer = train_logging.MetricWriter(self.workdir)
    progress = train_logging.Progress(num_steps, start)
    if start:
      progress.write(f"resumed from step {start} ({self.workdir / 'checkpoints'})")
    t0 = time.perf_counter()
    unchecked = None    # (step, device metrics) of the previous step, checked one step late
    window = []         # device metrics of the steps since the last train log line
    train_metrics, eval_metrics = {}, {}

    try:
      try:
        # ---- Loop: step, then (at most once per step) flush, save, evaluate --------------------
        with preemption.StopSignals() as stop:
          for step in range(start + 1, num_steps + 1):
            features = next(data)
            state, metrics = self.train_step(state, features)
            self.steps_trained += 1
            if unchecked:  # one step late, so the host never waits for the device it just fed
              self._check_finite(mngr, *unchecked)
            unchecked = (step, metrics)
            window.append(metrics)
            progress.update(1, sum(pipeline.feature_length(f) for f in features)
                            * jax.process_count())
            last_step, stopping = step == num_steps, stop.requested()
            evaluate = bool(tc.eval_every and step % int(tc.eval_every) == 0) or last_step
            save = step % int(tc.checkpoint_every) == 0 or last_step or stopping
            if evaluate or save or step % int(tc.log_every) == 0:
              self._check_finite(mngr, *unchecked)
              unchecked = None
              train_metrics = self._log_train(writer, progress, step, window)
              window = []
            if save:  # before the evaluation: a failing evaluation cannot cost the trained step
              checkpointing.save(mngr, step, state, data)
            if stopping:  # an evaluation due at this step is skipped; the resumed run goes on
              mngr.wait_until_finished()
              raise preemption.Preempted(step, stop.received or "a signal to another process")
            if evaluate:
              eval_params = self._eval_params(state)
              eval_metrics = self._evaluate_trained(eval_params, step, mngr, state, data, save)
              writer.write(step, "eval", eval_metrics)
              progress.write(f"step {step} eval: " + _format(eval_metrics))
              best = self._maybe_save_best(best_mngr, best, step, eval_params, eval_metrics)

        # ---- Already trained (e.g. `make run` again): report the evaluation -------------------
        if start >= num_steps:
          eval_metrics = self.evaluate(self._eval_params(state))
          progress.write(f"step {start} eval (training already complete): "
                         + _format(eval_metrics))
      finally:  # close() waits for the saves in flight and stops orbax's threads
        for m in managers:
          m.close()
        progress.close()
        writer.close()
    except (OSError, ValueError) as e:  # a full disk or an unwritable workdir, from any writer
      if not checkpointing.is_write_error(e):
        raise
      steps = checkpointing.committed_steps(self.workdir / "checkpoints")
      raise UserError(f"cannot write to {self.workdir}: {e}; the last good checkpoint is "
                      f"{f'step {steps[-1]}' if steps else 'none'}; free space or fix the "
                      f"permissions, then run the same command to resume") from e

    # ---- Summary ------------------------------------------------------------------------------
    steps_per_s, tokens_per_s = progress.rates()
    summary = {"steps": num_steps, "resumed_from": start, "loss": train_metrics.get("loss"),
               "eval": eval_metrics, "best": best, "compiled_shapes": len(self.compiled_shapes),
               "steps_per_s": steps_per_s, "tokens_per_s": tokens_per_s,
               "seconds": time.perf_counter() - t0}
    progress.write("done: " + json.dumps(summary, default=predict_io.jsonable))
    return summary

  def _evaluate_trained(self, eval_params, step: int, mngr, state, data, saved: bool
                        ) -> dict[str, float]:
    """`evaluate(eval_params)` during training; should it fail, training step `step` is
    checkpointed first (unless `saved`) and the error says how to evaluate that step alone."""
    try:
      return self.evaluate(eval_params)
    except Exception as e:
      if not saved:
        checkpointing.save(mngr, step, state, data)
      mngr.wait_until_finished()
      hint = (f"the trained step {step} is saved in {self.workdir / 'checkpoints'}; once this is "
              f"fixed, evaluate it alone with --mode eval --workdir={self.workdir}")
      if isinstance(e, UserError):
        raise UserError(f"{e}; {hint}") from e
      e.add_note(hint)
      raise

  @staticmethod
  def _check_finite(mngr, step: int, metrics: dict) -> None:
    """FloatingPointError (after the saves in flight finish) if step `step`'s loss or gradient
    was not finite; that step's state is never saved."""
    if not bool(jax.device_get(metrics["loss_and_grad_finite"])):
      mngr.wait_until_finished()
      raise FloatingPointError(
          f"non-finite loss or gradient at step {step} (loss={float(metrics['loss'])}, "
          f"grad_norm={float(metrics['grad_norm'])}); training stopped, the state of this step "
          f"was not saved; last good checkpoint: step {mngr.latest_step()}")

  @staticmethod
  def _log_train(writer, progress, step: int, window: list[dict]) -> dict[str, float]:
    """Writes the mean of `window`'s train metrics (+ throughput) at `step`; returns the means."""
    host = jax.device_get(window)
    means = {k: float(np.mean([h[k] for h in host])) for k in host[0]
             if k != "loss_and_grad_finite"}
    steps_per_s, tokens_per_s = progress.rates()
    writer.write(step, "train", {**means, "steps_per_s": steps_per_s,
                                 "tokens_per_s": tokens_per_s})
    progress.show(loss=means["loss"])
    return means

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
  def predict_examples(self, params, examples: Sequence[Any], decode=None) -> list[Any]:
    """Decoded predictions for `examples` (the same list on every process), in order; `decode`
    (default `task.decode`, same arguments) turns each batch's `task.predict` outputs into them."""
    task = self.task
    decode = decode or task.decode
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
      predictions += decode(jax.tree.map(lambda x: x[:n], out),
                            {k: np.asarray(v)[:n] for k, v in host.items()},
                            [examples[i] for i in idx[:n]])
    return predictions

  def evaluate(self, params, split: str | None = None) -> dict[str, float]:
    """The task's metrics of `params` on `split` (default `self.eval_split`)."""
    split = split or self.eval_split
    if self._eval_cache is None or self._eval_cache[0] != split:
      examples = list(self.examples(split))
      limit = int(self.config.train.max_eval_examples)
      self._eval_cache = (split, examples[:limit] if limit else examples)
    examples = self._eval_cache[1]
    predictions = self.predict_examples(params, examples)
    return {k: float(v) for k, v in self.task.metrics(predictions, examples).items()}

  def load_eval_params(self, latest: bool = False):
    """Best params if a best checkpoint exists (and not `latest`), else the eval params of the
    latest checkpoint.

    Raises a UserError (and creates nothing in the workdir) when there is no checkpoint yet.
    """
    best_dir, ckpt_dir = self.workdir / "best", self.workdir / "checkpoints"
    if not latest and checkpointing.has_checkpoint(best_dir):
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


def _accum_steps(config) -> int:
  """Number of micro-batches per optimizer update (`config.optimizer.grad_accum_steps` ≥ 1)."""
  return max(int(config.optimizer.grad_accum_steps), 1)


@dataclasses.dataclass(frozen=True)
class RunResult:
  """What `run` returns in every mode.

  Attributes:
    mode: "train" | "eval" | "predict".
    metrics: the evaluation metrics: after training (the final evaluation), of the evaluated
      checkpoint ("eval"); empty for "predict".
    summary: "train": steps, resumed_from, loss, eval, best, compiled_shapes, steps_per_s,
      tokens_per_s, seconds; empty otherwise.
    predictions: "predict": one decoded prediction per input line; empty otherwise.
  """
  mode: str
  metrics: dict[str, float] = dataclasses.field(default_factory=dict)
  summary: dict[str, Any] = dataclasses.field(default_factory=dict)
  predictions: list[Any] = dataclasses.field(default_factory=list)


def run(config: ml_collections.ConfigDict, workdir: str | pathlib.Path, mode: str = "train", *,
        predict_input: str | None = None, predict_output: str | None = None) -> RunResult:
  """Entry point used by launch.py and tests.

  Modes: "train" (writes config.json, metrics.jsonl, TensorBoard files and checkpoints into
  `workdir`), "eval" (metrics of the best/latest checkpoint on `Trainer.eval_split`),
  "predict" (reads JSON lines from `predict_input`, writes one JSON line per input to
  `predict_output`). See `RunResult` for what each returns.
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
  trainer = Trainer(config, workdir)  # checks the config and reads the task's own files
  validation.check_inputs(trainer, mode)  # then the data: all before anything is written
  if mode == "train":
    summary = _train_cleanly(trainer)
    return RunResult(mode, metrics=summary["eval"], summary=summary)
  if mode == "eval":
    metrics = trainer.evaluate(trainer.load_eval_params())
    if jax.process_index() == 0:
      print(json.dumps({"split": trainer.eval_split, **metrics}))
    return RunResult(mode, metrics=metrics)
  predictions = predict_io.predict_file(trainer, predict_input, predict_output)
  return RunResult(mode, predictions=predictions)


def from_workdir(workdir: str | pathlib.Path, task: str) -> Trainer:
  """The Trainer of a trained `workdir` under its saved config (diagnostics read it); a UserError
  unless the workdir trained `task`."""
  config = configs.load_workdir_config(workdir)
  if config.task != task:
    raise UserError(f"{workdir} trained task {config.task!r}, not {task}")
  return Trainer(config, workdir)


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
  """`trainer.train()` under the workdir's lock, after writing config.json.

  A UserError of a run that trained no step and found no checkpoint removes what this run
  created in the workdir (the workdir itself if it created it); once a step is trained, nothing
  is removed.
  """
  workdir = trainer.workdir
  main = jax.process_index() == 0
  before = set(workdir.iterdir()) if workdir.is_dir() else None
  with workdir_lock.held(workdir):
    try:
      if main:
        (workdir / "config.json").write_text(configs.to_json(trainer.config), encoding="utf-8")
      return trainer.train()
    except (UserError, OSError) as e:
      if main and not trainer.steps_trained and not checkpointing.has_checkpoint(
          workdir / "checkpoints"):
        _remove_new(workdir, before)
      if isinstance(e, OSError):
        raise UserError(f"cannot write to {workdir}: {e}") from e
      raise


def _remove_new(workdir: pathlib.Path, before: set[pathlib.Path] | None) -> None:
  """Removes what is in `workdir` but not in `before` (`workdir` itself when `before` is None)."""
  if before is None:
    shutil.rmtree(workdir, ignore_errors=True)
    return
  for path in set(workdir.iterdir()) - before:
    if path.is_dir():
      shutil.rmtree(path)
    else:
      path.unlink()
