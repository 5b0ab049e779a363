"""Opening, listing and atomically writing files: local paths, ``.gz``/``.bz2``, and any
file system Beam knows (``gs://``, ``s3://``, ``hdfs://``) through ``FileSystems``.

Beam is imported only when a path has a scheme, so local work stays light.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import glob
import gzip
import io
import os
import re
import shutil
import stat
import uuid
import zlib
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
        if not matched and not is_remote(pattern) and os.path.isdir(pattern):
            raise UserError(
                f"{what} {pattern!r} is a directory with no files in it (names starting with . are skipped); give the files or another directory"
            )
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

        try:
            results = FileSystems.match([pattern])[0].metadata_list
        except Exception:  # noqa: BLE001 - Beam raises many types for "no such path"
            results = []
        if not results and not _GLOB_CHARS.search(pattern):
            results = FileSystems.match([pattern.rstrip("/") + "/**"])[0].metadata_list
        return sorted(m.path for m in results)
    if os.path.isdir(pattern):
        return sorted(walk_files(pattern))
    if _GLOB_CHARS.search(pattern):
        return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if os.path.islink(pattern) and not os.path.exists(pattern):
        _unreadable(pattern, FileNotFoundError(errno.ENOENT, "dangling"))
    return [pattern] if os.path.isfile(pattern) else []


def walk_files(top: str) -> list[str]:
    """The files of a local input directory, by this traversal: names starting with
    ``.`` are skipped; symbolic links are followed, to files and to directories; a link
    leading back to a directory that contains it (a loop) is an error naming it, and a
    directory reached a second time through another link is read once; a dangling link,
    an entry that cannot be read (permissions) and anything other than a regular file or
    a directory (a FIFO, a socket, a device) are errors naming them."""
    out: list[str] = []
    seen: set[tuple[int, int]] = set()

    def visit(directory: str, ancestors: dict[tuple[int, int], str]) -> None:
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as err:
            _unreadable(directory, err, what="directory")
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                info = os.stat(entry.path)  # through links
            except OSError as err:
                _unreadable(entry.path, err)
            if stat.S_ISDIR(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in ancestors:
                    raise UserError(
                        f"{entry.path}: a symbolic link to {ancestors[key]}, a directory that contains it (a loop); remove the link or pass the files"
                    )
                if key not in seen:
                    seen.add(key)
                    visit(entry.path, {**ancestors, key: entry.path})
            elif stat.S_ISREG(info.st_mode):
                if not os.access(entry.path, os.R_OK):
                    _unreadable(entry.path, PermissionError(errno.EACCES, "denied"))
                out.append(entry.path)
            else:
                raise UserError(
                    f"{entry.path}: not a regular file or a directory (a FIFO, socket or device); move it out of {top} or pass the files"
                )

    info = os.stat(top)
    seen.add((info.st_dev, info.st_ino))
    visit(top, {(info.st_dev, info.st_ino): top})
    return out


def _unreadable(path: str, err: OSError, *, what: str = "") -> None:
    """Raise the one line for an input entry that cannot be read."""
    kind = f"{what} " if what else ""
    if err.errno == errno.ENOENT and os.path.islink(path):
        target = os.readlink(path)
        raise UserError(
            f"{path}: a dangling symbolic link (to {target}, which does not exist); remove it or fix its target"
        ) from None
    if err.errno == errno.ELOOP:
        raise UserError(
            f"{path}: a symbolic-link loop (the link leads back to itself); remove the link"
        ) from None
    if err.errno in (errno.EACCES, errno.EPERM):
        raise UserError(
            f"{path}: {kind}cannot be read (permission denied); fix its permissions, or leave it out of the inputs"
        ) from None
    if err.errno == errno.ENOENT:
        raise UserError(
            f"{path}: disappeared while the inputs were listed (deleted or moved); re-run when nothing moves the inputs"
        ) from None
    raise UserError(
        f"{path}: {kind}cannot be read ({(err.strerror or str(err)).lower()}); fix it, or leave it out of the inputs"
    ) from None


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
    except FileNotFoundError as err:
        raise UserError(
            f"{path}: no longer exists (deleted or moved after the run listed its inputs); re-run when nothing moves the inputs"
        ) from err
    except PermissionError as err:
        raise UserError(f"{path}: cannot be read (permission denied); fix its permissions") from err
    except IsADirectoryError as err:
        raise UserError(f"{path}: is a directory; pass the files inside it") from err


def open_read(path: str, *, wrap_raw=None) -> io.BufferedIOBase:
    """Open for binary reading, decompressing ``.gz`` and ``.bz2`` transparently.

    ``wrap_raw``, if given, wraps the raw (still compressed) stream first, e.g. to count
    the bytes read for a progress bar. A compressed file that is truncated, corrupt or
    not compressed at all raises :class:`UserError` naming it and the offsets known,
    from whichever read meets the fault (so every reader, Beam workers included, says
    the same one line).
    """
    raw = open_raw(path)
    if wrap_raw is not None:
        raw = wrap_raw(raw)
    kind = compression_of(path)
    if kind == "gzip":
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
    elif kind == "bz2":
        stream = bz2.BZ2File(raw, mode="rb")
    else:
        return raw
    return io.BufferedReader(_Decompressed(stream, raw, path=path, kind=kind), _READ_BUFFER)


class CountingReader(io.RawIOBase):
    """A raw binary stream that tells ``on_bytes`` how many (still compressed) bytes each
    read took from ``raw``: for progress over the bytes of a file (``open_read``'s
    ``wrap_raw``)."""

    def __init__(self, raw, on_bytes):
        super().__init__()
        self._raw = raw
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._on_bytes(len(data))
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def counted(on_bytes):
    """A ``wrap_raw`` for :func:`open_read` reporting the raw bytes read to ``on_bytes``."""
    return lambda raw: io.BufferedReader(CountingReader(raw, on_bytes))


_READ_BUFFER = 1 << 16
_KIND_NAMES = {"gzip": "gzip", "bz2": "bzip2"}
_SIGNATURES = {"gzip": "1f 8b", "bz2": "'BZh'"}


class _Decompressed(io.RawIOBase):
    """The decompressed bytes of ``stream``: turns a decompressor's failure into a
    one-line :class:`UserError` and closes the file it reads from (``GzipFile`` and
    ``BZ2File`` leave a passed-in file object open)."""

    def __init__(self, stream, raw, *, path: str, kind: str):
        super().__init__()
        self._stream = stream
        self._raw = raw
        self._path = path
        self._kind = kind
        self._done = 0  # decompressed bytes delivered so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            # read1: at most one read of the compressed file, so what came before a
            # fault is delivered and counted before the call that meets it.
            data = self._stream.read1(len(buffer))
        except (EOFError, zlib.error, OSError) as err:
            if isinstance(err, OSError) and err.errno is not None:
                raise  # a real I/O error of the device, not bad compressed data
            raise corrupt_compressed_error(
                self._path, kind=self._kind, err=err, decompressed=self._done
            ) from None
        count = len(data)
        buffer[:count] = data
        self._done += count
        return count

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._stream.close()
        finally:
            self._raw.close()
            super().close()


def corrupt_compressed_error(path: str, *, kind: str, err: BaseException, decompressed: int):
    """The one-line :class:`UserError` for a ``.gz``/``.bz2`` file that cannot be
    decompressed; ``decompressed`` is the number of bytes read from it before the fault."""
    name = _KIND_NAMES.get(kind, kind)
    text = str(err)
    fix = "re-download or re-create it"
    if isinstance(err, EOFError):
        ends = _size_or_none(path)
        at = f"the file ends at byte {ends}, " if ends is not None else ""
        return UserError(
            f"{path}: truncated {name} file ({at}{decompressed} bytes decompressed, end-of-stream marker missing); {fix}"
        )
    not_compressed = "Not a gzipped file" in text or "Invalid data stream" in text
    if not_compressed and decompressed == 0:
        head = _head_bytes(path)
        return UserError(
            f"{path}: not a {name} file (byte 0 starts {head}, not the {name} signature {_SIGNATURES[kind]}); if it is plain text rename it without .{_suffix(kind)}, else {fix}"
        )
    return UserError(
        f"{path}: corrupt {name} data after {decompressed} decompressed bytes ({text}); {fix}"
    )


def _suffix(kind: str) -> str:
    return "gz" if kind == "gzip" else kind


def _size_or_none(path: str) -> int | None:
    try:
        return file_size(path)
    except Exception:  # noqa: BLE001 - only for a message
        return None


def _head_bytes(path: str) -> str:
    try:
        with open_raw(path) as fh:
            head = fh.read(4)
    except Exception:  # noqa: BLE001 - only for a message
        return "with unknown bytes"
    return f"with {head!r}" if head else "empty"


def verify_complete(path: str) -> int:
    """Decompress a ``.gz``/``.bz2`` file to its end (discarding the bytes) and return its
    decompressed size; a truncated or corrupt file raises the reader's one-line
    :class:`UserError`. For readers that do not detect truncation themselves (Beam's
    ``ReadFromText`` stops silently at the end of a truncated gzip file)."""
    total = 0
    with open_read(path) as fh:
        while chunk := fh.read(1 << 20):
            total += len(chunk)
    return total


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


# Writers buffer this much: shards and run files are written a record (~2.5 kB) at a
# time, and a 1 MiB buffer makes that a third as costly as the default 8 KiB one.
WRITE_BUFFER = 1 << 20


@contextmanager
def open_write(path: str, *, compress: bool | None = None) -> Iterator[io.BufferedIOBase]:
    """Open ``path`` for binary writing (gzip when it ends in .gz or ``compress``).

    A full disk or a file-size limit met while writing raises the ``OSError`` with
    ``filename`` set to ``path`` (``write()`` leaves it empty), so the CLI can name it.
    """
    if compress is None:
        compress = compression_of(path) == "gzip"
    try:
        if is_remote(path):
            from apache_beam.io.filesystems import CompressionTypes, FileSystems

            raw = FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)
        else:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            raw = open(path, "wb", buffering=WRITE_BUFFER)
        try:
            if compress:
                # mtime=0 and no file name: identical input gives byte-identical output.
                with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
                    yield gz
            else:
                yield raw
        finally:
            raw.close()
    except OSError as err:
        if err.errno in SPACE_ERRNOS and err.filename is None:
            err.filename = path
        raise


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
    shutil.rmtree(path, ignore_errors=True)


def parent_dir(path: str) -> str:
    """The directory holding ``path`` (``.`` for a bare local name)."""
    head, _ = _split(path)
    return head.rstrip("/") or ("/" if head == "/" else ".")


MAX_SHARDS = 99_999
"""The most output shards a run writes: their names number them in five digits
(``NAME-00000-of-00064``), and a run holds every shard's name from the start."""


