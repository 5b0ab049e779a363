"""Reading documents in byte ranges, so one large file is read in parallel and no
document is cut, lost or read twice.

Two layouts, under the names each command uses:

* blocks (``sentences`` for ``make-pretraining``, ``blank-line`` for
  ``split-sentences``): documents are runs of non-blank lines separated by blank lines;
* lines (``jsonl``, and ``line`` for ``split-sentences``): one document per non-blank
  line.

A line ends at LF, CRLF or a lone CR (old Mac files): a physical line (up to LF) holding
lone CRs is read as several lines, and belongs, with the documents starting in it, to the
range holding its first byte. A line is blank when it holds only whitespace in the
``str.strip`` sense (so U+3000 or U+00A0 alone make a blank line, as they do for the local
reader). A UTF-8 byte-order mark at the start of a file is dropped.

The rule: a document belongs to the range that holds its first byte. A reader of
``[start, end)`` finds the first document starting at or after ``start`` (a non-blank
line whose previous line is blank, or the first line of the file), reads every
document that starts before ``end`` to its last line (past ``end`` if need be) and
stops. Compressed files are one range, read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from albert_data.errors import UserError
from albert_data.files.fileio import compression_of, open_raw, open_read

BLOCK_FORMATS = ("sentences", "blank-line")
LINE_FORMATS = ("jsonl", "line")
DOC_FORMATS = BLOCK_FORMATS + LINE_FORMATS
DEFAULT_RANGE_BYTES = 64 * 1024 * 1024
BOM = b"\xef\xbb\xbf"

_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip() removes in ASCII


@dataclass(frozen=True)
class ByteRange:
    path: str
    start: int
    end: int  # exclusive; -1 for "to the end of the file"


@dataclass
class RangeScan:
    """Filled in while a range is read: where reading stopped."""

    scanned_to: int = 0
    at_eof: bool = False  # reading went on to the end of the file

    def owned_bytes(self, byte_range: ByteRange) -> int:
        """Bytes of the file this range accounts for (ranges of a file add up to its
        size; a compressed file counts its uncompressed size). Valid once read whole."""
        end = self.scanned_to if byte_range.end == -1 else byte_range.end
        return end - byte_range.start


def plan_ranges(path: str, size: int, *, range_bytes: int = DEFAULT_RANGE_BYTES) -> list[ByteRange]:
    """Cut a file into ranges of about ``range_bytes`` (compressed files: one range)."""
    if compression_of(path) is not None or size <= range_bytes:
        return [ByteRange(path, 0, -1)]
    cuts = list(range(0, size, range_bytes))
    return [ByteRange(path, s, e) for s, e in zip(cuts, [*cuts[1:], -1])]


MIN_AUTO_RANGE_BYTES = 256 * 1024
MAX_AUTO_RANGE_BYTES = 64 * 1024 * 1024
MIN_AUTO_RANGES = 64
RANGES_PER_WORKER = 8


def auto_range_bytes(total_bytes: int, workers: int = 1) -> int:
    """About 64 ranges for the input, or 8 per worker for more than 8 workers, each
    between 256 KiB and 64 MiB. The local fast path's workers take the next range when
    ready (``pipelines.lanes``) and other runners split them between their workers, so
    workers end up to a range apart: 64 of them keep that under 2% of a two-worker run
    (at 1 MiB, a 21 MB input had 21 ranges and one of two workers did 11 of them), and
    8 per worker keep it under 1/8 of a worker's share on a machine with many cores,
    where 64 ranges would leave each worker one range and the run as long as its
    slowest range. A range costs about a millisecond of its own (finding its first
    document, reporting progress). Which ranges a run reads does not change its output."""
    ranges = max(MIN_AUTO_RANGES, RANGES_PER_WORKER * max(1, workers))
    return min(MAX_AUTO_RANGE_BYTES, max(MIN_AUTO_RANGE_BYTES, total_bytes // ranges))


def is_blank(line: bytes) -> bool:
    """Whether ``line`` (UTF-8, maybe with its line end) is whitespace only."""
    rest = line.lstrip(_ASCII_SPACE)
    if not rest:
        return True
    if rest[0] < 0x80:
        return False
    if rest[:16].decode("utf-8", "ignore").strip():
        return False  # a whole non-space character among the first bytes
    return not rest.decode("utf-8", "replace").strip()


def _previous_line_blank(fh, pos: int) -> bool:
    """Whether the line that ends just before ``pos`` (a line start) is blank. Reads it
    backwards in 4 KB chunks and stops at the first visible character, so a long line
    costs one chunk unless it is all whitespace."""
    if pos == 0:
        return True
    end = pos - 1  # the b"\n" ending the previous line
    if end > 0:
        fh.seek(end - 1)
        if fh.read(1) == b"\r":
            end -= 1  # CRLF: the line's end is both bytes
    chunks: list[bytes] = []
    while True:
        begin = max(0, end - 4096)
        fh.seek(begin)
        chunk = fh.read(end - begin)
        idx = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))  # a lone CR ends a line too
        if idx != -1:
            return is_blank(chunk[idx + 1 :] + b"".join(reversed(chunks)))
        # A character decoded whole from the chunk is one of the line's ("ignore" only
        # drops the bytes of characters cut at the chunk's edges, or invalid ones).
        if chunk.decode("utf-8", "ignore").removeprefix("\ufeff").strip():
            return False
        chunks.append(chunk)
        if begin == 0:
            return is_blank(b"".join(reversed(chunks)).removeprefix(BOM))
        end = begin


def read_range(
    byte_range: ByteRange, *, fmt: str, scan: RangeScan | None = None, wrap_raw=None
) -> Iterator[tuple[int, list[bytes]]]:
    """(byte offset, raw lines) of each document owned by ``byte_range``.

    For block formats the lines are the document's lines; for line formats there is one
    line. Lines keep their line ends. ``scan``, if given, records where reading stopped.
    ``wrap_raw`` is :func:`~albert_data.files.fileio.open_read`'s, for a whole file.
    """
    if fmt not in DOC_FORMATS:
        raise ValueError(f"fmt must be one of {DOC_FORMATS}, got {fmt!r}")
    scan = scan if scan is not None else RangeScan()
    if byte_range.start == 0 and byte_range.end == -1:
        with open_read(byte_range.path, wrap_raw=wrap_raw) as fh:
            yield from _scan(fh, 0, -1, True, fmt, scan)
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
        yield from _scan(fh, pos, end, prev_blank, fmt, scan)
    if scan.scanned_to < (start if end == -1 else end):
        from albert_data.files.fileio import file_size

        raise UserError(
            f"{byte_range.path}: {file_size(byte_range.path):,} bytes now, fewer than the {max(start, end):,} the run planned to read: it was truncated or rewritten while the run read it; re-run when nothing writes to the inputs"
        )


def _scan(
    fh, pos: int, end: int, prev_blank: bool, fmt: str, scan: RangeScan
) -> Iterator[tuple[int, list[bytes]]]:
    lines: list[bytes] = []
    doc_start = pos
    scan.scanned_to = pos
    by_line = fmt in LINE_FORMATS
    for line_start, line, physical_start in _lines(fh, pos):
        pos = line_start + len(line)
        scan.scanned_to = pos
        owned = end == -1 or physical_start < end
        skip = 0  # a document's offset points past a byte-order mark
        if line_start == 0 and line.startswith(BOM):
            line, skip = line[len(BOM) :], len(BOM)
        if by_line:
            if not owned:
                return
            if not is_blank(line):
                yield line_start + skip, [line]
            continue
        if is_blank(line):
            if lines:
                yield doc_start, lines
                lines = []
            prev_blank = True
            continue
        if lines:
            lines.append(line)
        elif prev_blank:
            if not owned:
                return
            doc_start, lines = line_start + skip, [line]
        # else: the tail of a document that began in the previous range
        prev_blank = False
    scan.at_eof = True
    if lines:
        yield doc_start, lines


def _lines(fh, pos: int) -> Iterator[tuple[int, bytes, int]]:
    """(offset, line, offset of its physical line) of the lines of ``fh`` read from
    ``pos``: its LF-terminated lines, those holding a lone CR split after it."""
    for physical in fh:
        start = pos
        for line in split_lone_cr(physical):
            yield pos, line, start
            pos += len(line)


def split_lone_cr(line: bytes) -> list[bytes]:
    """``line`` (up to and with its LF, if any) cut after each lone CR, the line end of
    old Mac files; a CRLF end stays one end. Without a lone CR: ``[line]``, unchanged."""
    if b"\r" not in line:
        return [line]
    ending = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
    parts = line[: len(line) - len(ending)].split(b"\r")
    if len(parts) == 1:
        return [line]
    lines = [part + b"\r" for part in parts[:-1]]
    if parts[-1] or ending:
        lines.append(parts[-1] + ending)
    return lines


SEPARATE_FILES = "file"
TWO_BLANK_LINES = "two-blank-lines"


def read_separated(
    byte_range: ByteRange, *, separator: str, scan: RangeScan | None = None, wrap_raw=None
) -> Iterator[tuple[int, list[bytes]]]:
    """(byte offset, raw lines) of each document of a whole file of wrapped text, where
    blank lines separate paragraphs, not documents. ``separator``: ``file`` (the file is
    one document), ``two-blank-lines`` (two or more blank lines in a row end a document)
    or the text of a line that separates documents (e.g. ``---``; compared stripped, and
    not part of any document). Such files are read whole, as one range."""
    if byte_range.start != 0 or byte_range.end != -1:
        raise ValueError(f"wrapped text is read one whole file at a time, not {byte_range}")
    scan = scan if scan is not None else RangeScan()
    marker = separator.strip().encode("utf-8")
    lines: list[bytes] = []
    doc_start = pos = blanks = 0
    with open_read(byte_range.path, wrap_raw=wrap_raw) as fh:
        for line_start, line, _ in _lines(fh, 0):
            pos = line_start + len(line)
            scan.scanned_to = pos
            if line_start == 0 and line.startswith(BOM):
                line, line_start = line[len(BOM) :], len(BOM)
            blank = is_blank(line)
            if separator == TWO_BLANK_LINES:
                blanks = blanks + 1 if blank else 0
                if blanks == 2 and lines:
                    yield doc_start, lines
                    lines = []
            elif separator != SEPARATE_FILES and line.strip() == marker:
                if lines:
                    yield doc_start, lines
                    lines = []
                continue
            if lines:
                lines.append(line)
            elif not blank:
                doc_start, lines = line_start, [line]
    scan.at_eof = True
    if lines:
        yield doc_start, lines
