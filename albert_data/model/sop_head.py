"""The sentence-order-prediction head: a 2-way dense layer on the pooled output."""

from __future__ import annotations

import keras


class SentenceOrderHead(keras.layers.Layer):
    """Logits ``[batch, 2]`` (class 1 = segments swapped) from ``pooled_output``.

    Google's ``cls/seq_relationship/output_weights`` is the transpose of
    :attr:`dense`'s kernel; ``output_bias`` is its bias.
    """

    def __init__(self, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            2,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            name="seq_relationship",
        )

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.built = True

    def call(self, pooled_output):
        return self.dense(pooled_output)

    def get_config(self):
        config = super().get_config()
        config.update(initializer_range=self.initializer_range)
        return config
