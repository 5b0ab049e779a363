"""Test helpers: real pretraining records from the core (document_records) over a small
fake vocabulary, a serialiser for arbitrary (also broken) feature dicts, and the
one-instance-at-a-time record encoders the bundle path is checked against."""

from __future__ import annotations

import numpy as np

from albert_data.pretraining.document_records import (
    PretrainingConfig,
    VocabIds,
    document_hash,
    document_records,
)
from albert_data.pretraining.instances import Instance, InstanceConfig, TokenizedDocument
from albert_data.pretraining.masking import MaskingConfig, MaskResult
from albert_data.records import schema

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
VOCAB_SIZE = 300
PIECES = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(5, VOCAB_SIZE)]
VOCAB = VocabIds(cls=CLS, sep=SEP, mask=MASK, regular=np.arange(5, VOCAB_SIZE, dtype=np.int32))
L, P = 48, 8
SHAPE = schema.RecordShape(L, P)
IDS = dict(vocab_size=VOCAB_SIZE, cls_id=CLS, sep_id=SEP, mask_id=MASK, pad_id=PAD)


def write_vocab(path) -> str:
    """A BERT-style vocab.txt holding :data:`PIECES`, one per line."""
    path.write_text("\n".join(PIECES) + "\n", encoding="utf-8")
    return str(path)


def config(masking: str = "static", dupe_factor: int = 1, seed: int = 12345) -> PretrainingConfig:
    return PretrainingConfig(
        instances=InstanceConfig(max_seq_length=L, short_seq_prob=0.2),
        masking=MaskingConfig(max_predictions_per_seq=P),
        dupe_factor=dupe_factor,
        random_seed=seed,
        masking_mode=masking,
    )


def documents(count: int, seed: int = 0):
    """(document, digest) pairs of random sentences with random word starts."""
    rng = np.random.default_rng(seed)
    for d in range(count):
        sentences = [
            rng.integers(5, VOCAB_SIZE, int(rng.integers(1, 25))).astype(np.int32)
            for _ in range(int(rng.integers(1, 9)))
        ]
        starts = [rng.random(s.size) < 0.7 for s in sentences]
        yield TokenizedDocument.from_sentences(sentences, starts), document_hash(f"{seed}/{d}")


def make_records(
    count_docs: int = 20, *, seed: int = 0, masking: str = "static", dupe_factor: int = 1
):
    """Serialised records written by the core pipeline functions."""
    cfg = config(masking, dupe_factor)
    return [
        r.data
        for doc, digest in documents(count_docs, seed)
        for r in document_records(doc, digest, config=cfg, vocab=VOCAB)
    ]


def encode(features: dict[str, np.ndarray]) -> bytes:
    """Serialise any feature dict as a tf.train.Example (float arrays as float_list)."""
    entries = []
    for name, values in features.items():
        values = np.asarray(values)
        if values.dtype.kind == "f":
            feature = schema._float_feature(values)
        else:
            feature = schema._int64_feature(values)
        entry = schema._length_delimited(0x0A, name.encode()) + schema._length_delimited(
            0x12, feature
        )
        entries.append(schema._length_delimited(0x0A, entry))
    return schema._length_delimited(0x0A, b"".join(entries))


def encode_instance(
    instance: Instance, masked: MaskResult | None, shape: schema.RecordShape
) -> bytes:
    """The serialised record of one instance (and its masks), one instance at a time:
    the reference the bundle path (``bundle_records``) is checked against, and itself
    checked against ``schema.serialize(build_record(...))``, the padded record."""
    empty = np.zeros(0, dtype=np.int32)
    return schema.serialize_unpadded(
        input_ids=instance.ids if masked is None else masked.input_ids,
        segment_ids=instance.segment_ids,
        token_boundary=instance.token_boundary,
        masked_lm_positions=empty if masked is None else masked.positions,
        masked_lm_ids=empty if masked is None else masked.labels,
        next_sentence_label=int(instance.swapped),
        shape=shape,
    )


def build_record(
    instance: Instance, masked: MaskResult | None, shape: schema.RecordShape
) -> schema.Record:
    """Pad an instance (and its masks, if any) to the fixed record shape (reference)."""
    L, P = shape.max_seq_length, shape.max_predictions_per_seq
    n = instance.ids.size
    if n > L:
        raise ValueError(f"instance of {n} tokens exceeds max_seq_length {L}")
    input_ids = np.zeros(L, dtype=np.int64)
    input_ids[:n] = instance.ids if masked is None else masked.input_ids
    input_mask = np.zeros(L, dtype=np.int64)
    input_mask[:n] = 1
    segment_ids = np.zeros(L, dtype=np.int64)
    segment_ids[:n] = instance.segment_ids
    token_boundary = np.zeros(L, dtype=np.int64)
    token_boundary[:n] = instance.token_boundary
    positions = np.zeros(P, dtype=np.int64)
    label_ids = np.zeros(P, dtype=np.int64)
    weights = np.zeros(P, dtype=np.float32)
    if masked is not None:
        m = masked.positions.size
        positions[:m] = masked.positions
        label_ids[:m] = masked.labels
        weights[:m] = 1.0
    return schema.Record(
        input_ids=input_ids,
        input_mask=input_mask,
        segment_ids=segment_ids,
        token_boundary=token_boundary,
        masked_lm_positions=positions,
        masked_lm_ids=label_ids,
        masked_lm_weights=weights,
        next_sentence_labels=int(instance.swapped),
    )
