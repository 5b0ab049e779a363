"""From tokenised documents to serialised pretraining records: the pure core that the
Beam pipeline (``pipelines/pretraining.py``) wraps. :func:`record_chunks` makes the
records of a bundle of documents a bounded step at a time; :func:`bundle_records` and
:func:`document_records` collect them per document.

Determinism: every random choice for a document's duplicate ``d`` comes from a
``numpy.random.Generator`` (PCG64) whose state is a BLAKE2b hash of (seed, SHA-1 of the
document's text, d), so the same input and seed give the same records on any
runner, with any number of workers, in any order, bundled in any way. Each record also
gets a 64-bit sort key, a BLAKE2b hash of (SHA-1 of the text, d, the record's index;
not the seed); records are spread over shards and ordered inside a shard by that key,
which shuffles instances across the whole output without a global shuffle.

Memory: one step (:data:`CHUNK_TOKENS` tokens of instances) is built, masked and
serialised at a time and its records handed on before the next is made, so what a step
holds depends neither on the dupe factor nor on the length of a document; besides it,
only the documents being made and one duplicate's plan (a few integers per instance)
are held.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from albert_data.errors import UserError
from albert_data.pretraining.config_errors import require
from albert_data.pretraining.instances import (
    InstanceConfig,
    InstancePlan,
    TokenizedDocument,
    build_instances,
    cut_long_sentences,
    plan_instances,
)
from albert_data.pretraining.masking import BatchMasks, MaskingConfig, mask_batch
from albert_data.records.schema import RecordShape, serialize_batch

MASKING_MODES = ("static", "dynamic")
CHUNK_TOKENS = 131_072
"""Tokens of instances ([CLS] and [SEP]s included) one step of :func:`record_chunks`
builds, masks and serialises at once (at least one instance): large enough that numpy's
cost per call is paid for many instances, small enough (a few MB of arrays) that many
workers fit on a machine."""
ENCODE_SENTENCES = 8192
"""Sentences given to the tokenizer in one call by :func:`sentence_record_chunks`, so
that a huge document is never held as Python lists of ids."""


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
        predictions, length = self.masking.max_predictions_per_seq, self.instances.max_seq_length
        require(
            predictions <= length,
            "max_predictions_per_seq",
            predictions,
            f"is more than --max-seq-length {length}: a record cannot predict more tokens than it holds",
        )
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
    """Generators for (seed, document, duplicate), from a pool of reusable ``Generator``
    objects.

    Constructing a ``Generator`` costs ~10 µs (its ``SeedSequence``); setting a hashed
    state costs ~1 µs. A caller keeps one pool (e.g. per ``DoFn``): each call gives a
    generator no one else is using, set to the start of that stream (the same stream as
    :func:`document_rng`); :meth:`release` returns it to the pool when its stream is no
    longer needed. Not shared between threads.
    """

    def __init__(self) -> None:
        self._free: list[np.random.Generator] = []

    def __call__(self, seed: int, digest: bytes, dupe: int) -> np.random.Generator:
        generator = self._free.pop() if self._free else np.random.Generator(np.random.PCG64(0))
        generator.bit_generator.state = _pcg_state(seed, digest, dupe)
        return generator

    def release(self, generator: np.random.Generator) -> None:
        """Give back a generator this pool gave (its caller must not draw from it again)."""
        self._free.append(generator)


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
    """All records of one document over all duplicates, a step at a time.

    Sentences longer than ``max_seq_length - 3`` tokens are cut into pieces first
    (:func:`cut_long_sentences`). ``stats``, if given, receives ``skip(reason)``,
    ``truncated(n)`` and ``long_sentences(sentences, pieces)`` calls; ``rngs`` (a
    :class:`DocumentRngs` the caller keeps) avoids building a generator per duplicate.
    """
    for chunk in record_chunks([(doc, digest)], config=config, vocab=vocab, stats=stats, rngs=rngs):
        yield from chunk.records


def bundle_records(
    docs: Sequence[tuple[TokenizedDocument, bytes]],
    *,
    config: PretrainingConfig,
    vocab: VocabIds,
    stats=None,
    rngs: DocumentRngs | None = None,
) -> list[list[OutputRecord]]:
    """:func:`document_records` of several (document, content hash) pairs, one list per
    document (all of :func:`record_chunks`, collected)."""
    out: list[list[OutputRecord]] = [[] for _ in docs]
    for chunk in record_chunks(docs, config=config, vocab=vocab, stats=stats, rngs=rngs):
        records = iter(chunk.records)
        for document, count in chunk.documents:
            out[document].extend(itertools.islice(records, count))
    return out


@dataclass(frozen=True)
class RecordChunk:
    """The records one step made, in order, and whose they are: ``documents`` lists
    (document index, number of records) runs, in the order of ``records``."""

    records: list[OutputRecord]
    documents: list[tuple[int, int]]
    tokens: int  # tokens of the step's instances, [CLS] and [SEP]s included


@dataclass(frozen=True)
class _Duplicate:
    """One duplicate of one document, planned; ``rng`` is the generator that planned it
    (static masking continues its stream; ``None`` when nothing draws from it again)."""

    document: int
    digest: bytes
    dupe: int
    doc: TokenizedDocument
    plan: InstancePlan
    rng: np.random.Generator | None


def record_chunks(
    docs: Sequence[tuple[TokenizedDocument, bytes]],
    *,
    config: PretrainingConfig,
    vocab: VocabIds,
    stats=None,
    rngs: DocumentRngs | None = None,
    chunk_tokens: int = CHUNK_TOKENS,
) -> Iterator[RecordChunk]:
    """The records of several (document, content hash) pairs — each document's
    duplicates in order, each duplicate's instances in order — a step of at most
    ``chunk_tokens`` tokens of instances at a time (or one instance, if larger).

    Duplicates are planned one at a time, each from its own generator (see
    :class:`DocumentRngs`); a step's instances are then built, masked (static masking
    continues each duplicate's generator where planning left it) and serialised in a few
    vectorised passes, so numpy's fixed cost per call is paid per step instead of per
    instance. A duplicate may be split between steps. Neither the bundling of documents
    nor the steps change the bytes: every draw comes from its duplicate's own stream.
    """
    rngs = rngs or DocumentRngs()
    steps = _Steps(chunk_tokens)
    for dup in _duplicates(docs, config, stats, rngs):
        for parts, tokens in steps.add(dup):
            yield _make_chunk(parts, tokens, config, vocab, rngs)
    if steps.parts:
        yield _make_chunk(steps.parts, steps.tokens, config, vocab, rngs)


def _duplicates(docs, config: PretrainingConfig, stats, rngs: DocumentRngs) -> Iterator[_Duplicate]:
    """Each document's duplicates with instances, planned one at a time, in order."""
    static = config.masking_mode == "static"
    for i, (doc, digest) in enumerate(docs):
        cuts = cut_long_sentences(doc, config.instances.max_num_tokens)
        if stats is not None and cuts.sentences:
            stats.long_sentences_cut(cuts.sentences, cuts.pieces)
        for dupe in range(config.dupe_factor):
            rng = rngs(config.random_seed, digest, dupe)
            plan = plan_instances(cuts.doc, config=config.instances, rng=rng)
            if not (static and plan.pairs):
                rngs.release(rng)
                rng = None
            if plan.skipped is not None:
                if stats is not None:
                    stats.skip(plan.skipped)
                break
            if stats is not None and plan.truncated_tokens:
                stats.truncated(plan.truncated_tokens)
            if plan.pairs:
                yield _Duplicate(i, digest, dupe, cuts.doc, plan, rng)


