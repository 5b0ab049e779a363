"""The training loop: distributed steps with gradient accumulation, checkpoints, eval.

One call of :func:`train` checks every input first (records, config, checkpoint),
then builds the model and optimiser under the ``tf.distribute`` strategy, resumes
from the newest checkpoint in ``model_dir`` (or loads ``--init-checkpoint``), and
runs steps until ``num_train_steps``. A step takes one global batch; each replica
splits its share into ``grad_accum_steps`` micro-batches, sums their gradients,
all-reduces them and applies them once. SIGTERM saves and returns (in a multi-worker
run, a SIGTERM to any worker stops every worker after the same step, each saving: the
workers agree on it with a one-number all-reduce per step); a non-finite loss raises
:class:`UserError` without saving, so the last checkpoint stays good.
"""

from __future__ import annotations

import contextlib
import json
import math
import posixpath
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from albert_data.errors import UserError
from albert_data.model.config import AlbertConfig
from albert_data.model.initialization import initialize_weights
from albert_data.model.pretraining_model import build_pretraining_model
from albert_data.training import data as data_lib
from albert_data.training.config import DataConfig, OptimizerConfig, TrainConfig
from albert_data.training.losses import SUM_KEYS, metrics_from_sums, pretraining_sums, scaled_loss
from albert_data.training.optimizer import build_optimizer
from albert_data.training.progress import Progress, write_scalars
from albert_data.training.strategy import is_chief, make_strategy, resolve_name, write_dir

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "mixed_fp16": "mixed_float16"}
SUM = tf.distribute.ReduceOp.SUM


@dataclass
class TrainResult:
    step: int
    stopped: str  # "done", "sigterm" or "max_steps"
    metrics: dict[str, float] = field(default_factory=dict)
    eval_metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: str | None = None
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)  # per log line


# --- checks before anything is built -----------------------------------------------------


def _check_model_dir_config(model_dir: Path, config: AlbertConfig) -> None:
    saved = model_dir / "albert_config.json"
    if saved.exists():
        previous = AlbertConfig.from_json(saved)
        if previous != config:
            raise UserError(
                f"--model-dir {model_dir} holds a run with a different model config ({saved}); "
                "use the same config to resume or a new --model-dir"
            )


def _check_batch(data: DataConfig, train: TrainConfig, replicas: int) -> None:
    parts = replicas * train.grad_accum_steps
    if data.batch_size % parts:
        raise UserError(
            f"--train-batch-size {data.batch_size} is not divisible by replicas ({replicas}) × "
            f"--grad-accum-steps ({train.grad_accum_steps}); choose a multiple of {parts}"
        )


def _check_lengths(config: AlbertConfig, data: DataConfig) -> None:
    if data.max_seq_length > config.max_position_embeddings:
        raise UserError(
            f"--max-seq-length {data.max_seq_length} exceeds the model's "
            f"max_position_embeddings {config.max_position_embeddings}"
        )


# --- the step functions ------------------------------------------------------------------


