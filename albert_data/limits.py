"""The machine's limits met by a run — memory, threads, open files — as one line naming
the limit, its value and what to change (the CLI prints it; Beam's log is then of no use).

A limit is recognised on the exception itself, along its causes, or, for a worker
process whose exception reached the launcher as text, in that text.
"""

from __future__ import annotations

import errno
import resource

_MEMORY_TEXT = (
    "MemoryError",
    "Cannot allocate memory",
    "std::bad_alloc",
    "failed to map segment",  # a library that cannot be loaded for want of address space
)
_FILES_TEXT = ("Too many open files",)


def describe(err: BaseException) -> str | None:
    """One line for ``err`` if it is a machine limit, else ``None``."""
    seen = 0
    current: BaseException | None = err
    while current is not None and seen < 20:
        if isinstance(current, MemoryError):
            return memory_line()
        if isinstance(current, OSError) and current.errno in (errno.EMFILE, errno.ENFILE):
            return files_line(current.errno)
        if isinstance(current, OSError) and current.errno == errno.ENOMEM:
            return memory_line()
        if isinstance(current, RuntimeError) and "can't start new thread" in str(current):
            return threads_line()
        current, seen = current.__cause__ or current.__context__, seen + 1
    text = str(err)
    if any(marker in text for marker in _FILES_TEXT):
        return files_line(errno.EMFILE)
    if any(marker in text for marker in _MEMORY_TEXT):
        return memory_line()
    if "can't start new thread" in text:
        return threads_line()
    return None


def _limit(which: int) -> int | None:
    try:
        soft, _hard = resource.getrlimit(which)
    except (OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def memory_line() -> str:
    limit = _limit(resource.RLIMIT_AS)
    if limit is not None:
        where = f"the address-space limit (ulimit -v) is {limit / 2**20:,.0f} MB"
        fix = "raise it (ulimit -v unlimited)"
    else:
        where = "the machine's (or the container's) memory is used up"
        fix = "free memory or give the run more"
    return f"out of memory: {where}; {fix}, or use fewer --num-workers, and re-run"


def threads_line() -> str:
    nproc = _limit(resource.RLIMIT_NPROC)
    memory = _limit(resource.RLIMIT_AS)
    limits = []
    if nproc is not None:
        limits.append(f"the limit on this user's processes and threads (ulimit -u) is {nproc:,}")
    if memory is not None:
        limits.append(f"the address-space limit (ulimit -v) is {memory / 2**20:,.0f} MB")
    where = " and ".join(limits) or "the system's limit on threads (kernel.threads-max)"
    return f"cannot start another thread: {where}; raise it, or use fewer --num-workers, and re-run"


def files_line(code: int) -> str:
    if code == errno.ENFILE:
        return "too many open files on this machine (the system's table, fs.file-max, is full); close other programs or raise it, and re-run"
    limit = _limit(resource.RLIMIT_NOFILE)
    value = f" is {limit:,}" if limit is not None else ""
    return f"too many open files: the limit on open files (ulimit -n){value}; raise it (e.g. ulimit -n 4096) and re-run"