class _Steps:
    """Duplicates' instances gathered into steps of at most ``limit`` tokens (or one
    instance): ``parts`` lists the (duplicate, first, stop instance) of the step being
    filled, ``tokens`` its size."""

    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[tuple[_Duplicate, int, int]] = []
        self.tokens = 0

    def add(self, dup: _Duplicate) -> Iterator[tuple[list, int]]:
        """Add ``dup``'s instances; yield (parts, tokens) of each step they fill."""
        sizes = dup.plan.sizes()
        total = sum(sizes)
        if self.tokens + total <= self.limit:  # the whole duplicate fits
            self.parts.append((dup, 0, len(sizes)))
            self.tokens += total
            return
        first = 0
        while first < len(sizes):
            stop = first
            while stop < len(sizes) and (
                self.tokens == 0 or self.tokens + sizes[stop] <= self.limit
            ):
                self.tokens += sizes[stop]
                stop += 1
            if stop > first:
                self.parts.append((dup, first, stop))
            if stop < len(sizes):  # the step is full
                yield self.parts, self.tokens
                self.parts, self.tokens = [], 0
            first = stop


def sentence_record_chunks(
    pending: Sequence[tuple[Sequence[str], bytes]],
    *,
    tokenizer,
    config: PretrainingConfig,
    vocab: VocabIds,
    stats=None,
    rngs: DocumentRngs | None = None,
    chunk_tokens: int = CHUNK_TOKENS,
) -> Iterator[RecordChunk]:
    """:func:`record_chunks` of documents given as (sentences, content hash): their
    sentences are tokenised first, :data:`ENCODE_SENTENCES` to a tokenizer call.
    ``stats``, if given, also counts the input tokens and the one-sentence documents."""
    sentences = [s for doc_sentences, _ in pending for s in doc_sentences]
    encoded = [
        tokenizer.encode_flat(sentences[first : first + ENCODE_SENTENCES])
        for first in range(0, max(1, len(sentences)), ENCODE_SENTENCES)
    ]
    del sentences
    if len(encoded) == 1:
        flat = encoded[0]
        ids, word_starts, lengths = flat.ids, flat.word_starts, flat.lengths
    else:  # each text's encoding is independent of the others in the call
        ids = np.concatenate([np.asarray(e.ids, dtype=np.int32) for e in encoded])
        word_starts = np.concatenate([np.asarray(e.word_starts, dtype=bool) for e in encoded])
        lengths = np.concatenate([np.asarray(e.lengths, dtype=np.int64) for e in encoded])
    del encoded
    counts = [len(doc_sentences) for doc_sentences, _ in pending]
    digests = [digest for _, digest in pending]
    del pending  # the sentences are no longer needed (if the caller let go of them too)
    docs = TokenizedDocument.split_flat(ids, word_starts, lengths, counts)
    if stats is not None:
        for doc in docs:
            stats.input_tokens += doc.num_tokens
            if doc.num_sentences == 1 and doc.num_tokens > 1:
                stats.one_sentence_documents += 1
    yield from record_chunks(
        list(zip(docs, digests)),
        config=config,
        vocab=vocab,
        stats=stats,
        rngs=rngs,
        chunk_tokens=chunk_tokens,
    )


