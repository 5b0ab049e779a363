"""Training throughput of the base preset at sequence length 128 on this machine.

Reports sequences/s of full training steps (forward, backward, LAMB update) without
and with XLA (``--jit``), and the rate of the ``tf.data`` input pipeline alone
(parse + batch from TFRecords), which must stay far above the training rate.
"""

from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SEQ, PREDS, VOCAB = 128, 20, 30000
BATCH = 8
WARMUP_STEPS, TIMED_STEPS = 2, 6


def _records(directory: str) -> str:
    from albert_data.training.synthetic import write_synthetic_records

    path = f"{directory}/bench.tfrecord"
    write_synthetic_records(
        path, 512, max_seq_length=SEQ, max_predictions_per_seq=PREDS, vocab_size=VOCAB, seed=0
    )
    return path


def _data_config(path: str):
    from albert_data.training.config import DataConfig

    return DataConfig(
        patterns=(path,), max_seq_length=SEQ, max_predictions_per_seq=PREDS, batch_size=BATCH
    )


def input_rate(path: str, batches: int = 400) -> float:
    """Sequences/s of the input pipeline alone (128-sequence batches)."""
    from albert_data.training.data import make_dataset

    dataset = make_dataset(_data_config(path), (path,), batch_size=128, vocab_size=VOCAB)
    iterator = iter(dataset)
    for _ in range(5):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return 128 * batches / (time.perf_counter() - start)


def train_rate(path: str, jit: bool) -> float:
    """Sequences/s of training steps on the base preset."""
    import tensorflow as tf

    from albert_data.model import build_pretraining_model, preset
    from albert_data.training.config import OptimizerConfig
    from albert_data.training.data import make_dataset
    from albert_data.training.optimizer import build_optimizer
    from albert_data.training.trainer import _Steps

    strategy = tf.distribute.get_strategy()
    model = build_pretraining_model(preset("base"))
    optimizer = build_optimizer(OptimizerConfig(num_train_steps=1000), model.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64)
    steps = _Steps(
        model=model,
        optimizer=optimizer,
        strategy=strategy,
        step=step,
        accum=1,
        jit=jit,
        loss_scaled=False,
    )
    dataset = make_dataset(_data_config(path), (path,), batch_size=BATCH, vocab_size=VOCAB)
    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    for _ in range(WARMUP_STEPS):
        float(steps.train_step(iterator)[1])
    start = time.perf_counter()
    for _ in range(TIMED_STEPS):
        float(steps.train_step(iterator)[1])
    return BATCH * TIMED_STEPS / (time.perf_counter() - start)


def run() -> dict:
    """Measure and print; returns the figures (sequences per second)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _records(tmp)
        figures = {
            "train_base_seq128_seq_per_s": round(train_rate(path, jit=False), 2),
            "train_base_seq128_xla_seq_per_s": round(train_rate(path, jit=True), 2),
            "input_pipeline_seq_per_s": round(input_rate(path), 1),
            "batch_size": BATCH,
        }
    for name, value in figures.items():
        print(f"{name}: {value}")
    return figures


if __name__ == "__main__":
    run()
