"""Opening, listing and atomically writing files: local paths, ``.gz``/``.bz2``, and any
file system Beam knows (``gs://``, ``s3://``, ``hdfs://``) through ``FileSystems``.

Beam is imported only when a path has a scheme, so local work stays light.
"""

from __future__ import annotations

import bz2
import contextlib
import glob
import gzip
import io
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from albert_data.errors import UserError

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_GLOB_CHARS = re.compile(r"[*?\[]")


def is_remote(path: str) -> bool:
    return bool(_SCHEME.match(path))


def compression_of(path: str) -> str | None:
    if path.endswith(".gz"):
        return "gzip"
    if path.endswith(".bz2"):
        return "bz2"
    return None


def expand_inputs(patterns: Iterable[str], *, what: str = "input") -> list[str]:
    """Files named by paths, globs and directories (recursively), sorted, de-duplicated.

    A pattern that matches nothing is an error naming it.
    """
    files: list[str] = []
    for pattern in patterns:
        matched = _expand_one(pattern)
        if not matched:
            raise UserError(
                f"{what} {pattern!r} does not exist or matches no file; check the path or quote the glob"
            )
        files.extend(matched)
    seen: set[str] = set()
    unique = []
    for f in files:
        if f not in seen:
            seen.add(f)
            unique.append(f)
    return unique


def _expand_one(pattern: str) -> list[str]:
    if is_remote(pattern):
        from apache_beam.io.filesystems import FileSystems

        spec = pattern if _GLOB_CHARS.search(pattern) else pattern
        try:
            results = FileSystems.match([spec])[0].metadata_list
        except Exception:  # noqa: BLE001 - Beam raises many types for "no such path"
            results = []
        if not results and not _GLOB_CHARS.search(pattern):
            results = FileSystems.match([pattern.rstrip("/") + "/**"])[0].metadata_list
        return sorted(m.path for m in results)
    if os.path.isdir(pattern):
        out = []
        for root, _dirs, names in os.walk(pattern):
            for name in names:
                if not name.startswith("."):
                    out.append(os.path.join(root, name))
        return sorted(out)
    if _GLOB_CHARS.search(pattern):
        return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return [pattern] if os.path.isfile(pattern) else []


def file_size(path: str) -> int:
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    return os.path.getsize(path)


def open_raw(path: str) -> io.BufferedIOBase:
    """Open for binary reading without decompression."""
    if is_remote(path):
        from apache_beam.io.filesystems import CompressionTypes, FileSystems

        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    try:
        return open(path, "rb")
    except PermissionError as err:
        raise UserError(f"{path}: cannot be read (permission denied); fix its permissions") from err
    except IsADirectoryError as err:
        raise UserError(f"{path}: is a directory; pass the files inside it") from err


def open_read(path: str, *, wrap_raw=None) -> io.BufferedIOBase:
    """Open for binary reading, decompressing ``.gz`` and ``.bz2`` transparently.

    ``wrap_raw``, if given, wraps the raw (still compressed) stream first, e.g. to count
    the bytes read for a progress bar.
    """
    raw = open_raw(path)
    if wrap_raw is not None:
        raw = wrap_raw(raw)
    kind = compression_of(path)
    if kind == "gzip":
        return _Owning(gzip.GzipFile(fileobj=raw, mode="rb"), raw)
    if kind == "bz2":
        return _Owning(bz2.BZ2File(raw, mode="rb"), raw)
    return raw


class _Owning(io.BufferedReader):
    """A decompressing reader that also closes the file it reads from (``GzipFile`` and
    ``BZ2File`` leave a passed-in file object open)."""

    def __init__(self, stream, raw):
        super().__init__(stream)
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def exists(path: str) -> bool:
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    return os.path.exists(path)


def makedirs(path: str) -> None:
    if is_remote(path):
        return  # object stores have no directories
    os.makedirs(path, exist_ok=True)


def temp_name(path: str) -> str:
    """A sibling name for writing before the final rename."""
    head, tail = _split(path)
    return f"{head}.tmp-{uuid.uuid4().hex[:12]}-{tail}"


def _split(path: str) -> tuple[str, str]:
    idx = path.rfind("/")
    return path[: idx + 1], path[idx + 1 :]


@contextmanager
def open_write(path: str, *, compress: bool | None = None) -> Iterator[io.BufferedIOBase]:
    """Open ``path`` for binary writing (gzip when it ends in .gz or ``compress``)."""
    if compress is None:
        compress = compression_of(path) == "gzip"
    if is_remote(path):
        from apache_beam.io.filesystems import CompressionTypes, FileSystems

        raw = FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)
    else:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        raw = open(path, "wb")
    try:
        if compress:
            # mtime=0 and no file name: identical input gives byte-identical output.
            with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
                yield gz
        else:
            yield raw
    finally:
        raw.close()


def rename(src: str, dst: str) -> None:
    if is_remote(src):
        from apache_beam.io.filesystems import FileSystems

        if FileSystems.exists(dst):
            FileSystems.delete([dst])
        FileSystems.rename([src], [dst])
    else:
        os.replace(src, dst)


def delete(paths: Iterable[str]) -> None:
    paths = [p for p in paths if p]
    remote = [p for p in paths if is_remote(p)]
    for p in paths:
        if not is_remote(p) and os.path.exists(p):
            os.remove(p)
    if remote:
        from apache_beam.io.filesystems import FileSystems

        FileSystems.delete([p for p in remote if FileSystems.exists(p)])


def remove_tree(path: str) -> None:
    """Delete a directory tree (a prefix on an object store); nothing there is fine."""
    if is_remote(path):
        from apache_beam.io.filesystems import FileSystems

        with contextlib.suppress(Exception):  # nothing there
            FileSystems.delete([path.rstrip("/") + "/"])
        return
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def parent_dir(path: str) -> str:
    """The directory holding ``path`` (``.`` for a bare local name)."""
    head, _ = _split(path)
    return head.rstrip("/") or ("/" if head == "/" else ".")


def shard_name(base: str, index: int, count: int) -> str:
    """``dir/name.txt`` → ``dir/name-00003-of-00008.txt`` (the extension stays last)."""
    head, tail = _split(base)
    stem, dot, ext = tail.partition(".")
    suffix = f"-{index:05d}-of-{count:05d}"
    return f"{head}{stem}{suffix}{dot}{ext}"
