"""The ``tf.data`` input pipeline over ``make-pretraining``'s TFRecords, and its checks.

``check_records`` runs before any training: it expands the globs, walks every file's
TFRecord framing (:func:`albert_data.files.tfrecord.check_framing`: a corrupt or truncated file fails
here, naming it and the record), reads the first record of every file and compares the
first records' shapes and ids with the flags and the model config. ``make_dataset`` builds
the pipeline: files shuffled and interleaved in parallel, records shuffled, repeated,
batched with fixed shapes, parsed with :mod:`albert_data.records.schema`, masked on the fly
for ``--masking dynamic`` records, prefetched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from albert_data.errors import UserError
from albert_data.files.tfrecord import check_framing, record_compression, record_files
from albert_data.records import schema
from albert_data.training.config import DataConfig
from albert_data.training.vocab_ids import regular_ids

SAMPLE_RECORDS = 64


@dataclass(frozen=True)
class RecordsInfo:
    """What the checks found: the files and whether the records need dynamic masking."""

    files: tuple[str, ...]
    dynamic: bool
    max_id: int
    compression: str = ""  # "" or "GZIP"


def sorted_record_files(patterns: tuple[str, ...], flag: str = "--records") -> tuple[str, ...]:
    """:func:`~albert_data.files.tfrecord.record_files`, sorted: the order the trainer's
    seeded file shuffle starts from, whatever the order of the patterns."""
    return tuple(sorted(record_files(patterns, flag=flag)))


def _first_records(path: str, count: int, compression: str) -> list[bytes]:
    try:
        dataset = tf.data.TFRecordDataset(path, compression_type=compression)
        return [r.numpy() for r in dataset.take(count)]
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
        raise UserError(
            f"{path} is not a readable TFRecord file ({str(err).splitlines()[0]}); "
            "re-create it or remove it from the glob"
        ) from None


def _check_shapes(path: str, features: dict, config: DataConfig) -> None:
    missing = [name for name in schema.FEATURE_ORDER if name not in features]
    if missing:
        raise UserError(
            f"{path}: records lack the features {', '.join(missing)}; they were not written "
            "by make-pretraining"
        )
    length, preds = len(features["input_ids"]), len(features["masked_lm_positions"])
    if length != config.max_seq_length:
        raise UserError(
            f"{path}: records have sequence length {length} but --max-seq-length is "
            f"{config.max_seq_length}; pass --max-seq-length {length}"
        )
    if preds != config.max_predictions_per_seq:
        raise UserError(
            f"{path}: records have {preds} prediction slots but --max-predictions-per-seq is "
            f"{config.max_predictions_per_seq}; pass --max-predictions-per-seq {preds}"
        )


def check_records(
    config: DataConfig, vocab_size: int, flag: str = "--records", patterns=None
) -> RecordsInfo:
    """Validate the record files against the flags and the model before training."""
    files = sorted_record_files(patterns or config.patterns, flag)
    compressions = {path: record_compression(path) for path in files}
    if len(set(compressions.values())) > 1:
        raise UserError(
            f"{flag}: mixes gzip-compressed and plain record files (e.g. {files[0]}); "
            "pass one kind per flag"
        )
    compression = compressions[files[0]]
    for path in files:
        check_framing(path)
    sample: list[dict] = []
    for path in files:
        records = _first_records(path, SAMPLE_RECORDS if not sample else 1, compression)
        if not records:
            continue
        for raw in records:
            try:
                features = schema.parse(raw)
            except ValueError as err:
                raise UserError(f"{path}: a record is not a tf.train.Example ({err})") from None
            _check_shapes(path, features, config)
            if len(sample) < SAMPLE_RECORDS:
                sample.append(features)
    if not sample:
        raise UserError(f"{flag} {' '.join(patterns or config.patterns)}: all files are empty")
    max_id = int(max(max(f["input_ids"].max(), f["masked_lm_ids"].max()) for f in sample))
    if max_id >= vocab_size:
        raise UserError(
            f"{files[0]}: records hold token id {max_id} but the model's vocab_size is "
            f"{vocab_size}; use the config whose vocab_size matches the vocab the records were made with"
        )
    unmasked = all(not np.any(f["masked_lm_weights"]) for f in sample)
    dynamic = {"static": False, "dynamic": True}.get(config.masking, unmasked)
    if config.masking == "static" and unmasked:
        raise UserError(
            f"{files[0]}: records carry no masked positions (they were written with --masking "
            "dynamic); use --masking dynamic or auto"
        )
    return RecordsInfo(files=files, dynamic=dynamic, max_id=max_id, compression=compression)


# --- the pipeline ------------------------------------------------------------------------


def _parse_batch(indices, serialized, spec):
    features = tf.io.parse_example(serialized, spec)
    out = {name: tf.cast(value, tf.int32) for name, value in features.items()}
    out["masked_lm_weights"] = features["masked_lm_weights"]
    out["next_sentence_labels"] = tf.reshape(out["next_sentence_labels"], [-1])
    out["example_index"] = indices
    return out


def _dynamic_masker(config: DataConfig, vocab_size: int, seed: int):
    """A numpy function masking a batch row by row, each row seeded by (seed, its index)."""
    from albert_data.pretraining import masking

    d = config.dynamic
    mask_config = dataclasses.replace(
        d.masking, max_predictions_per_seq=config.max_predictions_per_seq
    )
    replacements = regular_ids(d.regular_ids, d.mask_id, vocab_size)

    def mask_batch(indices, input_ids, token_boundary, input_mask):
        n, P = len(indices), config.max_predictions_per_seq
        ids = np.array(input_ids, copy=True)
        positions = np.zeros((n, P), np.int32)
        labels = np.zeros((n, P), np.int32)
        weights = np.zeros((n, P), np.float32)
        for row in range(n):
            rng = np.random.default_rng([seed, int(indices[row])])
            masked, pos, lab, w = masking.mask_record(
                input_ids[row].astype(np.int64),
                token_boundary[row].astype(np.int64),
                input_mask[row].astype(np.int64),
                config=mask_config,
                mask_id=d.mask_id,
                cls_id=d.cls_id,
                sep_id=d.sep_id,
                regular_ids=replacements,
                rng=rng,
            )
            ids[row] = masked
            k = min(len(pos), P)
            positions[row, :k], labels[row, :k], weights[row, :k] = pos[:k], lab[:k], w[:k]
        return ids, positions, labels, weights

    def apply(batch):
        ids, positions, labels, weights = tf.numpy_function(
            mask_batch,
            [
                batch["example_index"],
                batch["input_ids"],
                batch["token_boundary"],
                batch["input_mask"],
            ],
            [tf.int32, tf.int32, tf.int32, tf.float32],
            stateful=False,
        )
        out = dict(batch)
        out["input_ids"] = tf.ensure_shape(ids, batch["input_ids"].shape)
        out["masked_lm_positions"] = tf.ensure_shape(positions, batch["masked_lm_positions"].shape)
        out["masked_lm_ids"] = tf.ensure_shape(labels, batch["masked_lm_ids"].shape)
        out["masked_lm_weights"] = tf.ensure_shape(weights, batch["masked_lm_weights"].shape)
        return out

    return apply


def make_dataset(
    config: DataConfig,
    files: tuple[str, ...],
    *,
    batch_size: int,
    compression: str = "",
    vocab_size: int,
    dynamic: bool = False,
    training: bool = True,
    seed: int | None = None,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Batches of parsed records (int32 features, float weights, ``example_index``)."""
    seed = config.seed if seed is None else seed
    spec = feature_spec(schema.RecordShape(config.max_seq_length, config.max_predictions_per_seq))
    ds = tf.data.Dataset.from_tensor_slices(list(files))
    shard_records = False
    if input_context and input_context.num_input_pipelines > 1:
        if len(files) >= input_context.num_input_pipelines:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        else:
            shard_records = True
    if training:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type=compression),
        cycle_length=max(1, min(len(files), config.cycle_length)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if shard_records:
        ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if training:
        ds = ds.shuffle(
            config.shuffle_buffer, seed=(seed + 1) % 2**63, reshuffle_each_iteration=True
        )
    ds = ds.enumerate().batch(batch_size, drop_remainder=True)
    ds = ds.map(lambda i, s: _parse_batch(i, s, spec), num_parallel_calls=tf.data.AUTOTUNE)
    if dynamic:
        ds = ds.map(_dynamic_masker(config, vocab_size, seed), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def feature_spec(shape: schema.RecordShape) -> dict:
    """The ``tf.io.parse_*`` feature spec of Google's ``run_pretraining.py`` ``input_fn_builder``."""
    import tensorflow as tf

    L, P = shape.max_seq_length, shape.max_predictions_per_seq
    return {
        "input_ids": tf.io.FixedLenFeature([L], tf.int64),
        "input_mask": tf.io.FixedLenFeature([L], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([L], tf.int64),
        "token_boundary": tf.io.FixedLenFeature([L], tf.int64),
        "masked_lm_positions": tf.io.FixedLenFeature([P], tf.int64),
        "masked_lm_ids": tf.io.FixedLenFeature([P], tf.int64),
        "masked_lm_weights": tf.io.FixedLenFeature([P], tf.float32),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }
