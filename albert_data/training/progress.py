"""The console progress line and TensorBoard scalars of a training run."""

from __future__ import annotations

import time
from collections.abc import Callable

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
)


def write_scalars(writer, step: int, scalars: dict[str, float]) -> None:
    """Write TensorBoard scalars (the ``scalars`` plugin's format, no tensorboard import)."""
    with writer.as_default(step=step):
        for name, value in scalars.items():
            tf.summary.write(
                name, tf.constant(value, tf.float32), step=step, metadata=_SCALAR_METADATA
            )
    writer.flush()


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Accumulates step sums between log points; prints a line and writes scalars."""

    def __init__(self, *, total_steps: int, logdir: str | None, say: Callable[[str], None]):
        """``logdir=None`` writes no TensorBoard scalars (a multi-worker run's non-chief)."""
        self.total_steps = total_steps
        self.say = say
        self.writer = tf.summary.create_file_writer(logdir) if logdir else None
        self._reset(time.perf_counter())

    def _reset(self, now: float) -> None:
        self.window_start = now
        self.window_steps = 0
        self.sums: dict[str, float] = {}

    def add(self, sums: dict[str, float]) -> None:
        for key, value in sums.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.window_steps += 1

    def flush(self, step: int, metrics: dict[str, float], extra: dict[str, float]) -> None:
        """Print the progress line and write scalars for the window ending at ``step``."""
        now = time.perf_counter()
        elapsed = max(now - self.window_start, 1e-9)
        seq_per_s = self.sums.get("sequences", 0.0) / elapsed
        eta = (self.total_steps - step) * elapsed / max(self.window_steps, 1)
        scalars = {**metrics, **extra, "sequences_per_second": seq_per_s}
        if self.writer is not None:
            write_scalars(self.writer, step, scalars)
        self.say(
            f"step {step}/{self.total_steps} | loss {metrics['loss']:.4f} | "
            f"mlm_acc {metrics['masked_lm_accuracy']:.3f} | "
            f"sop_acc {metrics['sentence_order_accuracy']:.3f} | lr {extra['learning_rate']:.3g} | "
            f"grad_norm {extra['gradient_norm']:.3g} | {seq_per_s:.1f} seq/s | "
            f"ETA {format_duration(eta)}"
        )
        self._reset(now)
