"""Sorted run files: the local, bounded-memory shuffle of the pipelines.

A worker buffers (shard, sort key, data) entries and, at each flush, writes *one* run
file holding every shard's entries, sorted by (shard, key, data), and reports where each
shard's segment lies in it (:class:`Segment`). The number of run files is the number of
flushes, whatever the number of output shards. One merge per shard then streams its
segments through a k-way merge and writes the final file; past a fan-in limit
(:func:`merge_fan_in`) the segments are first merged in groups into new parts, in as
many passes as needed, so a merge never holds more than that many sources open. Only segment descriptions go through
the runner's shuffle; memory is bounded by the read buffers of the segments being
merged, never by the corpus or the shard, and the output does not depend on how the
runner bundled the work.
"""

from __future__ import annotations

import heapq
import struct
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from albert_data.files.fileio import delete, exists, is_remote, open_raw, open_write

_ENTRY = struct.Struct("<QI")
MERGE_FAN_IN = 256  # local parts open at once in one merge pass (a 4-8 KB buffer each)
REMOTE_MERGE_FAN_IN = 8  # remote ones (Beam's GCS reader buffers 16 MB per object)
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


@dataclass(frozen=True)
class Segment:
    """One shard's entries in a run file: ``length`` bytes from ``offset``."""

    path: str
    offset: int
    length: int


def write_run(path: str, entries: list[tuple[int, int, bytes]]) -> dict[int, Segment]:
    """Sort ``entries`` (shard, key, data) in place, write them to one run file, return
    each shard's :class:`Segment`."""
    entries.sort()
    segments: dict[int, Segment] = {}
    offset = 0
    with open_write(path, compress=False) as fh:
        start, current = 0, None
        for shard, key, data in entries:
            if shard != current:
                if current is not None:
                    segments[current] = Segment(path, start, offset - start)
                start, current = offset, shard
            fh.write(_ENTRY.pack(key, len(data)))
            fh.write(data)
            offset += _ENTRY.size + len(data)
        if current is not None:
            segments[current] = Segment(path, start, offset - start)
    return segments


def merged_segments(segments: list[Segment], *, scratch_dir: str) -> Iterator[tuple[int, bytes]]:
    """All entries of ``segments`` (each sorted) in (key, data) order, streaming."""
    sources = sorted(segments, key=lambda s: (s.path, s.offset))
    return _merge_sources([(s.path, s.offset, s.length) for s in sources], scratch_dir)


def read_part(path: str, *, offset: int = 0, length: int = -1) -> Iterator[tuple[int, bytes]]:
    """Stream the (key, data) entries of a part file, or of ``length`` bytes of it from
    ``offset`` (-1: to the end)."""
    with open_raw(path) as fh:
        if offset:
            fh.seek(offset)
        left = length
        while left:
            header = fh.read(_ENTRY.size)
            if not header and left < 0:
                return
            if len(header) != _ENTRY.size:
                raise ValueError(f"{path}: truncated part file")
            key, size = _ENTRY.unpack(header)
            data = fh.read(size)
            if len(data) != size:
                raise ValueError(f"{path}: truncated part file")
            if left > 0:
                left -= _ENTRY.size + size
            yield key, data


def merged(paths: list[str], *, scratch_dir: str) -> Iterator[tuple[int, bytes]]:
    """All entries of the sorted parts ``paths`` in key order (ties: by data), streaming.

    With more than :data:`MERGE_FAN_IN` parts, groups are first merged into new parts
    under ``scratch_dir`` (deleted as they are consumed).
    """
    return _merge_sources([(p, 0, -1) for p in sorted(paths)], scratch_dir)


def merge_fan_in(paths: Iterable[str]) -> int:
    """How many sources one merge pass may open at once: :data:`MERGE_FAN_IN` for local
    files, :data:`REMOTE_MERGE_FAN_IN` when any is remote (Beam's readers buffer each
    open object, 16 MB on GCS)."""
    return REMOTE_MERGE_FAN_IN if any(is_remote(p) for p in paths) else MERGE_FAN_IN


def _merge_sources(sources: list[tuple[str, int, int]], scratch_dir: str):
    """k-way merge of (path, offset, length) sources, never more than
    :func:`merge_fan_in` open at once: beyond that, groups are merged into new parts
    under ``scratch_dir`` first, in as many passes as needed. Every part this merge
    writes is deleted once consumed, and on failure or when the caller stops early."""
    fan_in = max(2, merge_fan_in(p for p, _, _ in sources))
    temporary: set[str] = set()
    try:
        while len(sources) > fan_in:
            next_round = []
            for i in range(0, len(sources), fan_in):
                group = sources[i : i + fan_in]
                if len(group) == 1:  # nothing to merge it with in this pass
                    next_round.append(group[0])
                    continue
                out = f"{scratch_dir.rstrip('/')}/merge-{uuid.uuid4().hex}.part"
                temporary.add(out)
                write_part(out, _merge_open(group))
                consumed = [p for p, _, _ in group if p in temporary]
                delete(consumed)
                temporary.difference_update(consumed)
                next_round.append((out, 0, -1))
            sources = next_round
        yield from _merge_open(sources)
    finally:
        delete(sorted(p for p in temporary if exists(p)))


def _merge_open(sources: list[tuple[str, int, int]]) -> Iterator[tuple[int, bytes]]:
    return heapq.merge(*(read_part(p, offset=o, length=n) for p, o, n in sources))


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
