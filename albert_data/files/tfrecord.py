"""TFRecord files without TensorFlow: reading (plain or gzip, CRCs verified) and writing.

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
        from albert_data.files.fileio import open_raw

        path = os.fspath(source)
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
