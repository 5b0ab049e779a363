"""Training speed of the base preset at sequence length 128, batch 8, on this machine.

Reports seconds per full training step (forward, backward, LAMB update) with XLA (the
default) and without (``--no-jit``), the median of a few steps after the compiling
ones, as wall time and as CPU time of the process (user + sys of all its threads: the
figure to trust on a shared machine), and the rate of the ``tf.data`` input pipeline alone (parse + batch from
TFRecords), which must stay far above the training rate.
"""

from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SEQ, PREDS, VOCAB = 128, 20, 30000
BATCH = 8
WARMUP_STEPS, TIMED_STEPS = 2, 9


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


def seconds_per_step(path: str) -> dict[bool, tuple[float, float, float]]:
    """Median (wall, CPU) seconds of a training step on the base preset, with XLA (True)
    and without (False), after the compiling steps, and the wall seconds of the first
    step (tracing, and compiling with XLA). One model and optimiser, stepped by
    both compiled functions in turn, so that the load of a shared machine falls on both
    alike."""
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
    step = tf.Variable(0, dtype=tf.int64)
    shared = {"model": model, "optimizer": optimizer, "strategy": strategy, "step": step}
    steps = {
        jit: StepFunctions(**shared, accum=1, jit=jit, loss_scaled=False) for jit in (True, False)
    }
    dataset = make_dataset(_data_config(path), (path,), batch_size=BATCH, vocab_size=VOCAB)
    iterator = iter(strategy.experimental_distribute_dataset(dataset))
    first: dict[bool, float] = {}
    for _ in range(WARMUP_STEPS):
        for jit, functions in steps.items():
            start = time.perf_counter()
            float(functions.train_step(iterator)[1])
            first.setdefault(jit, time.perf_counter() - start)  # tracing and compiling
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(TIMED_STEPS):
        for jit, functions in steps.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            float(functions.train_step(iterator)[1])
            times[jit].append((time.perf_counter() - start, time.process_time() - start_cpu))
    return {
        jit: (
            statistics.median(t[0] for t in pairs),
            statistics.median(t[1] for t in pairs),
            first[jit],
        )
        for jit, pairs in times.items()
    }


def run() -> dict:
    """Measure and print; returns the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _records(tmp)
        measured = seconds_per_step(path)
        (xla, xla_cpu, xla_first), (plain, plain_cpu, plain_first) = measured[True], measured[False]
        figures = {
            "train_base_seq128_batch8_xla_s_per_step": round(xla, 3),
            "train_base_seq128_batch8_no_jit_s_per_step": round(plain, 3),
            "xla_speedup": round(plain / xla, 2),
            "train_base_seq128_batch8_xla_cpu_s_per_step": round(xla_cpu, 3),
            "train_base_seq128_batch8_no_jit_cpu_s_per_step": round(plain_cpu, 3),
            "xla_cpu_speedup": round(plain_cpu / xla_cpu, 2),
            "train_base_first_step_xla_s": round(xla_first, 1),
            "train_base_first_step_no_jit_s": round(plain_first, 1),
            "input_pipeline_seq_per_s": round(input_rate(path), 1),
        }
    for name, value in figures.items():
        print(f"{name}: {value}")
    return figures


if __name__ == "__main__":
    run()
