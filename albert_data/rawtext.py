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
from albert_data.fileio import open_read

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
    lines: int = 0
    replaced_bytes: int = 0
    malformed_lines: int = 0

    def add(self, other: ReadCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class RawDocument:
    """A document as paragraphs (one per input line, or per line of a JSON text)."""

    path: str
    index: int  # position of the document in its file
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


def iter_lines(path: str, config: ReadConfig, counts: ReadCounts) -> Iterator[str]:
    """Decoded lines of a file without their line ends; BOM removed; binary refused."""
    counts.files += 1
    offset = 0
    with open_read(path) as fh:
        head = fh.read(BINARY_PROBE_BYTES)
        nul = head.find(b"\x00")
        if nul != -1:
            raise UserError(
                f"{path}: looks binary (NUL byte at offset {nul}); give text files only, or convert it to UTF-8 text"
            )
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
            offset = 3
        tail = b""
        stream = _chain(head, fh)
        for raw in stream:
            if tail:
                raw, tail = tail + raw, b""
            if not raw.endswith(b"\n"):
                tail = raw
                continue
            yield from _decoded(raw, path, offset, config, counts)
            offset += len(raw)
        if tail:
            yield from _decoded(tail, path, offset, config, counts)
            offset += len(tail)
    counts.bytes += offset


def _decoded(raw: bytes, path, offset, config, counts) -> Iterator[str]:
    nul = raw.find(b"\x00")
    if nul != -1:
        raise UserError(
            f"{path}: looks binary (NUL byte at offset {offset + nul}); give text files only"
        )
    text, replaced = decode_line(raw, path=path, offset=offset, strict=config.strict)
    counts.replaced_bytes += replaced
    counts.lines += 1
    yield text.rstrip("\r\n")


def _chain(head: bytes, fh) -> Iterator[bytes]:
    """Lines of ``head`` followed by the rest of ``fh`` (``head`` may end mid-line)."""
    lines = head.splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        partial = lines.pop()
        rest = fh.readline()
        lines.append(partial + rest)
    yield from lines
    yield from fh


def read_documents(path: str, config: ReadConfig, counts: ReadCounts) -> Iterator[RawDocument]:
    """The documents of one file, in order."""
    lines = iter_lines(path, config, counts)
    if config.format == "blank-line":
        yield from _blank_line_documents(path, lines)
    elif config.format == "line":
        index = 0
        for line in lines:
            if line.strip():
                yield RawDocument(path, index, (line,))
                index += 1
    else:
        yield from _jsonl_documents(path, lines, config, counts)


def _blank_line_documents(path: str, lines: Iterator[str]) -> Iterator[RawDocument]:
    paragraphs: list[str] = []
    index = 0
    for line in lines:
        if line.strip():
            paragraphs.append(line)
        elif paragraphs:
            yield RawDocument(path, index, tuple(paragraphs))
            index += 1
            paragraphs = []
    if paragraphs:
        yield RawDocument(path, index, tuple(paragraphs))


def _jsonl_documents(path, lines, config: ReadConfig, counts: ReadCounts) -> Iterator[RawDocument]:
    index = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            text = obj[config.text_field]
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
                    f"{path}: line {lineno} {problem}; fix the line, choose the field with --text-field, or drop --strict to skip such lines"
                ) from err
            counts.malformed_lines += 1
            continue
        yield RawDocument(path, index, tuple(text.splitlines()))
        index += 1
