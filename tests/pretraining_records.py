"""Test helpers: real pretraining records from the core (document_records) over a small
fake vocabulary, and a serialiser for arbitrary (also broken) feature dicts."""

from __future__ import annotations

import numpy as np

from albert_data.pretraining.document_records import (
    PretrainingConfig,
    VocabIds,
    document_hash,
    document_records,
)
from albert_data.pretraining.instances import InstanceConfig, TokenizedDocument
from albert_data.pretraining.masking import MaskingConfig
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
