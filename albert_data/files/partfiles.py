"""Intermediate shard parts: the pipeline's file-based shuffle.

Workers write (sort key, serialised record) pairs to part files per output shard, each
part sorted by key; one merge per shard then streams its parts through a k-way merge
(in several passes when there are many) and writes the final TFRecord file. Only part
paths go through the runner's shuffle, memory is bounded by the read buffers of the
parts being merged, never by the corpus or the shard, and the output does not depend on
how the runner bundled the work.
"""

from __future__ import annotations

import heapq
import struct
import uuid
from collections.abc import Iterable, Iterator

from albert_data.files.fileio import delete, open_raw, open_write

_ENTRY = struct.Struct("<QI")
MERGE_FAN_IN = 64  # parts open at once in one merge pass
RUN_BYTES = 64 * 1024 * 1024  # in-memory run size of external_sort
_ITEM_OVERHEAD = 64  # bytes per buffered item besides its data (tuple, int, bytes headers)


def write_part(path: str, items: Iterable[tuple[int, bytes]]) -> int:
    """Write ``items`` (already sorted by key) to a part file; returns the count."""
    count = 0
    with open_write(path, compress=False) as fh:
        for key, data in items:
            fh.write(_ENTRY.pack(key, len(data)))
            fh.write(data)
            count += 1
    return count


def read_part(path: str) -> Iterator[tuple[int, bytes]]:
    """Stream the (key, data) entries of a part file."""
    with open_raw(path) as fh:
        while True:
            header = fh.read(_ENTRY.size)
            if not header:
                return
            if len(header) != _ENTRY.size:
                raise ValueError(f"{path}: truncated part file")
            key, length = _ENTRY.unpack(header)
            data = fh.read(length)
            if len(data) != length:
                raise ValueError(f"{path}: truncated part file")
            yield key, data


def merged(paths: list[str], *, scratch_dir: str) -> Iterator[tuple[int, bytes]]:
    """All entries of the sorted parts ``paths`` in key order (ties: by data), streaming.

    With more than :data:`MERGE_FAN_IN` parts, groups are first merged into new parts
    under ``scratch_dir`` (deleted as they are consumed).
    """
    paths = sorted(paths)
    temporary: list[str] = []
    while len(paths) > MERGE_FAN_IN:
        next_round = []
        for i in range(0, len(paths), MERGE_FAN_IN):
            group = paths[i : i + MERGE_FAN_IN]
            out = f"{scratch_dir.rstrip('/')}/merge-{uuid.uuid4().hex}.part"
            write_part(out, heapq.merge(*(read_part(p) for p in group)))
            delete([p for p in group if p in temporary])
            temporary.append(out)
            next_round.append(out)
        paths = next_round
    try:
        yield from heapq.merge(*(read_part(p) for p in paths))
    finally:
        delete([p for p in paths if p in temporary])


def external_sort(
    items: Iterable[tuple[int, bytes]], *, scratch_dir: str, run_bytes: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """``items`` in (key, data) order, holding at most about ``run_bytes`` (default
    :data:`RUN_BYTES`) in memory: sorted runs beyond that are spilled to parts under
    ``scratch_dir`` and merged."""
    run_bytes = run_bytes or RUN_BYTES
    buffer: list[tuple[int, bytes]] = []
    size = 0
    runs: list[str] = []
    try:
        for item in items:
            buffer.append(item)
            size += len(item[1]) + _ITEM_OVERHEAD
            if size >= run_bytes:
                runs.append(_spill(buffer, scratch_dir))
                buffer, size = [], 0
        buffer.sort()
        if not runs:
            yield from buffer
            return
        if buffer:
            runs.append(_spill(buffer, scratch_dir))
            buffer = []
        yield from merged(runs, scratch_dir=scratch_dir)
    finally:
        delete(runs)


def _spill(buffer: list[tuple[int, bytes]], scratch_dir: str) -> str:
    buffer.sort()
    path = f"{scratch_dir.rstrip('/')}/run-{uuid.uuid4().hex}.part"
    write_part(path, buffer)
    return path
