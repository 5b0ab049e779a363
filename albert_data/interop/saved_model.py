"""Export the encoder as a TF SavedModel with a serving signature.

Signature ``serving_default``: ``input_ids``, ``input_mask``, ``segment_ids`` (int32
``[batch, seq]``) → ``sequence_output`` ``[batch, seq, hidden]`` and
``pooled_output`` ``[batch, hidden]``, float32.
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

    archive = keras.export.ExportArchive()
    archive.track(encoder)
    archive.add_endpoint("serving_default", serve, input_signature=specs)
    archive.write_out(path, verbose=False)
    return path
