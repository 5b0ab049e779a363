"""Pretraining losses and metrics under Google's names, scaled to the global batch.

Each replica returns *sums* (weighted MLM loss and hits, SOP loss and hits, counts);
the loss it differentiates is its share of the global mean — the MLM sum divided by
the global sum of ``masked_lm_weights``, the SOP sum divided by the global number of
sequences — so that gradients summed over replicas (and accumulation steps) equal
those of one device seeing the whole batch.
"""

from __future__ import annotations

import tensorflow as tf

METRIC_NAMES = (
    "masked_lm_loss",
    "masked_lm_accuracy",
    "sentence_order_loss",
    "sentence_order_accuracy",
)
SUM_KEYS = ("mlm_loss_sum", "mlm_hits", "mlm_weight", "sop_loss_sum", "sop_hits", "sequences")


def pretraining_sums(outputs: dict, batch: dict) -> dict[str, tf.Tensor]:
    """Per-batch sums from the model's logits and the batch's labels."""
    mlm_logits = tf.cast(outputs["mlm_logits"], tf.float32)
    sop_logits = tf.cast(outputs["sop_logits"], tf.float32)
    labels = batch["masked_lm_ids"]
    weights = tf.cast(batch["masked_lm_weights"], tf.float32)
    mlm_xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=mlm_logits)
    mlm_hit = tf.cast(
        tf.equal(tf.argmax(mlm_logits, -1, output_type=labels.dtype), labels), tf.float32
    )
    sop_labels = batch["next_sentence_labels"]
    sop_xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=sop_labels, logits=sop_logits)
    sop_hit = tf.equal(tf.argmax(sop_logits, -1, output_type=sop_labels.dtype), sop_labels)
    return {
        "mlm_loss_sum": tf.reduce_sum(weights * mlm_xent),
        "mlm_hits": tf.reduce_sum(weights * mlm_hit),
        "mlm_weight": tf.reduce_sum(weights),
        "sop_loss_sum": tf.reduce_sum(sop_xent),
        "sop_hits": tf.reduce_sum(tf.cast(sop_hit, tf.float32)),
        "sequences": tf.cast(tf.shape(sop_labels)[0], tf.float32),
    }


def scaled_loss(sums: dict, global_weight: tf.Tensor, global_sequences: tf.Tensor) -> tf.Tensor:
    """This batch's share of the global loss ``mlm_mean + sop_mean``."""
    mlm = sums["mlm_loss_sum"] / (global_weight + 1e-5)
    sop = sums["sop_loss_sum"] / global_sequences
    return mlm + sop


def metrics_from_sums(sums: dict) -> dict[str, float]:
    """Google's four metrics, plus ``loss`` (their two losses added)."""
    weight = max(float(sums["mlm_weight"]), 1e-5)
    sequences = max(float(sums["sequences"]), 1.0)
    metrics = {
        "masked_lm_loss": float(sums["mlm_loss_sum"]) / weight,
        "masked_lm_accuracy": float(sums["mlm_hits"]) / weight,
        "sentence_order_loss": float(sums["sop_loss_sum"]) / sequences,
        "sentence_order_accuracy": float(sums["sop_hits"]) / sequences,
    }
    metrics["loss"] = metrics["masked_lm_loss"] + metrics["sentence_order_loss"]
    return metrics
