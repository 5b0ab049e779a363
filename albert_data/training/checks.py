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
