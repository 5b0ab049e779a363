"""Rebuild a trained model from a model directory (or a checkpoint) for export."""

from __future__ import annotations

from pathlib import Path

from albert_data.errors import UserError
from albert_data.interop.checkpoints import LoadReport, init_from_checkpoint
from albert_data.model.config import AlbertConfig
from albert_data.model.pretraining_model import build_pretraining_model
from albert_data.training.checkpoint_files import newest_checkpoint


def load_trained_model(
    model_dir: str | None, checkpoint: str | None = None, config_path: str | None = None
):
    """The model of ``model_dir``'s newest checkpoint (or ``checkpoint``), and what was loaded.

    The config comes from ``config_path`` or else ``albert_config.json`` beside the
    checkpoint (the trainer writes one into every model directory).
    """
    if not model_dir and not checkpoint:
        raise UserError("give --model-dir or --checkpoint")
    if config_path is None:
        base = Path(model_dir) if model_dir else Path(checkpoint).parent
        config_path = str(base / "albert_config.json")
        if not Path(config_path).exists():
            raise UserError(f"{config_path} does not exist; pass --config albert_config.json")
    config = AlbertConfig.from_json(config_path)
    source = checkpoint or model_dir
    if not checkpoint and newest_checkpoint(model_dir) is None:
        raise UserError(
            f"--model-dir {model_dir} holds no checkpoint; train first or pass --checkpoint"
        )
    model = build_pretraining_model(config)
    report: LoadReport = init_from_checkpoint(model, source)
    return model, report
