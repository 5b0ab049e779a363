"""Optimiser and learning-rate schedule: Keras' LAMB (or AdamW) with Google's schedule.

Gradients reach the optimiser already summed over replicas by the trainer (which
needs the global gradient for clipping and the gradient-norm scalar), so the two
optimiser classes here skip Keras' own cross-replica sum; clipping by global norm and
decoupled weight decay (not on LayerNorm parameters or biases) stay Keras'.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from albert_data.training.config import OptimizerConfig

NO_DECAY_NAMES = ("gamma", "beta", "bias", "output_bias")


@keras.saving.register_keras_serializable(package="albert_data")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Google's schedule: ``lr·step/warmup`` during warm-up, else ``lr·(1 - step/total)^power``."""

    def __init__(
        self, learning_rate: float, num_train_steps: int, num_warmup_steps: int, power: float = 1.0
    ):
        self.learning_rate = learning_rate
        self.num_train_steps = num_train_steps
        self.num_warmup_steps = num_warmup_steps
        self.power = power

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        total = float(max(self.num_train_steps, 1))
        decayed = self.learning_rate * tf.pow(1.0 - tf.minimum(step, total) / total, self.power)
        if self.num_warmup_steps <= 0:
            return decayed
        warmup = self.learning_rate * step / float(self.num_warmup_steps)
        return tf.where(step < self.num_warmup_steps, warmup, decayed)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "num_train_steps": self.num_train_steps,
            "num_warmup_steps": self.num_warmup_steps,
            "power": self.power,
        }


class _PreReduced:
    """Mixin: gradients arrive summed over replicas already; do not sum them again."""

    def _all_reduce_sum_gradients(self, grads_and_vars):
        return list(grads_and_vars)


class Lamb(_PreReduced, keras.optimizers.Lamb):
    """Keras' LAMB, fed globally reduced gradients."""


class AdamW(_PreReduced, keras.optimizers.AdamW):
    """Keras' AdamW, fed globally reduced gradients."""


def uses_weight_decay(variable) -> bool:
    """LayerNorm scales/offsets and biases are not decayed (Google's exclusion list)."""
    return variable.name not in NO_DECAY_NAMES and not variable.name.endswith("bias")


def build_optimizer(config: OptimizerConfig, variables, precision: str = "fp32"):
    """The optimiser for ``config``, built on ``variables`` (call under the strategy scope)."""
    schedule = WarmupPolynomialDecay(
        config.learning_rate, config.num_train_steps, config.num_warmup_steps
    )
    cls = {"lamb": Lamb, "adamw": AdamW}[config.name]
    decay = config.weight_decay if config.weight_decay > 0 else None
    optimizer = cls(
        learning_rate=schedule,
        beta_1=config.beta_1,
        beta_2=config.beta_2,
        epsilon=config.epsilon,
        global_clipnorm=config.clip_norm if config.clip_norm > 0 else None,
        weight_decay=decay if config.name == "lamb" else config.weight_decay,
    )
    if config.weight_decay > 0:
        optimizer.exclude_from_weight_decay(
            var_list=[v for v in variables if not uses_weight_decay(v)]
        )
    if precision == "mixed_fp16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    optimizer.build(variables)
    return optimizer
