"""The ALBERT pretraining model: encoder + masked-LM head + sentence-order head."""

from __future__ import annotations

import keras
import numpy as np

from albert_data.model.config import AlbertConfig
from albert_data.model.encoder import AlbertEncoder
from albert_data.model.mlm_head import MaskedLMHead
from albert_data.model.sop_head import SentenceOrderHead


class AlbertPretrainingModel(keras.Model):
    """Call with a dict of ``input_ids``, ``segment_ids``, ``input_mask`` and
    ``masked_lm_positions``; returns ``mlm_logits [batch, P, vocab]``,
    ``sop_logits [batch, 2]``, ``sequence_output`` and ``pooled_output``.
    """

    def __init__(self, albert_config: AlbertConfig | dict, **kwargs):
        super().__init__(**kwargs)
        if isinstance(albert_config, dict):
            albert_config = AlbertConfig.from_dict(albert_config)
        self.config = c = albert_config
        self.encoder = AlbertEncoder(c, name="encoder")
        self.mlm_head = MaskedLMHead(
            vocab_size=c.vocab_size,
            embedding_size=c.embedding_size,
            hidden_act=c.hidden_act,
            initializer_range=c.initializer_range,
            name="mlm_head",
        )
        self.sop_head = SentenceOrderHead(initializer_range=c.initializer_range, name="sop_head")

    def build(self, input_shape=None):
        c = self.config
        self.encoder.build()
        self.mlm_head.build((None, None, c.hidden_size))
        self.sop_head.build((None, c.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        outputs = self.encoder(
            inputs["input_ids"], inputs["segment_ids"], inputs["input_mask"], training=training
        )
        word_table = self.encoder.embeddings.word_embeddings.embeddings
        mlm_logits = self.mlm_head(
            outputs["sequence_output"], inputs["masked_lm_positions"], word_table
        )
        sop_logits = self.sop_head(outputs["pooled_output"])
        return {"mlm_logits": mlm_logits, "sop_logits": sop_logits, **outputs}

    def get_config(self):
        return {"albert_config": self.config.to_dict(), "name": self.name}


def dummy_inputs(batch: int = 1, seq: int = 8, predictions: int = 2) -> dict[str, np.ndarray]:
    """Small valid inputs, for building a model by calling it once."""
    return {
        "input_ids": np.zeros((batch, seq), np.int32),
        "segment_ids": np.zeros((batch, seq), np.int32),
        "input_mask": np.ones((batch, seq), np.int32),
        "masked_lm_positions": np.zeros((batch, predictions), np.int32),
    }


def build_pretraining_model(config: AlbertConfig) -> AlbertPretrainingModel:
    """Create the model and its weights (built explicitly, without running it)."""
    model = AlbertPretrainingModel(config, name="albert")
    model.build()
    return model
