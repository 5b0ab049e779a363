"""Small synthetic pretraining records in the real schema, for tests and benchmarks.

Each record is ``[CLS] A [SEP] B [SEP]`` padded to ``max_seq_length``, with tokens
drawn from ``first_regular_id .. vocab_size - 1``; static records carry up to
``max_predictions_per_seq`` masked positions (replaced by ``mask_id``), dynamic ones
carry none (weights all zero) as ``make-pretraining --masking dynamic`` writes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from albert_data.records import schema


def synthetic_record(
    rng: np.random.Generator,
    *,
    max_seq_length: int,
    max_predictions_per_seq: int,
    vocab_size: int,
    dynamic: bool = False,
    cls_id: int = 2,
    sep_id: int = 3,
    mask_id: int = 4,
    first_regular_id: int = 5,
) -> schema.Record:
    L, P = max_seq_length, max_predictions_per_seq
    n = int(rng.integers(max(5, L // 2), L + 1))
    split = int(rng.integers(2, n - 2))
    ids = np.zeros(L, np.int64)
    ids[:n] = rng.integers(first_regular_id, vocab_size, n)
    ids[0], ids[split], ids[n - 1] = cls_id, sep_id, sep_id
    segment = np.zeros(L, np.int64)
    segment[split + 1 : n] = 1
    mask = np.zeros(L, np.int64)
    mask[:n] = 1
    boundary = np.zeros(L, np.int64)
    boundary[:n] = 1
    positions = np.zeros(P, np.int64)
    labels = np.zeros(P, np.int64)
    weights = np.zeros(P, np.float32)
    if not dynamic:
        candidates = [i for i in range(1, n - 1) if i != split]
        k = min(P, max(1, round(0.15 * n)), len(candidates))
        chosen = np.sort(rng.choice(candidates, size=k, replace=False))
        positions[:k], labels[:k], weights[:k] = chosen, ids[chosen], 1.0
        ids[chosen] = mask_id
    return schema.Record(
        input_ids=ids,
        input_mask=mask,
        segment_ids=segment,
        token_boundary=boundary,
        masked_lm_positions=positions,
        masked_lm_ids=labels,
        masked_lm_weights=weights,
        next_sentence_labels=int(rng.integers(0, 2)),
    )


def write_synthetic_records(
    path: str | Path,
    count: int,
    *,
    max_seq_length: int,
    max_predictions_per_seq: int,
    vocab_size: int,
    seed: int = 0,
    dynamic: bool = False,
) -> Path:
    """Write ``count`` records to one TFRecord file and return its path."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for _ in range(count):
            record = synthetic_record(
                rng,
                max_seq_length=max_seq_length,
                max_predictions_per_seq=max_predictions_per_seq,
                vocab_size=vocab_size,
                dynamic=dynamic,
            )
            writer.write(schema.serialize(record))
    return path
