"""The self-attention sublayer of an ALBERT transformer layer, with its residual and LayerNorm."""

from __future__ import annotations

import keras

from albert_data.model.embeddings import LAYER_NORM_EPSILON


class AlbertAttention(keras.layers.Layer):
    """Multi-head self-attention + dropout + residual + LayerNorm.

    ``postln`` (ALBERT): ``LN(x + drop(attn(x)))``; ``preln``: ``x + drop(attn(LN(x)))``.
    Google's ``attention_1/self/{query,key,value}`` and ``attention_1/output/dense`` are
    the query/key/value/output projections of the Keras ``MultiHeadAttention`` (kernels
    ``[hidden, heads, head]`` and ``[heads, head, hidden]``); ``LayerNorm`` is
    :attr:`layer_norm`. Call with ``x`` ``[batch, seq, hidden]`` and ``attention_mask``
    ``[batch, 1, seq]`` (true where a key may be attended).
    """

    def __init__(
        self,
        hidden_size: int,
        num_attention_heads: int,
        *,
        attention_dropout: float = 0.0,
        hidden_dropout: float = 0.0,
        initializer_range: float = 0.02,
        ln_type: str = "postln",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.attention_dropout = attention_dropout
        self.hidden_dropout = hidden_dropout
        self.initializer_range = initializer_range
        self.ln_type = ln_type
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=num_attention_heads,
            key_dim=hidden_size // num_attention_heads,
            dropout=attention_dropout,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            name="self_attention",
        )
        self.dropout_layer = keras.layers.Dropout(hidden_dropout, name="dropout")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=LAYER_NORM_EPSILON, name="layer_norm"
        )

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)
        self.layer_norm.build(input_shape)
        self.built = True

    def call(self, x, attention_mask=None, training=None):
        y = self.layer_norm(x) if self.ln_type == "preln" else x
        y = self.attention(y, y, attention_mask=attention_mask, training=training)
        y = x + self.dropout_layer(y, training=training)
        return y if self.ln_type == "preln" else self.layer_norm(y)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_size=self.hidden_size,
            num_attention_heads=self.num_attention_heads,
            attention_dropout=self.attention_dropout,
            hidden_dropout=self.hidden_dropout,
            initializer_range=self.initializer_range,
            ln_type=self.ln_type,
        )
        return config
