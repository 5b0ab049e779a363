"""The machine's limits met by a run — memory, threads, open files — as one line naming
the limit, its value and what to change (the CLI prints it; Beam's log is then of no use);
and the processors a run may use (:func:`usable_cpus`), which decide its default number
of workers and threads.

A limit is recognised on the exception itself, along its causes, or, for a worker
process whose exception reached the launcher as text, in that text.
"""

from __future__ import annotations

import errno
import math
import os
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


def usable_cpus(cgroup_root: str = "/sys/fs/cgroup", self_cgroup: str = "/proc/self/cgroup") -> int:
    """The processors this process can use, for its default number of workers: those it
    may run on (its CPU affinity: ``taskset``, a batch scheduler's cpuset) and no more than
    its cgroup's CPU quota allows (a container's ``--cpus``, a Kubernetes CPU limit),
    rounded up. ``os.cpu_count()`` counts the whole host: a job given 8 of a 64-core
    node's cores would otherwise start 64 workers, each with its own memory."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, self_cgroup)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def cgroup_cpu_quota(cgroup_root: str, self_cgroup: str) -> float | None:
    """The CPU quota of this process's cgroup and its ancestors, in processors (cgroup v2
    ``cpu.max``, v1 ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us``); None without one."""
    text = _read(self_cgroup)
    lines = text.splitlines() if text else []
    quotas = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # cgroup v2
            quotas += [_v2_quota(d) for d in _cgroup_dirs(cgroup_root, path)]
        elif "cpu" in controllers.split(","):  # cgroup v1
            mount = _v1_cpu_mount(cgroup_root, controllers)
            if mount is not None:
                quotas += [_v1_quota(d) for d in _cgroup_dirs(mount, path)]
    if not lines:  # no /proc: the root's own limit, if any
        mount = _v1_cpu_mount(cgroup_root, "cpu")
        quotas += [_v2_quota(cgroup_root), None if mount is None else _v1_quota(mount)]
    found = [q for q in quotas if q is not None]
    return min(found) if found else None


def _v1_cpu_mount(cgroup_root: str, controllers: str) -> str | None:
    """Where cgroup v1's cpu controller is mounted: the directory named as
    ``/proc/self/cgroup`` lists it (``cpu,cpuacct``), or any other directory of
    ``cgroup_root`` whose comma-separated name includes ``cpu`` (``cpu``,
    ``cpuacct,cpu``: distributions name and link them differently)."""
    named = os.path.join(cgroup_root, controllers)
    if os.path.isdir(named):
        return named
    try:
        names = sorted(os.listdir(cgroup_root))
    except OSError:
        return None
    paths = (os.path.join(cgroup_root, name) for name in names if "cpu" in name.split(","))
    return next((path for path in paths if os.path.isdir(path)), None)


def _cgroup_dirs(mount: str, path: str) -> list[str]:
    """The cgroup ``path`` under ``mount`` and its ancestors up to the mount, those that
    exist (inside a container the path is often the host's, and only the mount is seen)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if ".." in parts:  # a cgroup outside this namespace: only the mount's own is seen
        parts = []
    dirs = [os.path.join(mount, *parts[:n]) for n in range(len(parts), -1, -1)]
    return [d for d in dirs if os.path.isdir(d)]


def _read(path: str) -> str | None:
    """The text of ``path``, or None if it cannot be read; a cgroup's name may be any
    bytes, which are kept (``surrogateescape``) rather than stopping the command."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read().strip()
    except (OSError, ValueError):
        return None


def _v2_quota(directory: str) -> float | None:
    text = _read(os.path.join(directory, "cpu.max"))
    if not text:
        return None
    quota, _, period = text.partition(" ")
    try:
        return None if quota == "max" else int(quota) / int(period or 100_000)
    except (ValueError, ZeroDivisionError):
        return None


def _v1_quota(directory: str) -> float | None:
    quota = _read(os.path.join(directory, "cpu.cfs_quota_us"))
    period = _read(os.path.join(directory, "cpu.cfs_period_us"))
    try:
        if quota is None or int(quota) <= 0:
            return None
        return int(quota) / int(period or 100_000)
    except (ValueError, ZeroDivisionError):
        return None
