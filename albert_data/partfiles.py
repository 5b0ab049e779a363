"""Intermediate shard parts: the pipeline's file-based shuffle.

Workers append (sort key, serialised record) pairs to part files per output shard;
one merge per shard then reads its parts, orders the records by key and writes the
final TFRecord file. Only the part paths go through the runner's shuffle, so memory
is bounded by one shard, never by the corpus, and the output does not depend on how
the runner bundled the work.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from albert_data.fileio import open_raw, open_write

_ENTRY = struct.Struct("<QI")


def write_part(path: str, items: Iterable[tuple[int, bytes]]) -> int:
    count = 0
    with open_write(path, compress=False) as fh:
        for key, data in items:
            fh.write(_ENTRY.pack(key, len(data)))
            fh.write(data)
            count += 1
    return count


def read_part(path: str) -> Iterator[tuple[int, bytes]]:
    with open_raw(path) as fh:
        buf = fh.read()
    pos, end = 0, len(buf)
    while pos < end:
        key, length = _ENTRY.unpack_from(buf, pos)
        pos += _ENTRY.size
        yield key, buf[pos : pos + length]
        pos += length
    if pos != end:
        raise ValueError(f"{path}: truncated part file")
