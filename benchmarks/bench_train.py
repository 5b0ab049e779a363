"""Training speed of the base preset at sequence length 128, batch 8, on this machine.

Reports seconds per full training step (forward, backward, LAMB update) with XLA (the
default) and without (``--no-jit``), the median of a few steps after the compiling
ones, and the rate of the ``tf.data`` input pipeline alone (parse + batch from
TFRecords), which must stay far above the training rate.
"""

from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SEQ, PREDS, VOCAB = 128, 20, 30000
BATCH = 8
WARMUP_STEPS, TIMED_STEPS = 2, 5


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


def input_rate(path: str, batches: int = 100) -> float:
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


def seconds_per_step(path: str, jit: bool) -> float:
    """Median seconds of a training step on the base preset (after the compiling steps)."""
    import statistics

    import tensorflow as tf

    from albert_data.model import build_pretraining_model, preset
    from albert_data.model.initialization import initialize_weights
    from albert_data.training.config import OptimizerConfig
    from albert_data.training.data import make_dataset
    from albert_data.training.optimizer import build_optimizer
    from albert_data.training.steps import StepFunctions

    strategy = tf.distribute.get_strategy()
    model = build_pretraining_model(preset("base"))
    initialize_weights(model, 0)
    optimizer = build_optimizer(OptimizerConfig(num_train_steps=1000), model.trainable_variables)
    steps = StepFunctions(
        model=model,
        optimizer=optimizer,
        strategy=strategy,
        step=tf.Variable(0, dtype=tf.int64),
        accum=1,
        jit=jit,
        loss_scaled=False,
    )
    dataset = make_dataset(_data_config(path), (path,), batch_size=BATCH, vocab_size=VOCAB)
    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    for _ in range(WARMUP_STEPS):
        float(steps.train_step(iterator)[1])
    times = []
    for _ in range(TIMED_STEPS):
        start = time.perf_counter()
        float(steps.train_step(iterator)[1])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> dict:
    """Measure and print; returns the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _records(tmp)
        xla = seconds_per_step(path, jit=True)
        plain = seconds_per_step(path, jit=False)
        figures = {
            "train_base_seq128_batch8_xla_s_per_step": round(xla, 3),
            "train_base_seq128_batch8_no_jit_s_per_step": round(plain, 3),
            "xla_speedup": round(plain / xla, 2),
            "input_pipeline_seq_per_s": round(input_rate(path), 1),
        }
    for name, value in figures.items():
        print(f"{name}: {value}")
    return figures


if __name__ == "__main__":
    run()
