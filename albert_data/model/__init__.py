"""The Keras 3 ALBERT model: config, layers (one public class per module) and the pretraining model.

The names are loaded on first use, so ``albert_data.model.config`` (plain JSON, no
TensorFlow) can be read by ``export``'s and ``train``'s checks before TensorFlow is imported.
"""

import importlib

_HOMES = {
    "AlbertAttention": "attention",
    "PRESETS": "config",
    "AlbertConfig": "config",
    "preset": "config",
    "AlbertEmbeddings": "embeddings",
    "AlbertEncoder": "encoder",
    "AlbertFeedForward": "feed_forward",
    "MaskedLMHead": "mlm_head",
    "AlbertPretrainingModel": "pretraining_model",
    "build_pretraining_model": "pretraining_model",
    "dummy_inputs": "pretraining_model",
    "SentenceOrderHead": "sop_head",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
