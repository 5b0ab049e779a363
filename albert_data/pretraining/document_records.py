"""From tokenised documents to serialised pretraining records: the pure core that the
Beam pipeline (``pipelines/pretraining.py``) wraps. :func:`bundle_records` makes a
bundle of documents at once; :func:`document_records` is the same for one document.

Determinism: every random choice for a document's duplicate ``d`` comes from a
``numpy.random.Generator`` (PCG64) whose state is a BLAKE2b hash of (seed, SHA-1 of the
document's text, d), so the same input and seed give the same records on any
runner, with any number of workers, in any order, bundled in any way. Each record also
gets a 64-bit sort key, a BLAKE2b hash of (SHA-1 of the text, d, the record's index;
not the seed); records are spread over shards and ordered inside a shard by that key,
which shuffles instances across the whole output without a global shuffle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from albert_data.errors import UserError
from albert_data.pretraining.config_errors import require
from albert_data.pretraining.instances import (
    InstanceConfig,
    TokenizedDocument,
    build_instances,
    cut_long_sentences,
    plan_instances,
)
from albert_data.pretraining.masking import MaskingConfig, mask_batch
from albert_data.records.schema import RecordShape, serialize_batch

MASKING_MODES = ("static", "dynamic")


@dataclass(frozen=True)
class PretrainingConfig:
    """Everything that decides the content of the records (besides the vocabulary)."""

    instances: InstanceConfig = field(default_factory=InstanceConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    dupe_factor: int = 40
    random_seed: int = 12345
    masking_mode: str = "static"

    def __post_init__(self) -> None:
        require(self.dupe_factor >= 1, "dupe_factor", self.dupe_factor, "must be >= 1")
        require(
            self.masking_mode in MASKING_MODES,
            "masking",
            self.masking_mode,
            f"is not one of {', '.join(MASKING_MODES)}",
        )

    @property
    def shape(self) -> RecordShape:
        return RecordShape(self.instances.max_seq_length, self.masking.max_predictions_per_seq)


@dataclass(frozen=True)
class VocabIds:
    """The ids the pipeline needs from the vocabulary (picklable, tiny)."""

    cls: int
    sep: int
    mask: int
    regular: np.ndarray  # ids allowed as random replacements

    @staticmethod
    def of(tokenizer) -> VocabIds:
        """The ids of a :class:`vocab.base.Tokenizer`: its special symbols, and its
        ``regular_ids()`` as the random replacements (what both static masking here and
        the trainer's dynamic masking draw from)."""
        regular = np.asarray(tokenizer.regular_ids(), dtype=np.int32)
        if regular.size == 0:
            raise UserError("the vocabulary has no regular pieces to use as random replacements")
        sp = tokenizer.special
        return VocabIds(cls=sp.cls, sep=sp.sep, mask=sp.mask, regular=regular)


@dataclass(frozen=True)
class OutputRecord:
    key: int  # 64-bit sort key
    data: bytes  # serialised tf.train.Example
    num_tokens: int
    num_masked: int
    swapped: bool
    ngram_lengths: tuple[int, ...]


def document_hash(text: str) -> bytes:
    """A stable content hash of a document (independent of process and platform)."""
    return hashlib.sha1(text.encode("utf-8")).digest()


def _pcg_state(seed: int, digest: bytes, dupe: int) -> dict:
    """A PCG64 state (128-bit state, odd 128-bit increment) hashed from the run's seed,
    the document's content hash and the duplicate index."""
    material = (seed & (2**64 - 1)).to_bytes(8, "little") + digest + dupe.to_bytes(4, "little")
    words = hashlib.blake2b(material, digest_size=32).digest()
    return {
        "bit_generator": "PCG64",
        "state": {
            "state": int.from_bytes(words[:16], "little"),
            "inc": int.from_bytes(words[16:], "little") | 1,
        },
        "has_uint32": 0,
        "uinteger": 0,
    }


class DocumentRngs:
    """Generators for (seed, document, duplicate), reusing one ``PCG64`` object.

    Constructing a ``Generator`` costs ~10 µs (its ``SeedSequence``); setting a hashed
    state costs ~1 µs. A caller keeps one instance (e.g. per ``DoFn``) and gets, for the
    same arguments, the same stream as :func:`document_rng`. Not shared between threads.
    """

    def __init__(self) -> None:
        self._bits = np.random.PCG64(0)
        self._generator = np.random.Generator(self._bits)

    def __call__(self, seed: int, digest: bytes, dupe: int) -> np.random.Generator:
        self._bits.state = _pcg_state(seed, digest, dupe)
        return self._generator

    @property
    def generator(self) -> np.random.Generator:
        return self._generator

    def state(self) -> dict:
        """The generator's current state (to resume its stream later, see
        :func:`albert_data.pretraining.masking.mask_batch`'s ``streams``)."""
        return self._bits.state


def document_rng(seed: int, digest: bytes, dupe: int) -> np.random.Generator:
    """A fresh generator for one duplicate of one document (see :class:`DocumentRngs`)."""
    bits = np.random.PCG64(0)
    bits.state = _pcg_state(seed, digest, dupe)
    return np.random.Generator(bits)


def sort_key(digest: bytes, dupe: int, index: int) -> int:
    material = digest + dupe.to_bytes(4, "little") + index.to_bytes(4, "little")
    return int.from_bytes(hashlib.blake2b(material, digest_size=8).digest(), "little")


def document_records(
    doc: TokenizedDocument,
    digest: bytes,
    *,
    config: PretrainingConfig,
    vocab: VocabIds,
    stats=None,
    rngs: DocumentRngs | None = None,
) -> Iterator[OutputRecord]:
    """All records of one document over all duplicates.

    Sentences longer than ``max_seq_length - 3`` tokens are cut into pieces first
    (:func:`cut_long_sentences`). ``stats``, if given, receives ``skip(reason)``,
    ``truncated(n)`` and ``long_sentences(sentences, pieces)`` calls; ``rngs`` (a
    :class:`DocumentRngs` the caller keeps) avoids building a generator per duplicate.
    """
    yield from bundle_records([(doc, digest)], config=config, vocab=vocab, stats=stats, rngs=rngs)[
        0
    ]


def bundle_records(
    docs: Sequence[tuple[TokenizedDocument, bytes]],
    *,
    config: PretrainingConfig,
    vocab: VocabIds,
    stats=None,
    rngs: DocumentRngs | None = None,
) -> list[list[OutputRecord]]:
    """:func:`document_records` of several (document, content hash) pairs, one list per
    document, with the same records: each document and duplicate still draws from its
    own generator, so the bytes do not depend on how documents are bundled.

    Bundling is for speed: the instances of all documents are built, masked and
    serialised in a few vectorised passes, so numpy's fixed cost per call is paid per
    bundle instead of per instance (short documents give one instance per duplicate).
    """
    rngs = rngs or DocumentRngs()
    static = config.masking_mode == "static"
    planned = []  # (document index, dupe, document, plan, generator state after planning)
    for i, (doc, digest) in enumerate(docs):
        cuts = cut_long_sentences(doc, config.instances.max_num_tokens)
        if stats is not None and cuts.sentences:
            stats.long_sentences_cut(cuts.sentences, cuts.pieces)
        for dupe in range(config.dupe_factor):
            plan = plan_instances(
                cuts.doc, config=config.instances, rng=rngs(config.random_seed, digest, dupe)
            )
            if plan.skipped is not None:
                if stats is not None:
                    stats.skip(plan.skipped)
                break
            if stats is not None and plan.truncated_tokens:
                stats.truncated(plan.truncated_tokens)
            if plan.pairs:
                planned.append((i, dupe, cuts.doc, plan, rngs.state() if static else None))
    out: list[list[OutputRecord]] = [[] for _ in docs]
    if planned:
        _bundle(planned, docs, out, config, vocab, rngs)
    return out


def sentence_records(
    pending: Sequence[tuple[Sequence[str], bytes]],
    *,
    tokenizer,
    config: PretrainingConfig,
    vocab: VocabIds,
    stats=None,
    rngs: DocumentRngs | None = None,
) -> list[OutputRecord]:
    """The records of documents given as (sentences, content hash), in order: one
    tokenizer call for all their sentences, then :func:`bundle_records`. ``stats``, if
    given, also counts the input tokens and the one-sentence documents."""
    flat = tokenizer.encode_flat([s for sentences, _ in pending for s in sentences])
    docs = TokenizedDocument.split_flat(
        flat.ids, flat.word_starts, flat.lengths, [len(sentences) for sentences, _ in pending]
    )
    if stats is not None:
        for doc in docs:
            stats.input_tokens += doc.num_tokens
            if doc.num_sentences == 1 and doc.num_tokens > 1:
                stats.one_sentence_documents += 1
    made = bundle_records(
        [(doc, digest) for doc, (_, digest) in zip(docs, pending)],
        config=config,
        vocab=vocab,
        stats=stats,
        rngs=rngs,
    )
    return [rec for recs in made for rec in recs]


def _bundle(planned, docs, out, config, vocab, rngs) -> None:
    """Build, mask and serialise the planned instances; append the records to ``out``."""
    batch = build_instances([(doc, plan) for _, _, doc, plan, _ in planned], vocab.cls, vocab.sep)
    if config.masking_mode == "static":
        streams, first = [], 0
        for *_, plan, state in planned:
            streams.append((first, state))
            first += len(plan.pairs)
        masks = mask_batch(
            batch.ids,
            batch.token_boundary,
            batch.special,
            batch.offsets,
            config=config.masking,
            mask_id=vocab.mask,
            regular_ids=vocab.regular,
            rng=rngs.generator,
            streams=streams,
        )
        input_ids, positions, labels = masks.input_ids, masks.positions, masks.labels
        position_offsets, ngrams = masks.position_offsets, masks.ngram_lengths
    else:
        input_ids, positions, labels = batch.ids, _EMPTY, _EMPTY
        position_offsets = np.zeros(len(batch) + 1, dtype=np.int64)
        ngrams = [()] * len(batch)
    datas = serialize_batch(
        input_ids=input_ids,
        segment_ids=batch.segment_ids,
        token_boundary=batch.token_boundary,
        offsets=batch.offsets,
        masked_lm_positions=positions,
        masked_lm_ids=labels,
        position_offsets=position_offsets,
        next_sentence_labels=batch.swapped,
        shape=config.shape,
    )
    lengths = np.diff(batch.offsets).tolist()
    masked = np.diff(position_offsets).tolist()
    j = 0
    for i, dupe, _, plan, _ in planned:
        digest, records = docs[i][1], out[i]
        for index in range(len(plan.pairs)):
            records.append(
                OutputRecord(
                    key=sort_key(digest, dupe, index),
                    data=datas[j],
                    num_tokens=lengths[j],
                    num_masked=masked[j],
                    swapped=batch.swapped[j],
                    ngram_lengths=ngrams[j],
                )
            )
            j += 1


_EMPTY = np.zeros(0, dtype=np.int32)
