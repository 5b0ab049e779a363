"""Reading raw text documents, the one reader of every command: plain text with blank
lines between documents (``blank-line``; ``sentences`` for make-pretraining), one
document per line (``line``), JSONL with a text field (``jsonl``), hard-wrapped text with
blank lines between paragraphs and documents separated as the user chooses (``wrapped``,
see :mod:`albert_data.text.layout`), or the text column of Parquet files (``parquet``,
one document per row; :mod:`albert_data.files.parquet`); UTF-8 with or without BOM, CRLF
or LF, ``.gz``/``.bz2`` transparently.

While reading, the shape of every line is counted
(:class:`~albert_data.text.layout.LineProbe`) and so is every large file read as a single
document, for :func:`~albert_data.text.layout.layout_hints`.

Undecodable bytes are replaced by U+FFFD and counted (or, with ``strict``, reported as
an error naming the file and byte offset). A file with NUL bytes is refused as binary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from albert_data.errors import UserError
from albert_data.files.docranges import (
    SEPARATE_FILES,
    ByteRange,
    RangeScan,
    plan_ranges,
    read_range,
    read_separated,
)
from albert_data.files.fileio import counted, open_read
from albert_data.text.layout import (
    LARGE_DOCUMENT_BYTES,
    WIDTH_BUCKETS,
    LineProbe,
    RulerCount,
    layout_hints,
    wrapped_paragraphs,
)

FORMATS = ("blank-line", "line", "jsonl", "wrapped", "parquet")
# Layouts whose lines are probed for another layout (JSONL lines and Parquet rows are not).
PROBED = ("blank-line", "line", "wrapped")
BINARY_PROBE_BYTES = 8192


@dataclass(frozen=True)
class ReadConfig:
    """How raw input files are cut into documents. ``text_field``: the JSONL field or
    Parquet column; ``document_separator``: how ``wrapped`` text separates documents
    (``file``, ``two-blank-lines`` or a separator line, see ``docranges.read_separated``)."""

    format: str = "blank-line"
    text_field: str = "text"
    strict: bool = False
    document_separator: str = SEPARATE_FILES

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {self.format!r}")
        if not self.document_separator.strip():
            raise ValueError("document_separator must not be blank (blank lines end paragraphs)")


def plan_file_ranges(path: str, size: int, config: ReadConfig, *, range_bytes: int):
    """The parallel units of one file: byte ranges of text, one range per wrapped file
    (a document may be the whole file), one per row group of a Parquet file."""
    if config.format == "parquet":
        from albert_data.files.parquet import plan_row_groups

        return plan_row_groups(path)
    if config.format == "wrapped":
        return [ByteRange(path, 0, -1)]
    return plan_ranges(path, size, range_bytes=range_bytes)


@dataclass
class ReadCounts:
    """What reading saw; summed over files (every field is a count, so Beam counters of
    the same names sum them over workers). ``probe_*`` and ``width_*``: the shape of the
    probed lines (:class:`~albert_data.text.layout.LineProbe`)."""

    files: int = 0
    bytes: int = 0
    replaced_bytes: int = 0
    malformed_lines: int = 0
    null_rows: int = 0  # Parquet rows whose text is null, skipped
    ruler_lines: int = 0  # wrapped text: ==== / ---- lines taken as paragraph ends
    whole_file_documents: int = 0  # large files read as one document (no separator met)
    probe_lines: int = 0
    probe_unpunctuated: int = 0
    width_0: int = 0
    width_1: int = 0
    width_2: int = 0
    width_3: int = 0
    width_4: int = 0
    width_5: int = 0
    width_6: int = 0
    width_7: int = 0
    width_8: int = 0
    width_9: int = 0
    width_10: int = 0

    def add(self, other: ReadCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def add_probe(self, probe: LineProbe) -> None:
        self.probe_lines += probe.lines
        self.probe_unpunctuated += probe.unpunctuated
        for bucket, count in enumerate(probe.widths):
            setattr(self, f"width_{bucket}", getattr(self, f"width_{bucket}") + count)

    def probe(self) -> LineProbe:
        widths = tuple(getattr(self, f"width_{b}") for b in range(WIDTH_BUCKETS))
        return LineProbe(self.probe_lines, self.probe_unpunctuated, widths)

    def hints(self, fmt: str) -> list[str]:
        """What the input looks like, if not the layout ``fmt`` (see ``layout_hints``)."""
        return layout_hints(fmt, self.probe(), self.whole_file_documents)

    @classmethod
    def from_counters(cls, value) -> ReadCounts:
        """From a mapping (or a function) giving each field's summed value."""
        get = value if callable(value) else value.get
        return cls(**{name: int(get(name) or 0) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RawDocument:
    """A document as paragraphs (one per input line, or per line of a JSON text)."""

    path: str
    offset: int  # byte offset of the document in its (uncompressed) file
    paragraphs: tuple[str, ...]


def check_not_binary(path: str) -> None:
    """Refuse a file whose first bytes hold a NUL (checked up front, before any pipeline)."""
    from albert_data.files.parquet import looks_parquet

    with open_read(path) as fh:
        head = fh.read(BINARY_PROBE_BYTES)
    nul = head.find(b"\x00")
    if looks_parquet(head):
        raise UserError(
            f"{path}: is a Parquet file; read it with --input-format parquet --text-field COLUMN"
        )
    if nul != -1:
        raise UserError(
            f"{path}: looks binary (NUL byte at offset {nul}); give text files only, or convert it to UTF-8 text"
        )


def check_inputs(paths: list[str], config: ReadConfig) -> None:
    """Up front, before any pipeline: text inputs are no binary files, and Parquet
    inputs have a text column of the name asked for."""
    if config.format != "parquet":
        for path in paths:
            check_not_binary(path)
        return
    from albert_data.files.parquet import check_text_column, parquet_file

    for path in paths:
        with parquet_file(path) as pf:
            check_text_column(path, pf.schema_arrow, config.text_field)


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
    if config.format == "parquet":
        yield from parquet_documents(ByteRange(path, 0, -1), config, counts, on_bytes=on_bytes)
        return
    wrap_raw = None if on_bytes is None else counted(on_bytes)
    yield from read_range_documents(ByteRange(path, 0, -1), config, counts, wrap_raw=wrap_raw)


def read_range_documents(
    byte_range: ByteRange, config: ReadConfig, counts: ReadCounts, *, wrap_raw=None
) -> Iterator[RawDocument]:
    """The documents a byte range of a file owns (``albert_data.files.docranges``; for
    Parquet the row groups starting in it), in order.

    The local runner reads each file as one range and the Beam pipeline reads ranges in
    parallel; both cut documents with the same code, so they see the same documents.
    """
    if config.format == "parquet":
        yield from parquet_documents(byte_range, config, counts)
        return
    scan = RangeScan()
    if config.format == "wrapped":
        docs = read_separated(
            byte_range, separator=config.document_separator, scan=scan, wrap_raw=wrap_raw
        )
    else:
        docs = read_range(byte_range, fmt=config.format, scan=scan, wrap_raw=wrap_raw)
    probe = LineProbe() if config.format in PROBED else None
    found = 0
    for offset, lines in docs:
        doc = raw_document(byte_range.path, offset, lines, config, counts, probe=probe)
        found += 1
        if doc is not None:
            yield doc
    if byte_range.start == 0:
        counts.files += 1
    counts.bytes += scan.owned_bytes(byte_range)
    if probe is not None:
        counts.add_probe(probe)
    can_separate = config.format == "blank-line" or (
        config.format == "wrapped" and config.document_separator != SEPARATE_FILES
    )
    if (
        can_separate
        and found == 1
        and byte_range.start == 0
        and scan.at_eof
        and scan.scanned_to >= LARGE_DOCUMENT_BYTES
    ):
        counts.whole_file_documents += 1


def parquet_documents(
    byte_range: ByteRange, config: ReadConfig, counts: ReadCounts, *, on_bytes=None
) -> Iterator[RawDocument]:
    """One document per row of the row groups starting in ``byte_range``; its offset is
    the row's number in the file, its paragraphs the lines of its text (as for JSONL).
    Null rows are skipped and counted."""
    from albert_data.files.fileio import file_size
    from albert_data.files.parquet import read_rows

    for row, text in read_rows(byte_range, config.text_field, on_group=on_bytes):
        if text is None:
            counts.null_rows += 1
            continue
        yield RawDocument(byte_range.path, row, tuple(text.splitlines()))
    if byte_range.start == 0:
        counts.files += 1
    end = file_size(byte_range.path) if byte_range.end == -1 else byte_range.end
    counts.bytes += end - byte_range.start


def raw_document(
    path: str,
    offset: int,
    lines: list[bytes],
    config: ReadConfig,
    counts: ReadCounts,
    *,
    probe: LineProbe | None = None,
) -> RawDocument | None:
    """Decode the raw lines of one document; ``None`` for a malformed JSONL line that is
    skipped (and counted). NUL bytes, and with ``strict`` undecodable bytes or malformed
    JSONL, raise a :class:`UserError` naming the file and position. ``probe``, if given,
    counts the shape of the lines."""
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
    if probe is not None:
        probe.add(texts)
    if config.format == "wrapped":
        rulers = RulerCount()
        paragraphs = wrapped_paragraphs(texts, rulers)
        counts.ruler_lines += rulers.rulers
        return RawDocument(path, offset, paragraphs)
    if config.format != "jsonl":
        return RawDocument(path, offset, tuple(texts))
    text, problem = jsonl_text(texts[0], config.text_field)
    if problem is not None:
        if config.strict:
            raise UserError(
                f"{path}: line {line_number(path, offset)} (byte {offset}) {problem}; fix the line, choose the field with --text-field, or drop --strict to skip such lines"
            )
        counts.malformed_lines += 1
        return None
    return RawDocument(path, offset, tuple(text.splitlines()))


def jsonl_text(line: str, field: str) -> tuple[str | None, str | None]:
    """The string ``field`` of one JSONL line, or what is wrong with the line: not JSON,
    nested deeper than the parser's recursion allows, no string ``field``, or text that
    is not Unicode (a lone UTF-16 surrogate such as ``"\\ud800"``, which no UTF-8 file
    can hold)."""
    try:
        text = json.loads(line)[field]
    except RecursionError:
        return None, "is nested too deeply to parse (thousands of [ or {)"
    except (KeyError, TypeError, IndexError):
        return None, f"has no string field {field!r}"
    except ValueError:
        return None, "is not valid JSON"
    if not isinstance(text, str):
        return None, f"has no string field {field!r} (it holds {type(text).__name__})"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = ord(text[err.start])
        return None, f"has a lone surrogate \\u{bad:04x} in its text, which is not Unicode"
    return text, None


def no_documents_problem(files: list[str], config: ReadConfig, counts: ReadCounts) -> str | None:
    """Why no document was read, when the reading knows: every JSONL line was malformed
    (most often: the text is under another field than ``--text-field``; the first line's
    fields are named). None otherwise."""
    if config.format != "jsonl" or counts.malformed_lines == 0:
        return None
    fields = _first_line_fields(files[0])
    seen = f"; {files[0]}'s first line has the fields {', '.join(fields)}" if fields else ""
    return (
        f"no documents found in {len(files)} input file(s): all {counts.malformed_lines:,} "
        f"JSONL line(s) are malformed or have no string field {config.text_field!r}{seen}; "
        "choose the text's field with --text-field (--strict names the first bad line)"
    )


def _first_line_fields(path: str, limit: int = 8) -> list[str]:
    try:
        with open_read(path) as fh:
            value = json.loads(fh.readline(1 << 20))
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(value, dict):
        return []
    names = [repr(k) for k in list(value)[:limit]]
    return names + ["..."] if len(value) > limit else names


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
