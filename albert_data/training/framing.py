"""A cheap check of every record file's TFRecord framing before training starts.

Training meets a damaged record only when the input pipeline reaches it — maybe hours
into the run — and TensorFlow's error then names no file. This walks each file's frame
headers (the 8-byte length and its masked CRC-32C, the framing of
:mod:`albert_data.files.tfrecord`) and skips over the data, so a truncated file, a
bad length or bytes that are not a TFRecord file at all fail at once, naming the file,
the record index and the byte offset. It does not verify the data CRCs (that would
read every byte); TensorFlow does while training, and when it meets a bad one
:func:`locate_corruption` reads the files to name the file and record.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from typing import BinaryIO

from albert_data.errors import UserError
from albert_data.files.tfrecord import masked_crc32c

_HEADER = struct.Struct("<QI")
_FOOTER_BYTES = 4
_GZIP_MAGIC = b"\x1f\x8b"


def _corrupt(path: str, index: int, offset: int, what: str, where: str = "") -> UserError:
    return UserError(
        f"{path} is not a readable TFRecord file: record {index} (byte offset {offset}{where}) "
        f"{what}; re-create the file or remove it from the glob"
    )


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


def _data_checksum_ok(stream: BinaryIO, length: int) -> bool | None:
    """Read one record's data and footer: whether its data checksum holds (None: the
    stream ended first)."""
    data, footer = stream.read(length), stream.read(_FOOTER_BYTES)
    if len(data) < length or len(footer) < _FOOTER_BYTES:
        return None
    return struct.unpack("<I", footer)[0] == masked_crc32c(data)


def scan_frames(
    stream: BinaryIO, path: str, *, size: int | None, where: str = "", verify: bool = False
) -> int:
    """Walk the frames of one uncompressed TFRecord stream of ``size`` bytes (None: not
    seekable, read through); return the record count. ``verify`` also reads every
    record's data and checks its checksum."""
    index = offset = 0
    while True:
        header = stream.read(_HEADER.size)
        if not header:
            return index
        if len(header) < _HEADER.size:
            raise _corrupt(
                path, index, offset, f"has a truncated header ({len(header)} bytes)", where
            )
        length, length_crc = _HEADER.unpack(header)
        if length_crc != masked_crc32c(header[:8]):
            raise _corrupt(path, index, offset, "has a bad length checksum", where)
        body = length + _FOOTER_BYTES
        if verify:
            intact = _data_checksum_ok(stream, length)
        else:
            intact = True if _skip(stream, body, size) == body else None
        if intact is None:
            raise _corrupt(path, index, offset, f"is truncated (needs {length} data bytes)", where)
        if not intact:
            raise _corrupt(path, index, offset, "has a bad data checksum", where)
        index += 1
        offset += _HEADER.size + body


def check_framing(path: str, *, verify: bool = False) -> int:
    """Check ``path`` (local or ``gs://``, plain or gzip); return its record count.
    ``verify`` checks every record's data checksum too (it reads every byte)."""
    import tensorflow as tf

    try:
        size = tf.io.gfile.stat(path).length
        with tf.io.gfile.GFile(path, "rb") as raw:
            if raw.read(2) != _GZIP_MAGIC:
                raw.seek(0)
                return scan_frames(raw, path, size=size, verify=verify)
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                where = " of the decompressed stream"
                return scan_frames(stream, path, size=None, where=where, verify=verify)
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(
            f"{path} is not a readable gzip file ({err}); re-create it or remove it from the glob"
        ) from None
    except tf.errors.OpError as err:
        raise UserError(f"{path}: cannot be read ({str(err).splitlines()[0]})") from None


def locate_corruption(paths: tuple[str, ...], message: str) -> UserError:
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
