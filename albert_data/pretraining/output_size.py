"""How many bytes of records a ``make-pretraining`` run will write, estimated before it
starts (the job asks in the launcher): the records of the first documents of its inputs
(those starting in the first :data:`SAMPLE_BYTES`, one duplicate) are made with the
run's own tokenizer and settings, and their size is scaled by the input size and the
dupe factor.

The estimate decides the number of output shards when ``--num-shards`` is not given,
and checks the engine shuffle's per-shard memory bound when it is. It depends only on the
inputs and the settings, never on the runner or the number of workers, so the shards a
seed produces are the same whichever way the run is executed. Records are nearly fixed
in size (the padding to ``max_seq_length`` dominates), so what the sample has to measure
is mostly instances per input byte: short documents give one instance per duplicate
each, long ones one per ``max_seq_length`` tokens.
"""

from __future__ import annotations

import bz2
import zlib
from dataclasses import dataclass, replace

from albert_data.errors import UserError
from albert_data.files.docranges import ByteRange
from albert_data.files.fileio import compression_of, open_raw
from albert_data.files.tfrecord import FRAME_OVERHEAD
from albert_data.pretraining.document_records import (
    PretrainingConfig,
    VocabIds,
    document_hash,
    sentence_records,
)
from albert_data.text.documents import (
    SplitConfig,
    pretraining_read_config,
    pretraining_sentences,
)
from albert_data.text.rawtext import ReadConfig, ReadCounts, read_range_documents

SAMPLE_BYTES = 256 * 1024
# A compressed input the sample does not read to its end is sized by the ratio of its
# head: this many compressed bytes are decompressed (bzip2 needs whole 900 kB blocks)...
EXPANSION_PROBE_BYTES = {"gzip": 256 * 1024, "bz2": 1024 * 1024}
# ...or, if that gives nothing, by this many uncompressed bytes per compressed byte.
DEFAULT_EXPANSION = 3.0


@dataclass(frozen=True)
class OutputEstimate:
    """The sample and what it predicts for the whole run."""

    sampled_bytes: int  # uncompressed input bytes of the sampled documents
    sampled_record_bytes: int  # TFRecord bytes they made, for one duplicate
    input_bytes: float  # uncompressed input bytes of the run (estimated for compressed files)
    dupe_factor: int

    @property
    def total_bytes(self) -> float:
        if self.sampled_bytes == 0:
            return 0.0
        per_byte = self.sampled_record_bytes / self.sampled_bytes
        return self.input_bytes * per_byte * self.dupe_factor

    def describe(self) -> dict:
        return {
            "sampled_input_bytes": self.sampled_bytes,
            "sampled_record_bytes": self.sampled_record_bytes,
            "estimated_output_bytes": round(self.total_bytes),
        }


@dataclass
class _FileSample:
    documents: list  # (sentences, content hash)
    uncompressed: int  # bytes of the file the documents cover
    whole: bool  # the sample read the file to its end
    estimated_total: float | None = None  # the text bytes of the whole file (Parquet)


def estimate_output(
    files: list[str],
    sizes: dict[str, int],
    *,
    fmt: str,
    text_field: str,
    tokenizer,
    document_separator: str = "file",
    config: PretrainingConfig,
    vocab: VocabIds,
    sample_bytes: int = SAMPLE_BYTES,
) -> OutputEstimate:
    """Estimate the run's output from the documents of the head of ``files``.

    Reading errors (binary or undecodable input, with ``--strict``) end the sample
    quietly: the run itself reports them, naming the file and position.
    """
    read = pretraining_read_config(fmt, text_field, document_separator=document_separator)
    split = SplitConfig()
    documents: list = []
    sampled = 0
    input_bytes = 0.0
    pending = []  # files not read to their end
    for path in files:
        if sampled >= sample_bytes:
            pending.append(path)
            continue
        try:
            part = _sample_file(path, read, split, fmt, sample_bytes - sampled)
        except (UserError, OSError):
            pending.append(path)
            continue
        documents.extend(part.documents)
        sampled += part.uncompressed
        if part.whole:
            input_bytes += part.uncompressed
        elif part.estimated_total is not None:
            input_bytes += part.estimated_total
        else:
            pending.append(path)
    for path in pending:
        kind = compression_of(path)
        input_bytes += sizes.get(path, 0) * (_expansion(path, kind) if kind else 1)
    one = replace(config, dupe_factor=1)
    records = sentence_records(documents, tokenizer=tokenizer, config=one, vocab=vocab)
    record_bytes = sum(len(r.data) + FRAME_OVERHEAD for r in records)
    return OutputEstimate(sampled, record_bytes, input_bytes, config.dupe_factor)


