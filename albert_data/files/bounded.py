"""Many output files written at once with a bounded number of them open.

``split-sentences`` writes every document to the shard its content hash picks, so every
shard is written to from start to end. With more shards than open files allowed
(``ulimit -n``), :class:`BoundedWriters` keeps at most ``max_open`` of them open,
reopening a shard in append mode when it is written to again; a gzip shard is then
written plain first and compressed whole at the end (deflate does not depend on how
its input was cut into writes, so the bytes are those of a direct gzip writer).
"""

from __future__ import annotations

import contextlib
import os
import resource
from collections import OrderedDict
from collections.abc import Sequence

from albert_data.files.fileio import WRITE_BUFFER, is_remote, open_write

# Files this process keeps for itself (interpreter, libraries, logs) below ``ulimit -n``.
RESERVED_FILES = 32


def open_file_budget(limit: int | None = None) -> int:
    """How many output files to keep open at once: half of what ``ulimit -n`` leaves
    after :data:`RESERVED_FILES`, at least 4 and at most 512."""
    if limit is None:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        limit = 1 << 20 if soft == resource.RLIM_INFINITY else soft
    return max(4, min(512, (limit - RESERVED_FILES) // 2))


class _Shard:
    """One output file of :class:`BoundedWriters`, opened when written to."""

    def __init__(self, owner: BoundedWriters, index: int):
        self._owner, self._index = owner, index

    def write(self, data: bytes) -> int:
        return self._owner._handle(self._index).write(data)


class BoundedWriters:
    """A context manager giving one writable stream per path in ``paths`` (gzip when
    ``compress``), with at most ``max_open`` files open at any time. The files are
    complete when the block ends without an error."""

    def __init__(self, paths: Sequence[str], *, compress: bool, max_open: int | None = None):
        self.paths = list(paths)
        self.compress = compress
        self.max_open = max_open if max_open is not None else open_file_budget()
        self.bounded = len(self.paths) > self.max_open and not any(map(is_remote, self.paths))
        self._stack = contextlib.ExitStack()
        self._open: OrderedDict[int, object] = OrderedDict()

    def _part(self, index: int) -> str:
        return self.paths[index] + ".part" if self.compress else self.paths[index]

    def __enter__(self) -> list:
        if not self.bounded:
            return [
                self._stack.enter_context(open_write(p, compress=self.compress)) for p in self.paths
            ]
        for index in range(len(self.paths)):  # every shard exists, written to or not
            with open(self._part(index), "wb"):
                pass
        return [_Shard(self, i) for i in range(len(self.paths))]

    def _handle(self, index: int):
        handle = self._open.get(index)
        if handle is not None:
            self._open.move_to_end(index)
            return handle
        if len(self._open) >= self.max_open:
            _, oldest = self._open.popitem(last=False)
            oldest.close()
        handle = open(self._part(index), "ab", buffering=WRITE_BUFFER)
        self._open[index] = handle
        return handle

    def __exit__(self, kind, err, tb) -> None:
        if not self.bounded:
            self._stack.__exit__(kind, err, tb)
            return
        try:
            while self._open:
                self._open.popitem()[1].close()
        finally:
            if kind is None and self.compress:
                for index, path in enumerate(self.paths):
                    _compress(self._part(index), path)
            elif self.compress:
                for index in range(len(self.paths)):
                    with contextlib.suppress(OSError):
                        os.remove(self._part(index))


def _compress(part: str, path: str) -> None:
    with open(part, "rb") as src, open_write(path, compress=True) as dst:
        while chunk := src.read(WRITE_BUFFER):
            dst.write(chunk)
    os.remove(part)
