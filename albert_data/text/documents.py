"""The ``split-sentences`` core: one raw document → cleaned sentence-per-line document,
and the whole split of a list of files in one process (:func:`split_files`).

Shared by the local runner (``albert_data/jobs/split_sentences.py``) and the Beam pipeline
(``pipelines/split_sentences.py``), so both paths produce the same documents, shards and
bytes.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from albert_data.files.fileio import shard_name
from albert_data.pretraining.config_errors import require
from albert_data.text.normalize import Normalization
from albert_data.text.rawtext import RawDocument, ReadConfig, ReadCounts, read_documents
from albert_data.text.sentences import split_sentences


@dataclass(frozen=True)
class SplitConfig:
    """Everything that decides the documents ``split-sentences`` writes."""

    read: ReadConfig = field(default_factory=ReadConfig)
    nfkc: bool = True
    max_sentence_chars: int = 2000
    min_sentences: int = 1
    min_chars: int = 0
    dedup: bool = True

    def __post_init__(self) -> None:
        require(
            self.max_sentence_chars >= 16,
            "max_sentence_chars",
            self.max_sentence_chars,
            "must be >= 16",
        )
        require(self.min_sentences >= 1, "min_sentences", self.min_sentences, "must be >= 1")

    @property
    def normalization(self) -> Normalization:
        # Cleaning only: case and accents are the vocabulary's business.
        return Normalization(nfkc=self.nfkc, lower_case=False)


@dataclass(frozen=True)
class CleanDocument:
    """A document ready to write, or the reason it was dropped."""

    sentences: tuple[str, ...]
    dropped: str | None = None  # "empty" or "short"

    # Cached: the writers ask for the digest (dedup, shard) and the text more than once.
    @functools.cached_property
    def text(self) -> str:
        """Sentence-per-line text (ends with a newline; documents are joined by a blank line)."""
        return "\n".join(self.sentences) + "\n"

    @functools.cached_property
    def digest(self) -> bytes:
        return hashlib.sha1(self.text.encode("utf-8")).digest()


# make-pretraining's --input-format: sentence-per-line documents, or any raw layout.
PRETRAINING_FORMATS = ("sentences", "blank-line", "line", "jsonl", "wrapped", "parquet")


def pretraining_read_config(
    fmt: str, text_field: str, strict: bool = False, document_separator: str = "file"
) -> ReadConfig:
    """How ``make-pretraining`` reads its ``--input-format`` (``sentences``: a sentence
    per line, a blank line between documents; the others as ``split-sentences`` reads
    them)."""
    return ReadConfig(
        format="blank-line" if fmt == "sentences" else fmt,
        text_field=text_field,
        strict=strict,
        document_separator=document_separator,
    )


def pretraining_sentences(raw: RawDocument, fmt: str, config: SplitConfig) -> list[str]:
    """A document's sentences as ``make-pretraining`` takes them: its lines as they are
    for ``sentences``, cleaned and split (:func:`clean_document`) for the raw layouts."""
    if fmt == "sentences":
        return list(raw.paragraphs)
    return list(clean_document(raw, config).sentences)


def clean_document(raw: RawDocument, config: SplitConfig) -> CleanDocument:
    normalize = config.normalization
    sentences: list[str] = []
    for paragraph in raw.paragraphs:
        text = normalize(paragraph)
        if text:
            sentences.extend(split_sentences(text, max_chars=config.max_sentence_chars))
    if not sentences:
        return CleanDocument((), dropped="empty")
    if len(sentences) < config.min_sentences or sum(map(len, sentences)) < config.min_chars:
        return CleanDocument(tuple(sentences), dropped="short")
    return CleanDocument(tuple(sentences))


def shard_of(digest: bytes, num_shards: int) -> int:
    return int.from_bytes(digest[:8], "little") % num_shards


def output_paths(output: str, *, num_shards: int, gzip: bool) -> list[str]:
    """Final output names: ``output`` itself for one shard, else ``name-0000i-of-0000n.ext``."""
    base = output if not gzip or output.endswith(".gz") else output + ".gz"
    if num_shards == 1:
        return [base]
    return [shard_name(base, i, num_shards) for i in range(num_shards)]


@dataclass
class SplitSummary:
    """Counts printed at the end of ``split-sentences``."""

    files: int = 0
    bytes: int = 0
    documents_in: int = 0
    documents_out: int = 0
    sentences: int = 0
    dropped_empty: int = 0
    dropped_short: int = 0
    duplicates: int = 0
    replaced_bytes: int = 0
    malformed_lines: int = 0
    outputs: list[str] = field(default_factory=list)
    read: ReadCounts = field(default_factory=ReadCounts)
    input_format: str = "blank-line"

    def lines(self) -> list[str]:
        return [
            f"files read          {self.files} ({self.bytes:,} bytes)",
            f"documents in        {self.documents_in:,}",
            f"documents out       {self.documents_out:,}",
            f"sentences out       {self.sentences:,}",
            f"dropped empty       {self.dropped_empty:,}",
            f"dropped too short   {self.dropped_short:,}",
            f"duplicates removed  {self.duplicates:,}",
            f"undecodable bytes   {self.replaced_bytes:,} (replaced by U+FFFD)",
            f"malformed lines     {self.malformed_lines:,}",
            *read_lines(self.read),
            *(f"note: {hint}" for hint in self.read.hints(self.input_format)),
        ]


# Between two documents of a shard: a blank line (each text ends with its last newline).
DOCUMENT_SEPARATOR = b"\n"


def write_documents(out: BinaryIO, texts: Iterable[bytes]) -> None:
    """A shard's bytes: its documents in order, :data:`DOCUMENT_SEPARATOR` between two."""
    for i, text in enumerate(texts):
        out.write(DOCUMENT_SEPARATOR + text if i else text)