def check_num_shards(num_shards: int, flag: str = "--num-shards") -> None:
    """Refuse a number of output shards outside 1..:data:`MAX_SHARDS`, in one line."""
    if not 1 <= num_shards <= MAX_SHARDS:
        raise UserError(
            f"{flag} {num_shards} must be from 1 to {MAX_SHARDS:,} (shard names number them in five digits)"
        )


def shard_name(base: str, index: int, count: int) -> str:
    """``dir/name.txt`` → ``dir/name-00003-of-00008.txt`` (the extension stays last)."""
    head, tail = _split(base)
    stem, dot, ext = tail.partition(".")
    suffix = f"-{index:05d}-of-{count:05d}"
    return f"{head}{stem}{suffix}{dot}{ext}"


# --- output locations that cannot be written ------------------------------------------

SPACE_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if e is not None
)
ACCESS_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR})
_TEMP_NAME = re.compile(r"\.tmp-[0-9a-f]{12}-(?=[^/]*$)")
# A command's hidden work directory beside its outputs (albert_data.jobs.beam_job.WorkDir).
_WORK_DIR_NAME = re.compile(r"/\.albert-data-[a-z-]+-[0-9a-f]{12}/")
_PROBE_PREFIX = ".albert-data-probe-"


def public_name(path: str) -> str:
    """The final name of a file written under :func:`temp_name` (``path`` otherwise)."""
    return _WORK_DIR_NAME.sub("/", _TEMP_NAME.sub("", path))


