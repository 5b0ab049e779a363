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
    except (OSError, EOFError, zlib.error) as err:
        raise CorruptRecordError(
            f"{name}: not a readable gzip file ({err}); re-create it or pass the uncompressed file"
        ) from err


def _frames(stream: io.BufferedIOBase, path: str, where: str) -> Iterator[bytes]:
    offset = 0
    while True:
        header = stream.read(_HEADER.size)
        if not header:
            return
        if len(header) < _HEADER.size:
            raise _corrupt(path, offset, where, f"truncated record header ({len(header)} bytes)")
        length, length_crc = _HEADER.unpack(header)
        if length_crc != masked_crc32c(header[:8]):
            raise _corrupt(path, offset, where, "length CRC mismatch")
        data = stream.read(length)
        footer = stream.read(_FOOTER.size)
        if len(data) < length or len(footer) < _FOOTER.size:
            raise _corrupt(path, offset, where, f"truncated record of {length} bytes")
        if _FOOTER.unpack(footer)[0] != masked_crc32c(data):
            raise _corrupt(path, offset, where, "data CRC mismatch")
        yield data
        offset += _HEADER.size + length + _FOOTER.size


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
