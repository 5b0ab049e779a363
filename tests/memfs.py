"""A real Beam ``FileSystem`` for the scheme ``mem://``, held in this process's memory.

Tests register it by importing this module (Beam finds file systems among the
subclasses of ``FileSystem``) and run commands in-process on the in-memory runner, so
every path of a command goes through Beam's ``FileSystems``: an ``os.path`` call on a
remote path fails the test instead of a job.
"""

from __future__ import annotations

import io
import threading
import time

from apache_beam.io.filesystem import (
    BeamIOError,
    CompressedFile,
    CompressionTypes,
    FileMetadata,
    FileSystem,
    MatchResult,
)

_FILES: dict[str, bytes] = {}
_LOCK = threading.Lock()


class _Writer(io.BytesIO):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def close(self) -> None:
        if not self.closed:
            with _LOCK:
                _FILES[self.path] = self.getvalue()
        super().close()


def clear() -> None:
    with _LOCK:
        _FILES.clear()


def listing(prefix: str) -> dict[str, bytes]:
    with _LOCK:
        return {p: d for p, d in _FILES.items() if p.startswith(prefix)}


class MemoryFileSystem(FileSystem):
    """``mem://bucket/path`` objects in a dict; no directories (like an object store)."""

    @classmethod
    def scheme(cls):
        return "mem"

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/"), *(p.strip("/") for p in paths)])

    def split(self, path):
        head, _, tail = path.rstrip("/").rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        for path, data in listing(dir_or_prefix).items():
            yield FileMetadata(path, len(data), time.time())

    def create(
        self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO
    ):
        return self._wrap(_Writer(path), path, compression_type)

    def open(
        self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO
    ):
        with _LOCK:
            if path not in _FILES:
                raise BeamIOError(f"no such object {path}", {path: FileNotFoundError(path)})
            data = _FILES[path]
        return self._wrap(io.BytesIO(data), path, compression_type)

    @staticmethod
    def _wrap(raw, path, compression_type):
        kind = (
            CompressionTypes.detect_compression_type(path)
            if compression_type == CompressionTypes.AUTO
            else compression_type
        )
        if kind == CompressionTypes.UNCOMPRESSED:
            return raw
        return CompressedFile(raw, compression_type=kind)

    def copy(self, source_file_names, destination_file_names):
        with _LOCK:
            for src, dst in zip(source_file_names, destination_file_names):
                _FILES[dst] = _FILES[src]

    def rename(self, source_file_names, destination_file_names):
        with _LOCK:
            for src, dst in zip(source_file_names, destination_file_names):
                _FILES[dst] = _FILES.pop(src)

    def exists(self, path):
        with _LOCK:
            return path in _FILES or any(p.startswith(path.rstrip("/") + "/") for p in _FILES)

    def size(self, path):
        with _LOCK:
            return len(_FILES[path])

    def last_updated(self, path):
        return time.time()

    def checksum(self, path):
        with _LOCK:
            return str(hash(_FILES[path]))

    def metadata(self, path):
        with _LOCK:
            return FileMetadata(path, len(_FILES[path]), time.time())

    def delete(self, paths):
        with _LOCK:
            for path in paths:
                if path.endswith("/"):
                    for p in [p for p in _FILES if p.startswith(path)]:
                        del _FILES[p]
                elif path in _FILES:
                    del _FILES[path]
                else:
                    raise BeamIOError(f"no such object {path}", {path: FileNotFoundError(path)})


__all__ = ["MatchResult", "MemoryFileSystem", "clear", "listing"]
