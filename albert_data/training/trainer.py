"""The training loop: steps, logging, checkpoints, evaluation, SIGTERM.

One call of :func:`train` checks every input first (records, config, checkpoint),
then builds the task (:mod:`albert_data.training.task`) under the ``tf.distribute``
strategy, resumes from the newest checkpoint in ``model_dir`` (or loads
``--init-checkpoint``), and runs steps (:mod:`albert_data.training.steps`) until
``num_train_steps``. SIGTERM, or a first Ctrl-C, saves after the current step and
returns (in a multi-worker run, a signal to any worker stops every worker after the
same step, each saving: the workers agree on it
with a one-number all-reduce per step); a non-finite loss raises :class:`UserError`
without saving, so the last checkpoint stays good; so does a failed save.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from albert_data.errors import UserError
from albert_data.files.tfrecord import locate_corruption
from albert_data.model.config import AlbertConfig
from albert_data.records import provenance
from albert_data.training import checks
from albert_data.training.checkpointing import Saver, restore
from albert_data.training.config import DataConfig, OptimizerConfig, TrainConfig
from albert_data.training.losses import metrics_from_sums
from albert_data.training.progress import Progress, write_scalars
from albert_data.training.steps import StepFunctions
from albert_data.training.strategy import make_strategy, resolve_name
from albert_data.training.task import CheckedInputs, PretrainingTask

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "mixed_fp16": "mixed_float16"}


@dataclass
class TrainingOutcome:
    step: int
    stopped: str  # "done", "sigterm", "sigint" (Ctrl-C) or "max_steps"
    metrics: dict[str, float] = field(default_factory=dict)
    eval_metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: str | None = None
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)  # per log line
    signal: str | None = None  # the stop signal this process received ("sigterm", "sigint")


@contextlib.contextmanager
def _precision(name: str):
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(POLICIES[name])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@contextlib.contextmanager
def _stop_signals(say: Callable[[str], None]):
    """Yield a list that gets the signal's name appended when SIGTERM or a first Ctrl-C
    (SIGINT) arrives, so the loop saves and stops after the current step; a second
    Ctrl-C raises ``KeyboardInterrupt`` at once, without saving (main thread only)."""
    flag: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def on_sigint(*_):
        if "sigint" in flag:
            raise KeyboardInterrupt
        flag.append("sigint")
        say("Ctrl-C: saving after this step (Ctrl-C again to stop at once, without saving)")

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, lambda *_: flag.append("sigterm")),
        signal.SIGINT: signal.signal(signal.SIGINT, on_sigint),
    }
    try:
        yield flag
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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


def evaluate(steps: StepFunctions, strategy, dataset, max_steps: int) -> dict[str, float]:
    """Google's metrics over at most ``max_steps`` batches of ``dataset``."""
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
    say: Callable[[str], None] = print,
) -> TrainingOutcome:
    """Train (or resume training) and return where it stopped."""
    strategy = None
    if resolve_name(run.strategy, run.tpu) == "multi_worker":
        strategy = make_strategy("multi_worker")  # before any other TF op, or it cannot start
    task = PretrainingTask(
        model_config=model_config, data=data, optimizer_config=optimizer_config, run=run
    )
    checks.check_model_dir_config(Path(run.model_dir), model_config)
    checks.check_lengths(model_config, data)
    checks.check_memory(data)
    inputs = task.check_inputs()
    checks.check_model_dir_writable(run.model_dir)
    strategy = strategy or make_strategy(run.strategy, run.tpu)
    checks.check_batch(data, run, strategy.num_replicas_in_sync)
    with _precision(run.precision):
        return _Loop(task=task, strategy=strategy, inputs=inputs, say=say).run()