def split_files(
    files: Sequence[str],
    config: SplitConfig,
    shards: Sequence[BinaryIO],
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> SplitSummary:
    """Split ``files`` in this process into ``shards`` (open binary streams): documents in
    input order, cleaned, the first of identical ones kept (with ``config.dedup``), each
    written to the shard its content hash picks (:func:`shard_of`). ``on_bytes`` is told
    the input bytes read. The Beam pipeline writes the same bytes."""
    summary = SplitSummary()
    seen: set[bytes] = set()
    counts = ReadCounts()

    def documents() -> Iterable[tuple[int, bytes]]:
        for path in files:
            for raw in read_documents(path, config.read, counts, on_bytes=on_bytes):
                summary.documents_in += 1
                doc = clean_document(raw, config)
                if doc.dropped is not None:
                    name = f"dropped_{doc.dropped}"
                    setattr(summary, name, getattr(summary, name) + 1)
                    continue
                if config.dedup:
                    if doc.digest in seen:
                        summary.duplicates += 1
                        continue
                    seen.add(doc.digest)
                summary.documents_out += 1
                summary.sentences += len(doc.sentences)
                yield shard_of(doc.digest, len(shards)), doc.text.encode("utf-8")

    started = [False] * len(shards)
    for shard, text in documents():
        shards[shard].write(DOCUMENT_SEPARATOR + text if started[shard] else text)
        started[shard] = True
    for name in ("files", "bytes", "replaced_bytes", "malformed_lines"):
        setattr(summary, name, getattr(counts, name))
    summary.read, summary.input_format = counts, config.read.format
    return summary


def read_lines(counts: ReadCounts) -> list[str]:
    """Summary lines for what only some layouts meet (null Parquet rows, rulers)."""
    lines = []
    if counts.null_rows:
        lines.append(f"null rows skipped   {counts.null_rows:,} (Parquet rows without text)")
    if counts.ruler_lines:
        lines.append(f"ruler lines         {counts.ruler_lines:,} (==== or ---- lines, not text)")
    return lines