class _Steps:
    """The compiled per-step functions for one model, optimiser and strategy."""

    def __init__(
        self, *, model, optimizer, strategy, step, accum: int, jit: bool, loss_scaled: bool
    ):
        self.model, self.optimizer, self.strategy, self.step = model, optimizer, strategy, step
        self.accum, self.loss_scaled = accum, loss_scaled
        self.variables = model.trainable_variables
        self._grads = tf.function(self._compute_grads, jit_compile=jit, reduce_retracing=True)
        self.train_step = tf.function(self._train_step)
        self.eval_step = tf.function(self._eval_step)

    def _compute_grads(self, batch, global_weight, global_sequences):
        with tf.GradientTape() as tape:
            outputs = self.model(batch, training=True)
            sums = pretraining_sums(outputs, batch)
            loss = scaled_loss(sums, global_weight, global_sequences)
            if self.loss_scaled:
                loss = self.optimizer.scale_loss(loss)
        grads = tape.gradient(loss, self.variables)
        return [tf.convert_to_tensor(g) for g in grads], sums

    def _replica_step(self, batch):
        ctx = tf.distribute.get_replica_context()
        batch = {k: v for k, v in batch.items() if k != "example_index"}
        global_weight = ctx.all_reduce(SUM, tf.reduce_sum(batch["masked_lm_weights"]))
        global_sequences = ctx.all_reduce(
            SUM, tf.cast(tf.shape(batch["next_sentence_labels"])[0], tf.float32)
        )
        if self.accum == 1:
            grads, sums = self._grads(batch, global_weight, global_sequences)
        else:
            grads, sums = self._accumulate(batch, global_weight, global_sequences)
        grads = ctx.all_reduce(SUM, grads)
        norm = tf.linalg.global_norm(grads)
        if self.loss_scaled:
            norm = norm / tf.cast(self.optimizer.dynamic_scale, norm.dtype)
        self.optimizer.apply(grads, self.variables)
        return sums, norm

    def _accumulate(self, batch, global_weight, global_sequences):
        micro = {k: tf.reshape(v, [self.accum, -1, *v.shape[1:]]) for k, v in batch.items()}
        grads = [tf.zeros(v.shape, v.dtype) for v in self.variables]
        sums = {k: tf.constant(0.0) for k in SUM_KEYS}
        for i in tf.range(self.accum):
            g, s = self._grads({k: v[i] for k, v in micro.items()}, global_weight, global_sequences)
            grads = [a + tf.cast(b, a.dtype) for a, b in zip(grads, g)]
            sums = {k: sums[k] + s[k] for k in SUM_KEYS}
        return grads, sums

    def _train_step(self, iterator):
        batch = next(iterator)
        sums, norm = self.strategy.run(self._replica_step, args=(batch,))
        sums = {k: self.strategy.reduce(SUM, v, axis=None) for k, v in sums.items()}
        norm = self.strategy.reduce(tf.distribute.ReduceOp.MEAN, norm, axis=None)
        self.step.assign_add(1)
        return sums, norm

    def _replica_eval(self, batch):
        outputs = self.model(batch, training=False)
        return pretraining_sums(outputs, batch)

    def _eval_step(self, batch):
        sums = self.strategy.run(self._replica_eval, args=(batch,))
        return {k: self.strategy.reduce(SUM, v, axis=None) for k, v in sums.items()}


# --- the run -----------------------------------------------------------------------------


@contextlib.contextmanager
def _precision(name: str):
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(POLICIES[name])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@contextlib.contextmanager
def _sigterm_flag():
    """Yield a list that gets ``True`` appended when SIGTERM arrives (main thread only)."""
    flag: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: flag.append(True))
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop_agreement(strategy) -> Callable[[bool], bool]:
    """``agree(local_stop)`` → whether any worker wants to stop. Workers of a
    multi-worker run must leave the step loop together, or the others wait forever in
    the next step's collectives; elsewhere the local flag decides."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return bool

    @tf.function
    def any_stop(flag):
        per_replica = strategy.run(lambda: tf.identity(flag))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return lambda local: int(any_stop(tf.constant(int(local), tf.int32))) > 0


def _run_seed(seed: int, step: int) -> int:
    """The input pipeline's seed: fresh order after a resume, same order for the same step."""
    return int(np.random.SeedSequence([seed, step]).generate_state(1)[0] % (2**31 - 1))


def evaluate(steps: _Steps, strategy, dataset, max_steps: int) -> dict[str, float]:
    totals: dict[str, float] = {}
    for i, batch in enumerate(strategy.experimental_distribute_dataset(dataset)):
        if i >= max_steps:
            break
        for key, value in steps.eval_step(batch).items():
            totals[key] = totals.get(key, 0.0) + float(value)
    if not totals:
        raise UserError("--eval-records: not one full eval batch; lower --eval-batch-size")
    return metrics_from_sums(totals)