class _Loop:
    """One run of the step loop over a built task."""

    def __init__(self, *, task: PretrainingTask, strategy, inputs: CheckedInputs, say):
        self.task, self.strategy, self.inputs, self.say = task, strategy, inputs, say
        self.config = task.run
        self.built = task.build_model(strategy)
        self.saver = Saver(self.built.checkpoint, self.config, strategy)
        self.resumed_from = self.saver.latest
        self._start_weights()
        self.start = int(self.built.step.numpy())
        self.iterator = task.build_inputs(
            strategy, inputs.train, seed=_run_seed(task.data.seed, self.start)
        )
        self.steps = StepFunctions(
            model=self.built.model,
            optimizer=self.built.optimizer,
            strategy=strategy,
            step=self.built.step,
            accum=self.config.grad_accum_steps,
            jit=self.config.jit,
            loss_scaled=self.config.precision == "mixed_fp16",
        )
        logdir = str(Path(self.config.model_dir) / "train") if self.saver.chief else None
        self.progress = Progress(total_steps=self.config.num_train_steps, logdir=logdir, say=say)
        self.result = TrainingOutcome(step=self.start, stopped="done")
        self.last_eval, self.evaluated_at = self.start, None

    def _start_weights(self) -> None:
        if self.resumed_from:
            restore(self.built.checkpoint, self.resumed_from)
            self.say(f"resumed from {self.resumed_from} at step {int(self.built.step.numpy())}")
        else:
            self.task.initialize(self.built, self.say)
        if self.saver.chief:
            model_dir = Path(self.config.model_dir)
            model_dir.mkdir(parents=True, exist_ok=True)
            self.task.model_config.to_json(model_dir / "albert_config.json")
            # The records' stats.json: which vocabulary the model learnt (export checks it).
            provenance.record_in_model_dir(self.inputs.train.files, str(model_dir))

    def _end(self) -> int:
        end = self.config.num_train_steps
        if self.config.max_steps_this_run is not None:
            end = min(end, self.start + self.config.max_steps_this_run)
        return end

    def run(self) -> TrainingOutcome:
        end, agree_to_stop = self._end(), _stop_agreement(self.strategy)
        with _stop_signals(self.say) as stop:
            step = self.start
            while step < end:
                step = self._train_step(end)
                if step % self.config.save_every == 0:
                    self.saver.save(step)
                if agree_to_stop(bool(stop)):
                    return self._stop_on_signal(step, stop[0] if stop else None)
                if self._eval_due(step):
                    self._evaluate(step)
        return self._finish()

    def _train_step(self, end: int) -> int:
        try:
            sums, norm = self.steps.train_step(self.iterator)
        except tf.errors.DataLossError as err:
            lines = str(err).splitlines() or [type(err).__name__]
            message = next((line for line in lines if "corrupt" in line), lines[0]).strip()
            raise locate_corruption(self.inputs.train.files, message) from None
        step = int(self.built.step.numpy())
        sums = {k: float(v) for k, v in sums.items()}
        loss = metrics_from_sums(sums)["loss"]
        if not math.isfinite(loss):
            raise UserError(
                f"loss became {loss} at step {step}; stopped without saving "
                f"(last good checkpoint: {self.saver.latest}); lower --learning-rate "
                "or use --precision fp32"
            )
        self.progress.add(sums)
        if step % self.config.log_every == 0 or step == end:
            lr = float(self.built.optimizer.learning_rate)
            self.result.metrics = metrics_from_sums(self.progress.sums)
            self.result.history.append((step, self.result.metrics))
            extra = {"learning_rate": lr, "gradient_norm": float(norm)}
            self.progress.flush(step, self.result.metrics, extra)
        return step

    def _stop_on_signal(self, step: int, signal_name: str | None) -> TrainingOutcome:
        """Save and stop: ``signal_name`` is this worker's ("sigterm", "sigint"), or
        None when another worker of a multi-worker run received it."""
        self.result.checkpoint = self.saver.save(step)
        what = {"sigint": "Ctrl-C", "sigterm": "SIGTERM", None: "SIGTERM (sent to another worker)"}
        self.say(f"{what[signal_name]}: saved {self.result.checkpoint} at step {step}; exiting")
        self.result.step, self.result.stopped = step, signal_name or "sigterm"
        self.result.signal = signal_name
        return self.result

    def _eval_due(self, step: int) -> bool:
        every = self.config.eval_every
        return bool(self.inputs.eval and every and step - self.last_eval >= every)

    def _evaluate(self, step: int) -> None:
        dataset = self.task.build_eval_dataset(self.inputs.eval)
        metrics = evaluate(self.steps, self.strategy, dataset, self.config.eval_steps)
        if self.saver.chief:
            _write_eval(Path(self.config.model_dir), step, metrics)
        self.say(f"eval at step {step}: {json.dumps({k: round(v, 4) for k, v in metrics.items()})}")
        self.result.eval_metrics = metrics
        self.last_eval = self.evaluated_at = step

    def _finish(self) -> TrainingOutcome:
        result = self.result
        result.step = int(self.built.step.numpy())
        result.stopped = "done" if result.step >= self.config.num_train_steps else "max_steps"
        if result.step > self.start or not self.resumed_from:
            result.checkpoint = self.saver.save(result.step)
        else:
            result.checkpoint = self.resumed_from
        if self.inputs.eval and self.evaluated_at != result.step:  # not twice at the last step
            self._evaluate(result.step)
        return result
