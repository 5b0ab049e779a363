"""Checks of a training run's settings made before anything is built, each failing with
one :class:`UserError` line naming the value and the fix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from albert_data.errors import UserError
from albert_data.model.config import AlbertConfig
from albert_data.training.config import DataConfig, TrainConfig


def check_model_dir_config(model_dir: Path, config: AlbertConfig) -> None:
    """A ``--model-dir`` that holds a run of another model shape cannot be resumed."""
    saved = model_dir / "albert_config.json"
    if saved.exists():
        previous = AlbertConfig.from_json(saved)
        if previous != config:
            raise UserError(
                f"--model-dir {model_dir} holds a run with a different model config ({saved}); "
                "use the same config to resume or a new --model-dir"
            )


def check_model_dir_writable(model_dir: str) -> None:
    """Create a local ``--model-dir`` and prove a file can be written in it (remote
    directories are left to the file system)."""
    if "://" in model_dir:
        return
    try:
        os.makedirs(model_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=model_dir):
            pass
    except OSError as err:
        raise UserError(
            f"--model-dir {model_dir} cannot be written ({err.strerror or err}); "
            "choose a writable directory"
        ) from None


def check_batch(data: DataConfig, train: TrainConfig, replicas: int) -> None:
    """The global batch splits evenly over replicas and accumulation steps."""
    parts = replicas * train.grad_accum_steps
    if data.batch_size % parts:
        raise UserError(
            f"--train-batch-size {data.batch_size} is not divisible by replicas ({replicas}) × "
            f"--grad-accum-steps ({train.grad_accum_steps}); choose a multiple of {parts}"
        )


def check_lengths(config: AlbertConfig, data: DataConfig) -> None:
    """The records' length fits the model's position embeddings."""
    if data.max_seq_length > config.max_position_embeddings:
        raise UserError(
            f"--max-seq-length {data.max_seq_length} exceeds the model's "
            f"max_position_embeddings {config.max_position_embeddings}"
        )


SHUFFLE_SLOT_BYTES = 24
"""What tf.data's shuffle buffer allocates per slot before holding a record in it."""


def physical_memory() -> int | None:
    """This machine's memory in bytes, where the system says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(data: DataConfig, memory: int | None = None) -> None:
    """A batch of parsed records and the shuffle buffer fit this machine's memory, by a
    lower bound of what each needs (a parsed record: its int32 features; a buffered one:
    a slot and at least a byte per feature value), so that only settings that cannot run
    are refused: a batch or buffer of billions of records is TensorFlow's traceback or a
    crash, not an out-of-memory error."""
    memory = physical_memory() if memory is None else memory
    if not memory:
        return
    length, predictions = data.max_seq_length, data.max_predictions_per_seq
    parsed = 4 * (4 * length + 3 * predictions + 1)
    buffered = SHUFFLE_SLOT_BYTES + 4 * length + 3 * predictions
    for flag, count, each in (
        ("--train-batch-size", data.batch_size, parsed),
        ("--shuffle-buffer", data.shuffle_buffer, buffered),
    ):
        if count * each > memory:
            raise UserError(
                f"{flag} {count} needs at least {count * each / 2**30:,.0f} GB for its records "
                f"({each} bytes each at --max-seq-length {length}), more than this machine's "
                f"{memory / 2**30:,.0f} GB of memory; use at most {memory // each:,}"
            )
