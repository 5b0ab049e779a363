"""Export the encoder as a TF SavedModel with a serving signature, loadable by
``tf.saved_model.load``, ``keras.layers.TFSMLayer`` and ``tensorflow_hub.KerasLayer``.

Signature ``serving_default``: ``input_ids``, ``input_mask``, ``segment_ids`` (int32
``[batch, seq]``) → ``sequence_output`` ``[batch, seq, hidden]`` and
``pooled_output`` ``[batch, hidden]``, float32 (the names of the ALBERT README's TF-Hub
examples). The object is also callable as a TF-Hub reusable SavedModel: ``__call__``
takes the same three inputs as a dict and ``training`` (dropout on), and it exposes its
``variables`` / ``trainable_variables``, so ``hub.KerasLayer(path, trainable=True)``
fine-tunes the encoder.
"""

from __future__ import annotations

import keras
import tensorflow as tf

INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")


def export_saved_model(model, path: str) -> str:
    """Write ``model.encoder`` with the serving signature to ``path``; return ``path``."""
    encoder = model.encoder
    specs = [tf.TensorSpec([None, None], tf.int32, name=name) for name in INPUT_NAMES]

    def serve(input_ids, input_mask, segment_ids):
        outputs = encoder(input_ids, segment_ids, input_mask, training=False)
        return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}

    @tf.function
    def call(inputs, training=False):
        outputs = encoder(
            inputs["input_ids"], inputs["segment_ids"], inputs["input_mask"], training=training
        )
        return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}

    dict_spec = {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in INPUT_NAMES}
    for training in (False, True):
        call.get_concrete_function(dict_spec, training=training)

    archive = keras.export.ExportArchive()
    archive.track(encoder)
    archive.add_endpoint("serving_default", serve, input_signature=specs)
    archive.add_endpoint("__call__", call)
    archive.write_out(path, verbose=False)
    return path