def sentence_records(
    pending: Sequence[tuple[Sequence[str], bytes]],
    *,
    tokenizer,
    config: PretrainingConfig,
    vocab: VocabIds,
    stats=None,
    rngs: DocumentRngs | None = None,
) -> list[OutputRecord]:
    """All records of :func:`sentence_record_chunks`, in order."""
    chunks = sentence_record_chunks(
        pending, tokenizer=tokenizer, config=config, vocab=vocab, stats=stats, rngs=rngs
    )
    return [rec for chunk in chunks for rec in chunk.records]


def _make_chunk(parts, tokens, config, vocab, rngs) -> RecordChunk:
    """Build, mask and serialise the instances ``parts`` list; release the generators of
    the duplicates whose last instance this step made."""
    batch = build_instances(
        [
            (
                dup.doc,
                dup.plan if stop - first == len(dup.plan.pairs) else dup.plan.part(first, stop),
            )
            for dup, first, stop in parts
        ],
        vocab.cls,
        vocab.sep,
    )
    masks = _mask_parts(batch, parts, config, vocab, rngs)
    datas = serialize_batch(
        input_ids=masks.input_ids,
        segment_ids=batch.segment_ids,
        token_boundary=batch.token_boundary,
        offsets=batch.offsets,
        masked_lm_positions=masks.positions,
        masked_lm_ids=masks.labels,
        position_offsets=masks.position_offsets,
        next_sentence_labels=batch.swapped,
        shape=config.shape,
    )
    lengths = np.diff(batch.offsets).tolist()
    masked = np.diff(masks.position_offsets).tolist()
    ngrams = masks.ngram_lengths
    records, documents = [], []
    j = 0
    for dup, first, stop in parts:
        digest, dupe = dup.digest, dup.dupe
        for index in range(first, stop):
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
        if documents and documents[-1][0] == dup.document:
            documents[-1] = (dup.document, documents[-1][1] + stop - first)
        else:
            documents.append((dup.document, stop - first))
    return RecordChunk(records, documents, tokens)


def _mask_parts(batch, parts, config, vocab, rngs) -> BatchMasks:
    """Static masking of a step's instances, each duplicate's drawing from its own
    generator (released once its last instance is masked); dynamic: no masks."""
    if config.masking_mode != "static":
        empty = np.zeros(0, dtype=np.int32)
        no_masks = np.zeros(len(batch) + 1, dtype=np.int64)
        return BatchMasks(batch.ids, empty, empty, no_masks, [()] * len(batch))
    streams, start = [], 0
    for dup, first, stop in parts:
        streams.append((start, dup.rng))
        start += stop - first
    masks = mask_batch(
        batch,
        config=config.masking,
        mask_id=vocab.mask,
        regular_ids=vocab.regular,
        streams=streams,
    )
    for dup, _, stop in parts:
        if stop == len(dup.plan.pairs):
            rngs.release(dup.rng)
    return masks