def _write_eval(model_dir: Path, step: int, metrics: dict[str, float]) -> None:
    lines = [f"{k} = {v}" for k, v in sorted(metrics.items())] + [f"global_step = {step}"]
    (model_dir / "eval_results.txt").write_text("\n".join(lines) + "\n")
    write_scalars(tf.summary.create_file_writer(str(model_dir / "eval")), step, metrics)


def train(
    *,
    model_config: AlbertConfig,
    data: DataConfig,
    optimizer_config: OptimizerConfig,
    run: TrainConfig,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train (or resume training) and return where it stopped."""
    strategy = None
    if resolve_name(run.strategy, run.tpu) == "multi_worker":
        strategy = make_strategy("multi_worker")  # before any other TF op, or it cannot start
    model_dir = Path(run.model_dir)
    _check_model_dir_config(model_dir, model_config)
    _check_lengths(model_config, data)
    records = data_lib.check_records(data, model_config.vocab_size)
    eval_records = (
        data_lib.check_records(
            data, model_config.vocab_size, flag="--eval-records", patterns=run.eval_patterns
        )
        if run.eval_patterns
        else None
    )
    if records.dynamic:
        _check_dynamic_available()
    strategy = strategy or make_strategy(run.strategy, run.tpu)
    _check_batch(data, run, strategy.num_replicas_in_sync)
    with _precision(run.precision):
        return _train_built(
            model_config, data, optimizer_config, run, records, eval_records, strategy, log
        )


def _restore(checkpoint: tf.train.Checkpoint, prefix: str) -> None:
    try:
        checkpoint.restore(prefix).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as err:
        raise UserError(
            f"cannot resume from {prefix} ({str(err).splitlines()[0][:200]}); it was written "
            "with another --optimizer, --precision or model; use those or a new --model-dir"
        ) from None


def _check_dynamic_available() -> None:
    try:
        from albert_data.pretraining.masking import mask_record  # noqa: F401
    except ImportError:
        raise UserError(
            "these records need --masking dynamic, but albert_data.pretraining.masking is not available"
        ) from None


class _Saver:
    """Checkpoints through a ``CheckpointManager``. In a multi-worker run every worker
    saves (TF requires it), but only the chief into ``--model-dir``; the others save to
    a temporary directory and delete it at once (their weights equal the chief's)."""

    def __init__(self, checkpoint: tf.train.Checkpoint, run: TrainConfig, strategy):
        self.model_dir = run.model_dir
        self.chief = is_chief(strategy)
        self.directory = write_dir(run.model_dir, strategy)
        self.manager = tf.train.CheckpointManager(
            checkpoint, self.directory, max_to_keep=run.keep_checkpoints, checkpoint_name="ckpt"
        )
        self.latest = tf.train.latest_checkpoint(run.model_dir)

    def save(self, step: int) -> str:
        path = self.manager.save(checkpoint_number=step)
        if not self.chief:
            tf.io.gfile.rmtree(self.directory)
            path = posixpath.join(self.model_dir, posixpath.basename(path))
        self.latest = path
        return path


def _train_built(model_config, data, optimizer_config, run, records, eval_records, strategy, log):
    model_dir = Path(run.model_dir)
    with strategy.scope():
        model = build_pretraining_model(model_config)
        optimizer = build_optimizer(optimizer_config, model.trainable_variables, run.precision)
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step_var)
    saver = _Saver(checkpoint, run, strategy)
    resumed_from = saver.latest
    if resumed_from:
        _restore(checkpoint, resumed_from)
        log(f"resumed from {resumed_from} at step {int(step_var.numpy())}")
    else:
        initialize_weights(model, data.seed)
        if run.init_checkpoint:
            from albert_data.interop.checkpoints import init_from_checkpoint

            log(init_from_checkpoint(model, run.init_checkpoint).summary())
    if saver.chief:
        model_dir.mkdir(parents=True, exist_ok=True)
        model_config.to_json(model_dir / "albert_config.json")

    start = int(step_var.numpy())
    seed = _run_seed(data.seed, start)

    def dataset_fn(ctx):
        return data_lib.make_dataset(
            data,
            records.files,
            batch_size=ctx.get_per_replica_batch_size(data.batch_size),
            compression=records.compression,
            vocab_size=model_config.vocab_size,
            dynamic=records.dynamic,
            seed=seed,
            input_context=ctx,
        )

    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))
    steps = _Steps(
        model=model,
        optimizer=optimizer,
        strategy=strategy,
        step=step_var,
        accum=run.grad_accum_steps,
        jit=run.jit,
        loss_scaled=run.precision == "mixed_fp16",
    )
    logdir = str(model_dir / "train") if saver.chief else None
    progress = Progress(total_steps=run.num_train_steps, logdir=logdir, log=log)
    result = TrainResult(step=start, stopped="done")
    last_eval, evaluated_at = start, None
    end = run.num_train_steps
    if run.max_steps_this_run is not None:
        end = min(end, start + run.max_steps_this_run)
    agree_to_stop = _stop_agreement(strategy)
    with _sigterm_flag() as sigterm:
        step = start
        while step < end:
            try:
                sums, norm = steps.train_step(iterator)
            except tf.errors.DataLossError as err:
                raise UserError(
                    f"--records: a corrupt record was met while training ({str(err).splitlines()[0]}); "
                    "re-create the damaged file"
                ) from None
            step = int(step_var.numpy())
            sums = {k: float(v) for k, v in sums.items()}
            window = metrics_from_sums(sums)
            if not math.isfinite(window["loss"]):
                raise UserError(
                    f"loss became {window['loss']} at step {step}; stopped without saving "
                    f"(last good checkpoint: {saver.latest}); lower --learning-rate "
                    "or use --precision fp32"
                )
            progress.add(sums)
            if step % run.log_every == 0 or step == end:
                lr = float(optimizer.learning_rate)
                result.metrics = metrics_from_sums(progress.sums)
                result.history.append((step, result.metrics))
                progress.flush(
                    step, result.metrics, {"learning_rate": lr, "gradient_norm": float(norm)}
                )
            if step % run.save_every == 0:
                saver.save(step)
            if agree_to_stop(bool(sigterm)):
                result.checkpoint = saver.save(step)
                who = "" if sigterm else " (sent to another worker)"
                log(f"SIGTERM{who}: saved {result.checkpoint} at step {step}; exiting")
                result.step, result.stopped = step, "sigterm"
                return result
            if eval_records and run.eval_every and step - last_eval >= run.eval_every:
                result.eval_metrics = _evaluate_and_write(
                    steps, strategy, data, run, eval_records, model_config, step, log, saver.chief
                )
                last_eval = evaluated_at = step
    result.step = int(step_var.numpy())
    result.stopped = "done" if result.step >= run.num_train_steps else "max_steps"
    if result.step > start or not resumed_from:
        result.checkpoint = saver.save(result.step)
    else:
        result.checkpoint = resumed_from
    if eval_records and evaluated_at != result.step:  # not twice at the last step
        result.eval_metrics = _evaluate_and_write(
            steps, strategy, data, run, eval_records, model_config, result.step, log, saver.chief
        )
    return result


def _evaluate_and_write(steps, strategy, data, run, eval_records, model_config, step, log, chief):
    dataset = data_lib.make_dataset(
        data,
        eval_records.files,
        batch_size=run.eval_batch_size,
        compression=eval_records.compression,
        vocab_size=model_config.vocab_size,
        dynamic=eval_records.dynamic,
        training=False,
    )
    metrics = evaluate(steps, strategy, dataset, run.eval_steps)
    if chief:
        _write_eval(Path(run.model_dir), step, metrics)
    log(f"eval at step {step}: {json.dumps({k: round(v, 4) for k, v in metrics.items()})}")
    return metrics
