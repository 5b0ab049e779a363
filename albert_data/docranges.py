"""Reading documents for ``make-pretraining`` in byte ranges, so one large file is read
in parallel and no document is cut, lost or read twice.

Formats: ``sentences`` (one sentence per line, a blank line between documents: what
``split-sentences`` writes) and ``jsonl`` (one JSON document per line).

The rule: a document belongs to the range that holds its first byte. A reader of
``[start, end)`` finds the first document starting at or after ``start`` (a non-blank
line whose previous line is blank, or the first line of the file), reads every
document that starts before ``end`` to its last line (past ``end`` if need be) and
stops. Compressed files are one range, read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from albert_data.fileio import compression_of, open_raw, open_read

DOC_FORMATS = ("sentences", "jsonl")
DEFAULT_RANGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ByteRange:
    path: str
    start: int
    end: int  # exclusive; -1 for "to the end of the file"


def plan_ranges(path: str, size: int, *, range_bytes: int = DEFAULT_RANGE_BYTES) -> list[ByteRange]:
    """Cut a file into ranges of about ``range_bytes`` (compressed files: one range)."""
    if compression_of(path) is not None or size <= range_bytes:
        return [ByteRange(path, 0, -1)]
    cuts = list(range(0, size, range_bytes))
    return [ByteRange(path, s, e) for s, e in zip(cuts, [*cuts[1:], -1])]


def _is_blank(line: bytes) -> bool:
    return not line.strip()


def _previous_line_blank(fh, pos: int) -> bool:
    """Whether the line that ends just before ``pos`` (a line start) is blank."""
    if pos == 0:
        return True
    end = pos - 1  # the b"\n" ending the previous line
    content = b""
    while True:
        begin = max(0, end - 4096)
        fh.seek(begin)
        chunk = fh.read(end - begin) + content
        idx = chunk.rfind(b"\n", 0, len(chunk) - len(content) if content else len(chunk))
        if idx != -1:
            return _is_blank(chunk[idx + 1 :])
        if not _is_blank(chunk):
            return False
        if begin == 0:
            return True
        content, end = chunk, begin


def read_range(byte_range: ByteRange, *, fmt: str) -> Iterator[tuple[int, list[bytes]]]:
    """(byte offset, raw lines) of each document owned by ``byte_range``.

    For ``sentences`` the lines are the document's sentences; for ``jsonl`` there is one
    line, the JSON object. Lines keep their line ends.
    """
    if byte_range.start == 0 and byte_range.end == -1:
        with open_read(byte_range.path) as fh:
            yield from _scan(fh, 0, -1, True, fmt)
        return
    with open_raw(byte_range.path) as fh:
        start, end = byte_range.start, byte_range.end
        pos = 0
        if start > 0:
            fh.seek(start - 1)
            if fh.read(1) != b"\n":
                fh.readline()  # finish the line that straddles ``start``
            pos = fh.tell()
        prev_blank = _previous_line_blank(fh, pos)
        fh.seek(pos)
        yield from _scan(fh, pos, end, prev_blank, fmt)


def _scan(fh, pos: int, end: int, prev_blank: bool, fmt: str) -> Iterator[tuple[int, list[bytes]]]:
    lines: list[bytes] = []
    doc_start = pos
    for line in fh:
        line_start = pos
        pos += len(line)
        if fmt == "jsonl":
            if end != -1 and line_start >= end:
                return
            if not _is_blank(line):
                yield line_start, [line]
            continue
        if _is_blank(line):
            if lines:
                yield doc_start, lines
                lines = []
            prev_blank = True
            continue
        if lines:
            lines.append(line)
        elif prev_blank:
            if end != -1 and line_start >= end:
                return
            doc_start, lines = line_start, [line]
        # else: the tail of a document that began in the previous range
        prev_blank = False
    if lines:
        yield doc_start, lines
