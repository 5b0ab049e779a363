"""One train step and one eval step, compiled with ``tf.function`` (the forward and
backward pass with XLA unless ``jit=False``).

A step takes one global batch; each replica splits its share into ``accum``
micro-batches, sums their gradients, all-reduces them and applies them once. The
losses each replica differentiates are scaled to the global batch
(:func:`albert_data.training.losses.scaled_loss`), so any number of replicas and
accumulation steps gives the gradients of one device seeing the whole batch.
"""

from __future__ import annotations

import tensorflow as tf

from albert_data.training.losses import SUM_KEYS, pretraining_sums, scaled_loss

SUM = tf.distribute.ReduceOp.SUM


class StepFunctions:
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
