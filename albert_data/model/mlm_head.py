"""The masked-LM head: transform the gathered positions, decode with the tied word table."""

from __future__ import annotations

import keras
from keras import ops

from albert_data.model.activations import get_activation
from albert_data.model.embeddings import LAYER_NORM_EPSILON


class MaskedLMHead(keras.layers.Layer):
    """Dense to ``embedding_size`` + activation + LayerNorm, then ``· word_tableᵀ + bias``.

    Call with ``sequence_output`` ``[batch, seq, hidden]``, ``positions`` ``[batch, P]``
    and the word embedding table ``[vocab, embedding_size]`` (passed in, so the decoder
    is tied to the embedding without the head owning it); returns logits
    ``[batch, P, vocab]``. Google's ``cls/predictions/transform/dense`` is
    :attr:`dense`, ``transform/LayerNorm`` :attr:`layer_norm`, ``output_bias``
    :attr:`output_bias`.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        hidden_act: str = "gelu",
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            embedding_size,
            activation=get_activation(hidden_act),
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            name="transform",
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=LAYER_NORM_EPSILON, name="layer_norm"
        )

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.layer_norm.build((*input_shape[:-1], self.embedding_size))
        self.output_bias = self.add_weight(
            shape=(self.vocab_size,), initializer="zeros", name="output_bias"
        )
        self.built = True

    def call(self, sequence_output, positions, word_table):
        x = ops.take_along_axis(sequence_output, ops.cast(positions, "int32")[:, :, None], axis=1)
        x = self.layer_norm(self.dense(x))
        logits = ops.matmul(x, ops.transpose(ops.cast(word_table, x.dtype)))
        return logits + ops.cast(self.output_bias, x.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            embedding_size=self.embedding_size,
            hidden_act=self.hidden_act,
            initializer_range=self.initializer_range,
        )
        return config
