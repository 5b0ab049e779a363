"""The ALBERT encoder: factorised embedding, depth-shared transformer layers, pooler."""

from __future__ import annotations

import keras
from keras import ops

from albert_data.model.attention import AlbertAttention
from albert_data.model.config import AlbertConfig
from albert_data.model.embeddings import LAYER_NORM_EPSILON, AlbertEmbeddings
from albert_data.model.feed_forward import AlbertFeedForward


class AlbertEncoder(keras.layers.Layer):
    """Embeddings → E→H projection → transformer layers (shared per ``share_type``) → pooler.

    Call with ``input_ids``, ``segment_ids`` and ``input_mask`` (int ``[batch, seq]``);
    returns ``{"sequence_output": [batch, seq, hidden], "pooled_output": [batch, hidden]}``.
    The blocks applied at each depth follow :meth:`AlbertConfig.layer_plan`, so with
    ``share_type="all"`` and one group there is a single attention and a single
    feed-forward block, applied ``num_hidden_layers`` times.
    """

    def __init__(self, albert_config: AlbertConfig | dict, **kwargs):
        super().__init__(**kwargs)
        if isinstance(albert_config, dict):
            albert_config = AlbertConfig.from_dict(albert_config)
        self.config = c = albert_config
        init = keras.initializers.TruncatedNormal(stddev=c.initializer_range)
        self.embeddings = AlbertEmbeddings(
            vocab_size=c.vocab_size,
            embedding_size=c.embedding_size,
            max_position_embeddings=c.max_position_embeddings,
            type_vocab_size=c.type_vocab_size,
            dropout=c.hidden_dropout_prob,
            initializer_range=c.initializer_range,
            name="embeddings",
        )
        self.embedding_projection = keras.layers.Dense(
            c.hidden_size, kernel_initializer=init, name="embedding_hidden_mapping_in"
        )
        self.plan = c.layer_plan()
        # Blocks are attributes, not a list, so that tf.train.Checkpoint tracks them too.
        attention_blocks = [
            AlbertAttention(
                hidden_size=c.hidden_size,
                num_attention_heads=c.num_attention_heads,
                attention_dropout=c.attention_probs_dropout_prob,
                hidden_dropout=c.hidden_dropout_prob,
                initializer_range=c.initializer_range,
                ln_type=c.ln_type,
                name=f"attention_{i}",
            )
            for i in range(1 + max(a for a, _ in self.plan))
        ]
        ffn_blocks = [
            AlbertFeedForward(
                hidden_size=c.hidden_size,
                intermediate_size=c.intermediate_size,
                hidden_act=c.hidden_act,
                hidden_dropout=c.hidden_dropout_prob,
                initializer_range=c.initializer_range,
                ln_type=c.ln_type,
                name=f"ffn_{i}",
            )
            for i in range(1 + max(f for _, f in self.plan))
        ]
        for block in (*attention_blocks, *ffn_blocks):
            setattr(self, block.name, block)
        self._num_blocks = (len(attention_blocks), len(ffn_blocks))
        self.final_layer_norm = (
            keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="final_layer_norm")
            if c.ln_type == "preln"
            else None
        )
        self.pooler = keras.layers.Dense(
            c.hidden_size, activation="tanh", kernel_initializer=init, name="pooler"
        )

    @property
    def attention_blocks(self) -> list[AlbertAttention]:
        return [getattr(self, f"attention_{i}") for i in range(self._num_blocks[0])]

    @property
    def ffn_blocks(self) -> list[AlbertFeedForward]:
        return [getattr(self, f"ffn_{i}") for i in range(self._num_blocks[1])]

    def build(self, input_shape=None):
        c = self.config
        hidden = (None, None, c.hidden_size)
        self.embeddings.build()
        self.embedding_projection.build((None, None, c.embedding_size))
        for block in (*self.attention_blocks, *self.ffn_blocks):
            block.build(hidden)
        if self.final_layer_norm is not None:
            self.final_layer_norm.build(hidden)
        self.pooler.build((None, c.hidden_size))
        self.built = True

    def call(self, input_ids, segment_ids, input_mask, training=None):
        x = self.embeddings(input_ids, segment_ids, training=training)
        x = self.embedding_projection(x)
        attention_mask = ops.cast(input_mask, "bool")[:, None, :]
        attention_blocks, ffn_blocks = self.attention_blocks, self.ffn_blocks
        for attention, ffn in self.plan:
            x = attention_blocks[attention](x, attention_mask, training=training)
            x = ffn_blocks[ffn](x, training=training)
        if self.final_layer_norm is not None:
            x = self.final_layer_norm(x)
        pooled = self.pooler(x[:, 0, :])
        return {"sequence_output": x, "pooled_output": pooled}

    def get_config(self):
        config = super().get_config()
        config.update(albert_config=self.config.to_dict())
        return config