def check_writable(path: str, *, what: str, directory: bool = False) -> None:
    """Refuse, before any work starts, an output that cannot be written.

    ``path`` is an output file (``directory=False``) or an output directory. Locally the
    nearest existing ancestor must be a directory on which a probe file can really be
    created and deleted (so a read-only file system, a missing permission — root
    ignores mode bits, not ``ro`` mounts — or a path under a regular file are caught);
    on a remote file system a probe object is created and deleted. ``what`` names the
    option in the message, e.g. ``"--output"``.
    """
    if is_remote(path):
        _probe_remote(path if directory else parent_dir(path), path, what)
        return
    check_name_length(path, what=what)
    if os.path.isdir(path) and not directory:
        raise UserError(f"{what} {path} is a directory; give a file path")
    if os.path.exists(path) and directory and not os.path.isdir(path):
        raise UserError(f"{what} {path} is a file; give a directory")
    start = os.path.abspath(path if directory else os.path.dirname(os.path.abspath(path)))
    ancestor = start
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise UserError(
            f"{what} {path}: {ancestor} is a file, not a directory; choose a path outside it"
        )
    probe = os.path.join(ancestor, f"{_PROBE_PREFIX}{uuid.uuid4().hex[:12]}")
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.remove(probe)
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        raise UserError(
            f"{what} {path}: cannot write in {ancestor} ({reason.lower()}); {_write_fix(err.errno)}"
        ) from None