def _sample_file(path: str, read: ReadConfig, split: SplitConfig, fmt: str, limit: int):
    """The documents of ``path`` that start in its first ``limit`` uncompressed bytes;
    the one that runs past ``limit`` is cut there (at a sentence end), so that a huge
    document (a file with no blank lines) is not tokenised whole by the launcher."""
    if read.format == "parquet":
        return _sample_parquet(path, read, split, limit)
    counts = ReadCounts()
    documents = []
    docs = read_range_documents(ByteRange(path, 0, -1), read, counts)
    try:
        for raw in docs:
            if raw.offset >= limit:
                return _FileSample(documents, raw.offset, False)
            sentences = pretraining_sentences(raw, fmt, split)
            kept, size = _head_sentences(sentences, limit - raw.offset)
            documents.append((kept, document_hash("\n".join(kept))))
            if len(kept) < len(sentences):
                return _FileSample(documents, raw.offset + size, False)
    finally:
        docs.close()
    return _FileSample(documents, counts.bytes, True)


def _sample_parquet(path: str, read: ReadConfig, split: SplitConfig, limit: int):
    """The first rows of a Parquet file up to ``limit`` bytes of UTF-8 text; a file not
    read to its end is sized by its share of rows read (text bytes, not the compressed
    file's)."""
    from albert_data.files.parquet import parquet_file

    with parquet_file(path) as pf:
        total_rows = pf.metadata.num_rows
    counts = ReadCounts()
    documents, text_bytes, rows = [], 0, 0
    docs = read_range_documents(ByteRange(path, 0, -1), read, counts)
    try:
        for raw in docs:
            rows = raw.offset + 1
            sentences = pretraining_sentences(raw, "parquet", split)
            documents.append((sentences, document_hash("\n".join(sentences))))
            text_bytes += sum(len(p.encode("utf-8")) + 1 for p in raw.paragraphs)
            if text_bytes >= limit:
                estimate = text_bytes * total_rows / max(rows, 1)
                return _FileSample(documents, text_bytes, False, estimate)
    finally:
        docs.close()
    return _FileSample(documents, text_bytes, True)


def _head_sentences(sentences: list[str], budget: int) -> tuple[list[str], int]:
    """The leading sentences within ``budget`` UTF-8 bytes (one line each; at least
    one), and their bytes."""
    size = 0
    for i, sentence in enumerate(sentences):
        grown = size + len(sentence.encode("utf-8")) + 1
        if grown > budget and i > 0:
            return sentences[:i], size
        size = grown
    return sentences, size


def _expansion(path: str, kind: str) -> float:
    """Uncompressed bytes per compressed byte of the head of ``path``."""
    with open_raw(path) as fh:
        head = fh.read(EXPANSION_PROBE_BYTES[kind])
    try:
        unpack = zlib.decompressobj(wbits=31) if kind == "gzip" else bz2.BZ2Decompressor()
        out = len(unpack.decompress(head))
    except (OSError, zlib.error, EOFError):
        return DEFAULT_EXPANSION  # the run reports a corrupt file, naming it
    used = len(head) - len(getattr(unpack, "unused_data", b""))
    return out / used if out and used else DEFAULT_EXPANSION
