"""The feed-forward sublayer of an ALBERT transformer layer, with its residual and LayerNorm."""

from __future__ import annotations

import keras

from albert_data.model.activations import get_activation
from albert_data.model.embeddings import LAYER_NORM_EPSILON


class AlbertFeedForward(keras.layers.Layer):
    """Dense to ``intermediate_size`` + activation, dense back, dropout, residual, LayerNorm.

    Google's ``ffn_1/intermediate/dense`` is :attr:`intermediate`,
    ``ffn_1/intermediate/output/dense`` is :attr:`output_dense` and ``LayerNorm_1`` is
    :attr:`layer_norm`.
    """

    def __init__(
        self,
        hidden_size: int,
        intermediate_size: int,
        *,
        hidden_act: str = "gelu",
        hidden_dropout: float = 0.0,
        initializer_range: float = 0.02,
        ln_type: str = "postln",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout = hidden_dropout
        self.initializer_range = initializer_range
        self.ln_type = ln_type
        init = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.intermediate = keras.layers.Dense(
            intermediate_size,
            activation=get_activation(hidden_act),
            kernel_initializer=init,
            name="intermediate",
        )
        self.output_dense = keras.layers.Dense(hidden_size, kernel_initializer=init, name="output")
        self.dropout_layer = keras.layers.Dropout(hidden_dropout, name="dropout")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=LAYER_NORM_EPSILON, name="layer_norm"
        )

    def build(self, input_shape):
        self.intermediate.build(input_shape)
        self.output_dense.build((*input_shape[:-1], self.intermediate_size))
        self.layer_norm.build(input_shape)
        self.built = True

    def call(self, x, training=None):
        y = self.layer_norm(x) if self.ln_type == "preln" else x
        y = self.output_dense(self.intermediate(y))
        y = x + self.dropout_layer(y, training=training)
        return y if self.ln_type == "preln" else self.layer_norm(y)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act,
            hidden_dropout=self.hidden_dropout,
            initializer_range=self.initializer_range,
            ln_type=self.ln_type,
        )
        return config
