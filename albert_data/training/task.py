"""The pretraining task, split the way Model Garden's tasks are: building the model
(with its optimiser, step counter and checkpoint), the inputs, and the starting
weights. The losses and metrics are :mod:`albert_data.training.losses`; one train step
is :mod:`albert_data.training.steps`; the loop is :mod:`albert_data.training.trainer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf

from albert_data.model.config import AlbertConfig
from albert_data.model.initialization import initialize_weights
from albert_data.model.pretraining_model import build_pretraining_model
from albert_data.training import data as data_lib
from albert_data.training.config import DataConfig, OptimizerConfig, TrainConfig
from albert_data.training.optimizer import build_optimizer


@dataclass(frozen=True)
class BuiltModel:
    """What :meth:`PretrainingTask.build_model` makes under the strategy's scope."""

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    step: tf.Variable
    checkpoint: tf.train.Checkpoint


@dataclass(frozen=True)
class CheckedInputs:
    """The training and (optional) evaluation records, checked against the model."""

    train: data_lib.RecordsInfo
    eval: data_lib.RecordsInfo | None


@dataclass(frozen=True)
class PretrainingTask:
    """ALBERT's MLM + SOP pretraining on ``make-pretraining``'s records."""

    model_config: AlbertConfig
    data: DataConfig
    optimizer_config: OptimizerConfig
    run: TrainConfig

    def check_inputs(self) -> CheckedInputs:
        """Check the record files (framing, shapes, ids) before anything is built."""
        vocab_size = self.model_config.vocab_size
        train = data_lib.check_records(self.data, vocab_size)
        evaluation = None
        if self.run.eval_patterns:
            evaluation = data_lib.check_records(
                self.data, vocab_size, flag="--eval-records", patterns=self.run.eval_patterns
            )
        return CheckedInputs(train=train, eval=evaluation)

    def build_model(self, strategy: tf.distribute.Strategy) -> BuiltModel:
        """The model, its optimiser and the step counter, and a checkpoint of all three."""
        with strategy.scope():
            model = build_pretraining_model(self.model_config)
            optimizer = build_optimizer(
                self.optimizer_config, model.trainable_variables, self.run.precision
            )
            step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
        return BuiltModel(model=model, optimizer=optimizer, step=step, checkpoint=checkpoint)

    def initialize(self, built: BuiltModel, say: Callable[[str], None]) -> None:
        """Starting weights of a fresh run: seeded, or from ``--init-checkpoint``."""
        initialize_weights(built.model, self.data.seed)
        if self.run.init_checkpoint:
            from albert_data.interop.checkpoints import init_from_checkpoint

            say(init_from_checkpoint(built.model, self.run.init_checkpoint).summary())

    def build_inputs(self, strategy: tf.distribute.Strategy, records, *, seed: int):
        """An iterator over distributed training batches (each worker reads its share)."""

        def dataset_fn(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
            return data_lib.make_dataset(
                self.data,
                records.files,
                batch_size=ctx.get_per_replica_batch_size(self.data.batch_size),
                compression=records.compression,
                vocab_size=self.model_config.vocab_size,
                dynamic=records.dynamic,
                seed=seed,
                input_context=ctx,
            )

        return iter(strategy.distribute_datasets_from_function(dataset_fn))

    def build_eval_dataset(self, records) -> tf.data.Dataset:
        """Evaluation batches, in file order, not repeated."""
        return data_lib.make_dataset(
            self.data,
            records.files,
            batch_size=self.run.eval_batch_size,
            compression=records.compression,
            vocab_size=self.model_config.vocab_size,
            dynamic=records.dynamic,
            training=False,
        )
