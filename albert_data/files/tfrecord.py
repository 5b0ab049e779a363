"""Record files, in one place and without TensorFlow: finding them (``record_files``),
their compression (``record_compression``), the frames inside them — read (plain or gzip,
CRCs verified), walked to check them before training (``check_framing``) — and writing.

A TFRecord file is a sequence of frames::

    uint64 length (little-endian)
    uint32 masked_crc32c(length bytes)
    bytes  data[length]
    uint32 masked_crc32c(data)

where ``masked_crc32c(x) = ((c >> 15 | c << 17) + 0xA282EAD8) mod 2**32`` for
``c = crc32c(x)`` (Castagnoli polynomial). A ``.gz`` file is the same stream inside one
gzip member, as TensorFlow's ``compression_type="GZIP"`` writes and reads it.

Readers detect gzip by its magic bytes, not by the file name. Writers produce
byte-identical files for identical input (the gzip header carries no name and no time).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np

from albert_data.errors import UserError

try:  # google-crc32c ships a C implementation; crc32c is the other common package.
    from google_crc32c import value as _crc32c
except ImportError:  # pragma: no cover - depends on the environment
    from crc32c import crc32c as _crc32c

_MASK_DELTA = 0xA282EAD8
_GZIP_MAGIC = b"\x1f\x8b"
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_GZIP_LEVEL = 6  # zlib's default, as TensorFlow's writer uses


# A record file's name: ``.tfrecord``/``.tf_record``/``.tfrecords``, at the end or before a
# suffix (``.gz``) or a shard number (``data.tfrecord-00001-of-00004``).
RECORD_NAME = re.compile(r"\.tf_?records?(?=$|[.\-_])", re.IGNORECASE)


def record_files(patterns, *, flag: str = "--records") -> list[str]:
    """The files named by ``patterns`` — paths, globs and directories, local or on any
    Beam file system — in the order given (each pattern's matches sorted), without
    duplicates. From a directory only the record files (:data:`RECORD_NAME`), so that
    the ``stats.json`` beside them is skipped."""
    from albert_data.files import fileio

    files: list[str] = []
    for pattern in patterns:
        try:
            matched = fileio.expand_inputs([pattern], what=flag)
        except UserError:
            if not fileio.is_remote(pattern) and os.path.isdir(pattern):
                raise UserError(
                    f"{pattern}: the directory holds no *.tfrecord or *.tfrecord.gz file;"
                    " pass the record files"
                ) from None
            raise UserError(
                f"{flag} {pattern}: no record file matches (it does not exist or matches no"
                " file); check the path or quote the glob"
            ) from None
        is_directory = matched != [pattern] and not any(c in pattern for c in "*?[")
        if is_directory:
            matched = [f for f in matched if RECORD_NAME.search(f.rsplit("/", 1)[-1])]
            if not matched:
                raise UserError(
                    f"{pattern}: the directory holds no *.tfrecord or *.tfrecord.gz file;"
                    " pass the record files"
                )
        files.extend(matched)
    return list(dict.fromkeys(files))


def record_compression(path: str) -> str:
    """``"GZIP"`` for a gzip-compressed record file (by its first bytes, whatever its
    name), else ``""``: TensorFlow's ``compression_type``."""
    from albert_data.files.fileio import open_raw

    with open_raw(path) as raw:
        return "GZIP" if raw.read(2) == _GZIP_MAGIC else ""


class CorruptRecordError(UserError):
    """A file that is not a well-formed TFRecord file (bad CRC, truncated frame, bad gzip)."""


def crc32c(data: bytes) -> int:
    """The CRC-32C (Castagnoli) checksum of ``data``."""
    return _crc32c(data)


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


# Bytes a record's frame adds to its data: the length (8), its CRC (4), the data's CRC (4).
FRAME_OVERHEAD = 16


def frame(data: bytes) -> bytes:
    """One record framed as it is stored in a TFRecord file."""
    length = struct.pack("<Q", len(data))
    return length + _FOOTER.pack(masked_crc32c(length)) + data + _FOOTER.pack(masked_crc32c(data))


def read_records(
    source: str | os.PathLike | BinaryIO, *, name: str | None = None
) -> Iterator[bytes]:
    """Yield the records of a TFRecord file (plain or gzip), verifying both CRCs of each.

    ``source`` is a path or a seekable binary file object (e.g. from Beam's
    ``FileSystems.open``; ``name`` then names it in errors). Raises
    :class:`CorruptRecordError` naming the file and the byte offset of the bad frame (an
    offset into the decompressed stream for gzip files).
    """
    if isinstance(source, (str, os.PathLike)):
        from albert_data.files.fileio import exists, open_raw

        path = os.fspath(source)
        if not exists(path):
            raise UserError(f"{path}: cannot be read (no such file); check the path")
        try:
            raw = open_raw(path)
        except OSError as err:
            raise UserError(
                f"{path}: cannot be read ({err.strerror or err}); check the path"
            ) from err
        with raw:
            yield from read_records(raw, name=path)
        return
    name = name or getattr(source, "name", None) or "<stream>"
    compressed = source.read(2) == _GZIP_MAGIC
    source.seek(0)
    where = " of the decompressed stream" if compressed else ""
    stream = gzip.GzipFile(fileobj=source, mode="rb") if compressed else source
    try:
        yield from _frames(stream, name, where)
    except FrameError as err:
        raise err.error(name) from None
    except (OSError, EOFError, zlib.error) as err:
        raise CorruptRecordError(
            f"{name}: not a readable gzip file ({err}); re-create it or pass the uncompressed file"
        ) from err


def _frames(stream: io.BufferedIOBase, path: str, where: str) -> Iterator[bytes]:
    for block, starts, lengths, _ in frame_blocks(stream, name=path, where=where):
        for start, length in zip(starts.tolist(), lengths.tolist()):
            yield block[start : start + length]


_BLOCK = 8 << 20  # bytes read at a time by frame_blocks


def frame_blocks(
    stream: io.BufferedIOBase,
    *,
    name: str,
    where: str = "",
    offset: int = 0,
    stop: int | None = None,
    limit: int | None = None,
    block: int = _BLOCK,
) -> Iterator[tuple[bytes, np.ndarray, np.ndarray, int]]:
    """The frames of a TFRecord stream, both CRCs verified, a block of bytes at a time:
    ``(block, starts, lengths, at)`` where record k's data is
    ``block[starts[k] : starts[k] + lengths[k]]`` and ``at`` is the stream offset of
    ``block[0]``.

    ``stream`` is read from its current position, which is stream offset ``offset``;
    frames starting at or after ``stop`` are not read, nor any after the first
    ``limit``. A broken frame raises :class:`FrameError` (its record index, counted
    from the first frame read, and its offset).
    """
    pending = b""
    index = 0
    at = offset  # the stream offset of pending[0]
    eof = False
    while not eof and (limit is None or index < limit):
        chunk = stream.read(block)
        eof = not chunk
        buf = pending + chunk if pending else chunk
        starts, lengths, used, error = _walk(
            buf, at, stop, None if limit is None else limit - index
        )
        if starts:
            yield buf, np.asarray(starts, np.int64), np.asarray(lengths, np.int64), at
        index += len(starts)
        if error is not None:
            raise FrameError(index, at + used, error, where)
        if (
            used == len(buf)
            or (stop is not None and at + used >= stop)
            or (limit is not None and index >= limit)
        ):
            pending = b""
            at += used
            if eof or (stop is not None and at >= stop) or (limit is not None and index >= limit):
                return
            continue
        pending = buf[used:]
        at += used
        if eof:  # the stream ended inside a frame
            raise FrameError(index, at, _truncated(pending), where)


def _walk(buf: bytes, at: int, stop: int | None, limit: int | None):
    """(starts, lengths, bytes used, error) of the complete frames at the head of ``buf``
    (which starts at stream offset ``at``); stops at an incomplete frame, at ``stop`` or
    after ``limit`` frames, or at a broken one (``error`` says what is wrong with it)."""
    starts: list[int] = []
    lengths: list[int] = []
    pos, size = 0, len(buf)
    unpack, crc = _HEADER.unpack_from, masked_crc32c
    while pos + _HEADER.size <= size:
        if (stop is not None and at + pos >= stop) or (limit is not None and len(starts) >= limit):
            break
        length, length_crc = unpack(buf, pos)
        if length_crc != crc(buf[pos : pos + 8]):
            return starts, lengths, pos, "length CRC mismatch"
        begin = pos + _HEADER.size
        end = begin + length
        if end + _FOOTER.size > size:
            break
        if _FOOTER.unpack_from(buf, end)[0] != crc(buf[begin:end]):
            return starts, lengths, pos, "data CRC mismatch"
        starts.append(begin)
        lengths.append(length)
        pos = end + _FOOTER.size
    return starts, lengths, pos, None


def _truncated(tail: bytes) -> str:
    if len(tail) < _HEADER.size:
        return f"truncated record header ({len(tail)} bytes)"
    length, length_crc = _HEADER.unpack_from(tail, 0)
    if length_crc != masked_crc32c(tail[:8]):
        return "length CRC mismatch"
    return f"truncated record of {length} bytes"


class FrameError(Exception):
    """A broken frame met by :func:`frame_blocks`: the index of its record (counted from
    the first frame read), its stream offset, and what is wrong."""

    def __init__(self, index: int, offset: int, what: str, where: str = ""):
        super().__init__(what)
        self.index, self.offset, self.what, self.where = index, offset, what, where

    def __reduce__(self):  # rebuilt whole in the process that receives it
        return FrameError, (self.index, self.offset, self.what, self.where)

    def error(self, path: str) -> CorruptRecordError:
        return _corrupt(path, self.offset, self.where, self.what)


def find_frame(buf: bytes, pos: int = 0) -> int | None:
    """The first offset at or after ``pos`` where a frame whose length CRC holds (and, when
    the frame lies inside ``buf``, its data CRC) begins; ``None`` if there is none."""
    unpack, crc = _HEADER.unpack_from, masked_crc32c
    for p in range(pos, len(buf) - _HEADER.size + 1):
        length, length_crc = unpack(buf, p)
        if length_crc != crc(buf[p : p + 8]):
            continue
        end = p + _HEADER.size + length
        if end + _FOOTER.size > len(buf):
            return p
        if _FOOTER.unpack_from(buf, end)[0] == crc(buf[p + _HEADER.size : end]):
            return p
    return None


def _corrupt(path: str, offset: int, where: str, what: str) -> CorruptRecordError:
    return CorruptRecordError(
        f"{path}: not a valid TFRecord file: {what} at byte offset {offset}{where};"
        " the file is corrupt, truncated or not a TFRecord file"
    )


def write_records(
    target: str | os.PathLike | BinaryIO, records: Iterable[bytes], *, compress: bool
) -> int:
    """Write ``records`` as a TFRecord file (gzip-compressed if ``compress``); return the count.

    ``target`` is a path or a writable binary file object (e.g. one opened by Beam's
    ``FileSystems.create``), which is left open. The output is byte-identical for
    identical input: the gzip header records no file name and a zero modification time.
    """
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as raw:
            return write_records(raw, records, compress=compress)
    count = 0
    stream = (
        gzip.GzipFile(filename="", mode="wb", fileobj=target, compresslevel=_GZIP_LEVEL, mtime=0)
        if compress
        else target
    )
    try:
        for data in records:
            stream.write(frame(data))
            count += 1
    finally:
        if compress:
            stream.close()  # flushes the gzip trailer; does not close ``target``
    return count


# --- checking a file's frames before training --------------------------------------------
#
# Training meets a damaged record only when the input pipeline reaches it, maybe hours
# into the run, and TensorFlow's error then names no file. check_framing walks each
# file's frame headers and skips over the data, so a truncated file, a bad length or
# bytes that are not a TFRecord file at all fail at once, naming the file, the record
# index and the byte offset; with ``verify`` it reads every record (frame_blocks) and
# checks its data checksum too, which locate_corruption does when TensorFlow met one.

_CHECK_WORDS = {  # frame_blocks' words for what is wrong -> check_framing's
    "length CRC mismatch": "has a bad length checksum",
    "data CRC mismatch": "has a bad data checksum",
}


def _framing_error(path: str, index: int, offset: int, what: str, where: str = "") -> UserError:
    if what.startswith("truncated record header"):
        what = "has a truncated header" + what.removeprefix("truncated record header")
    elif what.startswith("truncated record of "):
        length = what.removeprefix("truncated record of ").split()[0]
        what = f"is truncated (needs {length} data bytes)"
    what = _CHECK_WORDS.get(what, what)
    return UserError(
        f"{path} is not a readable TFRecord file: record {index} (byte offset {offset}{where}) "
        f"{what}; re-create the file or remove it from the glob"
    )


def scan_frames(
    stream: BinaryIO, path: str, *, size: int | None, where: str = "", verify: bool = False
) -> int:
    """Walk the frames of one uncompressed TFRecord stream of ``size`` bytes (None: not
    seekable, read through); return the record count. ``verify`` also reads every
    record's data and checks its checksum."""
    if verify:
        count = 0
        try:
            for _, starts, _, _ in frame_blocks(stream, name=path, where=where):
                count += int(starts.size)
        except FrameError as err:
            raise _framing_error(path, err.index, err.offset, err.what, where) from None
        return count
    index = offset = 0
    while True:
        header = stream.read(_HEADER.size)
        if not header:
            return index
        if len(header) < _HEADER.size:
            what = f"truncated record header ({len(header)} bytes)"
            raise _framing_error(path, index, offset, what, where)
        length, length_crc = _HEADER.unpack(header)
        if length_crc != masked_crc32c(header[:8]):
            raise _framing_error(path, index, offset, "length CRC mismatch", where)
        body = length + _FOOTER.size
        if _skip(stream, body, size) != body:
            raise _framing_error(path, index, offset, f"truncated record of {length} bytes", where)
        index += 1
        offset += _HEADER.size + body


def _skip(stream: BinaryIO, count: int, size: int | None) -> int:
    """Advance ``count`` bytes (by seeking when the stream's ``size`` is known); return
    how many were there."""
    if size is not None:
        here = stream.tell()
        stream.seek(min(here + count, size))
        return min(count, size - here)
    skipped = 0
    while skipped < count:
        chunk = stream.read(min(count - skipped, 1 << 20))
        if not chunk:
            break
        skipped += len(chunk)
    return skipped


def check_framing(path: str, *, verify: bool = False) -> int:
    """Check ``path`` (local or any Beam file system, plain or gzip); return its record
    count. ``verify`` checks every record's data checksum too (it reads every byte)."""
    from albert_data.files import fileio

    try:
        size = fileio.file_size(path)
        with fileio.open_raw(path) as raw:
            if raw.read(2) != _GZIP_MAGIC:
                raw.seek(0)
                return scan_frames(raw, path, size=size, verify=verify)
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                where = " of the decompressed stream"
                return scan_frames(stream, path, size=None, where=where, verify=verify)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise UserError(
            f"{path} is not a readable gzip file ({err}); re-create it or remove it from the glob"
        ) from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None


def locate_corruption(paths, message: str) -> UserError:
    """The error for a corrupt record TensorFlow met while training (its ``message``
    names no file): the first file and record whose data checksum is wrong, found by
    reading every file now, when it is needed."""
    for path in paths:
        try:
            check_framing(path, verify=True)
        except UserError as found:
            return UserError(f"--records: a corrupt record was met while training: {found}")
    return UserError(
        f"--records: a corrupt record was met while training ({message}); re-create the "
        "damaged file"
    )
