"""ALBERT's factorised input embedding: word + position + token type, LayerNorm, dropout."""

from __future__ import annotations

import keras
from keras import ops

LAYER_NORM_EPSILON = 1e-12


class AlbertEmbeddings(keras.layers.Layer):
    """Sum of word, absolute position and token type embeddings of width ``embedding_size``.

    Call with ``input_ids`` and ``segment_ids`` (int, ``[batch, seq]``); returns
    ``[batch, seq, embedding_size]``. The word table is exposed as
    :attr:`word_embeddings` so the MLM decoder can share it.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        max_position_embeddings: int,
        type_vocab_size: int,
        *,
        dropout: float = 0.0,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.dropout = dropout
        self.initializer_range = initializer_range
        init = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.word_embeddings = keras.layers.Embedding(
            vocab_size, embedding_size, embeddings_initializer=init, name="word_embeddings"
        )
        self.token_type_embeddings = keras.layers.Embedding(
            type_vocab_size,
            embedding_size,
            embeddings_initializer=init,
            name="token_type_embeddings",
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=LAYER_NORM_EPSILON, name="layer_norm"
        )
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")

    def build(self, input_shape=None):
        init = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        self.position_embeddings = self.add_weight(
            shape=(self.max_position_embeddings, self.embedding_size),
            initializer=init,
            name="position_embeddings",
        )
        self.word_embeddings.build((None, None))
        self.token_type_embeddings.build((None, None))
        self.layer_norm.build((None, None, self.embedding_size))
        self.built = True

    def call(self, input_ids, segment_ids, training=None):
        seq_length = ops.shape(input_ids)[1]
        x = self.word_embeddings(input_ids)
        x = x + self.token_type_embeddings(segment_ids)
        positions = ops.cast(self.position_embeddings[:seq_length], x.dtype)
        x = x + positions[None, :, :]
        x = self.layer_norm(x)
        return self.dropout_layer(x, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            embedding_size=self.embedding_size,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=self.type_vocab_size,
            dropout=self.dropout,
            initializer_range=self.initializer_range,
        )
        return config
