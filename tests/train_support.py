"""Helpers for the trainer tests: tiny configs and synthetic records in the real schema."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from albert_data.model import preset
from albert_data.training.config import DataConfig, OptimizerConfig, TrainConfig
from albert_data.training.synthetic import write_synthetic_records

SEQ, PREDS, VOCAB = 32, 5, 100


def tiny_config(**changes):
    return dataclasses.replace(preset("tiny"), vocab_size=VOCAB, **changes)


def write_records(
    directory: Path,
    count: int = 16,
    *,
    seed: int = 0,
    dynamic: bool = False,
    name="a.tfrecord",
    seq=SEQ,
    preds=PREDS,
    vocab=VOCAB,
) -> Path:
    return write_synthetic_records(
        Path(directory) / name,
        count,
        max_seq_length=seq,
        max_predictions_per_seq=preds,
        vocab_size=vocab,
        seed=seed,
        dynamic=dynamic,
    )


def configs(
    records_glob: str,
    model_dir: Path,
    *,
    steps: int,
    batch: int = 16,
    lr: float = 0.02,
    optimizer: str = "lamb",
    **run,
):
    data = DataConfig(
        patterns=(records_glob,),
        max_seq_length=SEQ,
        max_predictions_per_seq=PREDS,
        batch_size=batch,
        shuffle_buffer=64,
    )
    opt = OptimizerConfig(
        name=optimizer, learning_rate=lr, num_train_steps=steps, num_warmup_steps=5
    )
    train = TrainConfig(
        model_dir=str(model_dir),
        num_train_steps=steps,
        **{"log_every": 10, "save_every": 1000, **run},
    )
    return {"model_config": tiny_config(), "data": data, "optimizer_config": opt, "run": train}


def cli_train_args(records_glob: str, model_dir: Path, *extra) -> list[str]:
    return [
        "train",
        "--records",
        records_glob,
        "--model-dir",
        str(model_dir),
        "--preset",
        "tiny",
        "--vocab-size",
        str(VOCAB),
        "--max-seq-length",
        str(SEQ),
        "--max-predictions-per-seq",
        str(PREDS),
        "--train-batch-size",
        "8",
        "--num-warmup-steps",
        "2",
        "--learning-rate",
        "0.01",
        "--shuffle-buffer",
        "32",
        *map(str, extra),
    ]
