"""Reading raw text documents: plain text with blank lines between documents, one
document per line, or JSONL with a text field; UTF-8 with or without BOM, CRLF or LF,
``.gz``/``.bz2`` transparently.

Undecodable bytes are replaced by U+FFFD and counted (or, with ``strict``, reported as
an error naming the file and byte offset). A file with NUL bytes is refused as binary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from albert_data.errors import UserError
from albert_data.files.docranges import ByteRange, RangeScan, read_range
from albert_data.files.fileio import counted, open_read

FORMATS = ("blank-line", "line", "jsonl")
BINARY_PROBE_BYTES = 8192


@dataclass(frozen=True)
class ReadConfig:
    """How raw input files are cut into documents."""

    format: str = "blank-line"
    text_field: str = "text"
    strict: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {self.format!r}")


@dataclass
class ReadCounts:
    """What reading saw; summed over files."""

    files: int = 0
    bytes: int = 0
    replaced_bytes: int = 0
    malformed_lines: int = 0

    def add(self, other: ReadCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class RawDocument:
    """A document as paragraphs (one per input line, or per line of a JSON text)."""

    path: str
    offset: int  # byte offset of the document in its (uncompressed) file
    paragraphs: tuple[str, ...]


def check_not_binary(path: str) -> None:
    """Refuse a file whose first bytes hold a NUL (checked up front, before any pipeline)."""
    with open_read(path) as fh:
        head = fh.read(BINARY_PROBE_BYTES)
    nul = head.find(b"\x00")
    if nul != -1:
        raise UserError(
            f"{path}: looks binary (NUL byte at offset {nul}); give text files only, or convert it to UTF-8 text"
        )


def decode_line(raw: bytes, *, path: str, offset: int, strict: bool) -> tuple[str, int]:
    """Decode one line of UTF-8, returning the text and the number of bytes replaced."""
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError as first:
        if strict:
            bad = offset + first.start
            raise UserError(
                f"{path}: byte {bad}: invalid UTF-8 (0x{raw[first.start]:02x}); convert the file to UTF-8 or drop --strict to replace such bytes"
            ) from first
    parts, pos, replaced = [], 0, 0
    while True:
        try:
            parts.append(raw[pos:].decode("utf-8"))
            return "".join(parts), replaced
        except UnicodeDecodeError as err:
            parts.append(raw[pos : pos + err.start].decode("utf-8"))
            parts.append("\ufffd")
            replaced += err.end - err.start
            pos += err.end


def read_documents(
    path: str, config: ReadConfig, counts: ReadCounts, *, on_bytes=None
) -> Iterator[RawDocument]:
    """The documents of one file, in order (the whole file as one byte range);
    ``on_bytes``, if given, is told the (compressed) bytes of the file as they are read."""
    wrap_raw = None if on_bytes is None else counted(on_bytes)
    yield from read_range_documents(ByteRange(path, 0, -1), config, counts, wrap_raw=wrap_raw)


def read_range_documents(
    byte_range: ByteRange, config: ReadConfig, counts: ReadCounts, *, wrap_raw=None
) -> Iterator[RawDocument]:
    """The documents a byte range of a file owns (``albert_data.files.docranges``), in order.

    The local runner reads each file as one range and the Beam pipeline reads ranges in
    parallel; both cut documents with the same code, so they see the same documents.
    """
    scan = RangeScan()
    for offset, lines in read_range(byte_range, fmt=config.format, scan=scan, wrap_raw=wrap_raw):
        doc = raw_document(byte_range.path, offset, lines, config, counts)
        if doc is not None:
            yield doc
    if byte_range.start == 0:
        counts.files += 1
    counts.bytes += scan.owned_bytes(byte_range)


def raw_document(
    path: str, offset: int, lines: list[bytes], config: ReadConfig, counts: ReadCounts
) -> RawDocument | None:
    """Decode the raw lines of one document; ``None`` for a malformed JSONL line that is
    skipped (and counted). NUL bytes, and with ``strict`` undecodable bytes or malformed
    JSONL, raise a :class:`UserError` naming the file and position."""
    texts = []
    pos = offset
    for raw in lines:
        nul = raw.find(b"\x00")
        if nul != -1:
            raise UserError(
                f"{path}: looks binary (NUL byte at offset {pos + nul}); give text files only"
            )
        text, replaced = decode_line(raw, path=path, offset=pos, strict=config.strict)
        counts.replaced_bytes += replaced
        texts.append(text.rstrip("\r\n"))
        pos += len(raw)
    if config.format != "jsonl":
        return RawDocument(path, offset, tuple(texts))
    try:
        text = json.loads(texts[0])[config.text_field]
        if not isinstance(text, str):
            raise TypeError(type(text).__name__)
    except (ValueError, KeyError, TypeError) as err:
        problem = (
            f"has no string field {config.text_field!r}"
            if isinstance(err, KeyError | TypeError)
            else "is not valid JSON"
        )
        if config.strict:
            raise UserError(
                f"{path}: line {line_number(path, offset)} (byte {offset}) {problem}; fix the line, choose the field with --text-field, or drop --strict to skip such lines"
            ) from err
        counts.malformed_lines += 1
        return None
    return RawDocument(path, offset, tuple(text.splitlines()))


def line_number(path: str, offset: int) -> int:
    """The 1-based number of the line starting at byte ``offset`` (for error messages)."""
    count, left = 1, offset
    with open_read(path) as fh:
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count
