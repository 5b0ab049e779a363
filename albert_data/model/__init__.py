"""The Keras 3 ALBERT model: config, layers (one public class per module) and the pretraining model."""

from albert_data.model.attention import AlbertAttention
from albert_data.model.config import PRESETS, AlbertConfig, preset
from albert_data.model.embeddings import AlbertEmbeddings
from albert_data.model.encoder import AlbertEncoder
from albert_data.model.feed_forward import AlbertFeedForward
from albert_data.model.mlm_head import MaskedLMHead
from albert_data.model.pretraining_model import (
    AlbertPretrainingModel,
    build_pretraining_model,
    dummy_inputs,
)
from albert_data.model.sop_head import SentenceOrderHead

__all__ = [
    "PRESETS",
    "AlbertAttention",
    "AlbertConfig",
    "AlbertEmbeddings",
    "AlbertEncoder",
    "AlbertFeedForward",
    "AlbertPretrainingModel",
    "MaskedLMHead",
    "SentenceOrderHead",
    "build_pretraining_model",
    "dummy_inputs",
    "preset",
]