def check_name_length(path: str, *, what: str) -> None:
    """Refuse a local path with a name longer than its file system allows (``NAME_MAX``,
    255 bytes on most) before any work, rather than at the end of a run."""
    if is_remote(path):
        return
    ancestor = os.path.abspath(path)
    while not os.path.isdir(ancestor):
        ancestor = os.path.dirname(ancestor)
    try:
        limit = os.pathconf(ancestor, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in path.split(os.sep):
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > limit:
            shown = part if len(part) <= 40 else f"{part[:20]}...{part[-12:]}"
            raise UserError(
                f"{what} {shown!r}: a file name of {size} bytes, over the {limit} this file system allows; choose a shorter name"
            )


def _write_fix(code: int | None) -> str:
    if code == errno.EROFS:
        return "choose a location on a writable file system"
    if code in SPACE_ERRNOS:
        return "free space there or choose another location"
    return "choose a location you can write, or fix its permissions"


def _access_fix(code: int | None) -> str:
    if code == errno.EISDIR:
        return "give a file path, not a directory"
    if code == errno.ENOTDIR:
        return "a part of the path is a file; choose a path outside it"
    return _write_fix(code)


def _probe_remote(directory: str, path: str, what: str) -> None:
    from apache_beam.io.filesystems import FileSystems

    probe = f"{directory.rstrip('/')}/{_PROBE_PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        FileSystems.create(probe).close()
        FileSystems.delete([probe])
    except Exception as err:  # noqa: BLE001 - every file system raises its own types
        first = str(err).strip().splitlines()[:1] or [type(err).__name__]
        raise UserError(
            f"{what} {path}: cannot write there ({first[0]}); check the bucket or path and your credentials"
        ) from None


def describe_os_error(err: OSError) -> str | None:
    """One line for an ``OSError`` met while writing an output (a full disk, a file-size
    limit, a read-only or forbidden location), or ``None`` for any other error."""
    target, where = _target(err.filename)
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        kind = "no space left on device" if err.errno == errno.ENOSPC else "disk quota exceeded"
        return f"{kind}{target}{_space_facts(where, getattr(err, 'bytes_written', None))}: free space and re-run"
    if err.errno == errno.EFBIG:
        shard = re.search(r"-\d{5}-of-\d{5}", target)
        smaller = ", or write smaller files (more shards)" if shard else ""
        return f"file too large{target} (a file-size limit such as ulimit -f): raise the limit{smaller}, and re-run"
    if err.errno in ACCESS_ERRNOS and where:
        what = target.removeprefix(" writing ")
        verb = "write" if what.startswith("the run's") else "open"
        return f"cannot {verb} {what} ({os.strerror(err.errno).lower()}): {_access_fix(err.errno)}, and re-run"
    return None


def _target(filename) -> tuple[str, str | None]:
    """(`` writing NAME``, the directory it is in) for the file an error names: an
    output under its final name; a scratch file of a run (the shuffle's run files,
    sort runs, inside a subdirectory of the hidden work directory) as the work of
    the run in the output's directory."""
    if not isinstance(filename, str) or not filename:
        return "", None
    work = _WORK_DIR_NAME.search(filename)
    if work and "/" in filename[work.end() :]:
        directory = filename[: work.start()] or "/"
        return f" writing the run's scratch files in {directory}/", directory
    name = public_name(filename)
    return f" writing {name}", parent_dir(name)


def _space_facts(directory: str | None, written: int | None) -> str:
    """`` (the run had written N bytes there; M bytes free there now)``, what is known."""
    facts = [f"the run had written {written:,} bytes there"] if written else []
    free = _free_bytes(directory)
    if free is not None:
        facts.append(f"{free:,} bytes free there{' now' if written else ''}")
    return f" ({'; '.join(facts)})" if facts else ""


def _free_bytes(directory: str | None) -> int | None:
    if not directory or is_remote(directory):
        return None
    import shutil

    directory = os.path.abspath(directory)
    while directory and not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None
