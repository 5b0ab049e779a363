"""Checking every record of many TFRecord files on every core: the work of ``inspect``.

A plain file is cut into byte ranges; a worker process reads its range, finds the first
frame that starts in it (a frame whose length and data checksums hold), reads every
frame that starts before the range's end, and checks them in batches
(:mod:`albert_data.records.batch`). Where one range's last frame ends must be where the
next range's first frame starts; if it is not (a damaged frame, or a false start inside
a record's data, which the two checksums make rare), the whole file is read again from
its start, in order. A gzip file, which cannot be entered in the middle, is one range.
The results come back in file and range order, so a problem is named by its file and
the index of its record in the file, the first problems are the first in the files, and
the first broken frame stops the run as it does when the files are read one by one.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from albert_data.errors import UserError
from albert_data.files import fileio
from albert_data.files.tfrecord import (
    CorruptRecordError,
    FrameError,
    find_frame,
    frame_blocks,
    read_records,
    record_compression,
)
from albert_data.records.batch import Ids, check_batch
from albert_data.records.schema import (
    FLOAT_FEATURES_P,
    INT_FEATURES_L,
    INT_FEATURES_P,
    RecordShape,
    parse,
)
from albert_data.records.validate import RecordStats

MAX_PROBLEMS_SHOWN = 10
BATCH_RECORDS = 512  # records checked together (and between two progress reports)
RANGE_BYTES = 32 << 20  # bytes of a plain file one worker task reads
PARALLEL_FROM_BYTES = 16 << 20  # less than this in all is checked in this process
_GZIP_MAGIC = b"\x1f\x8b"
_SYNC_WINDOW = 1 << 20  # bytes searched at a range's start for its first frame


@dataclass(frozen=True)
class Task:
    """One worker's share: ``[start, stop)`` of ``path`` (``stop`` None: to the end),
    at most ``limit`` records."""

    path: str
    start: int = 0
    stop: int | None = None
    limit: int | None = None


@dataclass
class RangeResult:
    """What a worker found in its range (record indices counted from its first frame)."""

    task: Task
    first: int | None = None  # stream offset of the first frame read (None: none starts here)
    end: int = 0  # stream offset after the last frame read
    records: int = 0
    stats: RecordStats = field(default_factory=RecordStats)
    invalid: int = 0
    problem_count: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    examples: list[tuple[int, dict]] = field(default_factory=list)
    broken: FrameError | None = None
    unreadable: str | None = None  # a file that cannot be read or decompressed
    bytes_read: int = 0


@dataclass
class CheckSettings:
    """What a worker needs besides its task."""

    shape: RecordShape
    ids: Ids
    show: int = 0


def check_range(
    task: Task, settings: CheckSettings, progress: Callable[[int], None] | None = None
) -> RangeResult:
    """Check the records of ``task``; ``progress`` is called with bytes of the file read
    (of ``[start, stop)``, so that the ranges of a file add up to its size)."""
    result = RangeResult(task=task)
    try:
        raw = fileio.open_raw(task.path)
    except OSError as err:
        result.unreadable = f"{task.path}: cannot be read ({err.strerror or err}); check the path"
        return result
    stop = task.stop if task.stop is not None else fileio.file_size(task.path)
    reported = task.start

    def advance(here: int) -> None:
        nonlocal reported
        here = min(here, stop)
        if here > reported:
            if progress is not None:
                progress(here - reported)
            reported = here

    compressed = False
    with raw:
        try:
            stream, where, offset = _open_range(raw, task)
            compressed = bool(where)
            result.first = offset
            result.end = task.start if offset is None else offset
            blocks = () if offset is None else frame_blocks(
                stream, name=task.path, where=where, offset=offset, stop=task.stop,
                limit=task.limit,
            )  # fmt: skip
            for block, starts, lengths, at in blocks:
                buf = np.frombuffer(block, dtype=np.uint8)
                for k in range(0, starts.size, BATCH_RECORDS):
                    chunk = slice(k, k + BATCH_RECORDS)
                    _check(result, buf, starts[chunk], lengths[chunk], settings)
                    last = min(k + BATCH_RECORDS, starts.size) - 1
                    result.end = at + int(starts[last] + lengths[last]) + 4
                    advance(raw.tell() if compressed else result.end)
        except FrameError as err:  # err.index counts from the task's first frame
            result.broken = err
        except (OSError, EOFError, zlib.error) as err:
            result.unreadable = (
                f"{task.path}: not a readable gzip file ({err}); re-create it or pass the"
                " uncompressed file"
                if compressed
                else f"{task.path}: cannot be read ({getattr(err, 'strerror', None) or err})"
            )
    if task.limit is None or result.records < task.limit:
        advance(stop)  # the rest of the range: a sync gap, a last frame's footer
    result.bytes_read = reported - task.start
    return result


def _open_range(raw, task: Task):
    """(stream, where, stream offset of the first frame to read or None); a file read
    from its start may be gzip-compressed (told by its first bytes)."""
    if task.start == 0:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if compressed:
            return gzip.GzipFile(fileobj=raw, mode="rb"), " of the decompressed stream", 0
        return raw, "", 0
    raw.seek(task.start)
    window = task.start
    while task.stop is None or window < task.stop:
        head = raw.read(_SYNC_WINDOW + 64 * 1024)
        found = find_frame(head)
        if found is not None:
            offset = window + found
            if task.stop is not None and offset >= task.stop:
                return raw, "", None
            raw.seek(offset)
            return raw, "", offset
        if len(head) <= _SYNC_WINDOW:
            return raw, "", None
        window += _SYNC_WINDOW
        raw.seek(window)
    return raw, "", None


def _check(result: RangeResult, buf, starts, lengths, settings: CheckSettings) -> None:
    want = max(0, settings.show - len(result.examples))
    batch = check_batch(buf, starts, lengths, shape=settings.shape, ids=settings.ids, keep=want)
    base = result.records
    result.records += int(starts.size)
    result.stats.merge(batch.stats)
    for i, messages in batch.problems:
        result.invalid += 1
        result.problem_count += len(messages)
        for message in messages:
            if len(result.problems) < MAX_PROBLEMS_SHOWN:
                result.problems.append((base + i, message))
    for i in sorted(batch.features):
        result.examples.append((base + i, batch.features[i]))


# --- planning and running ---------------------------------------------------------------


def first_shape(files: list[str]) -> RecordShape | None:
    """The shape of the first record of ``files`` that is an Example (None: there is none
    before the first unreadable frame of each file)."""
    for path in files:
        try:
            for data in read_records(path):
                try:
                    features = parse(data)
                except (ValueError, UnicodeDecodeError):
                    continue
                return RecordShape(
                    _size(features, INT_FEATURES_L),
                    _size(features, (*INT_FEATURES_P, *FLOAT_FEATURES_P)),
                )
        except CorruptRecordError:
            continue
    return None


def _size(features: dict, names: tuple[str, ...]) -> int:
    """The length of the first of ``names`` present (they all have the same length)."""
    return next((int(np.asarray(features[n]).size) for n in names if n in features), 0)


def plan(
    files: list[str],
    *,
    max_records: int | None = None,
    range_bytes: int = RANGE_BYTES,
) -> list[list[Task]]:
    """Per file, its tasks: byte ranges of a plain file larger than ``range_bytes``, else
    the whole file (a gzip file, which cannot be entered in the middle, is told by its
    first bytes only when it is that large); with ``max_records``, the first records of
    each file (``max_records`` spread evenly)."""
    out = []
    for k, path in enumerate(files):
        if max_records is not None:
            share = max_records // len(files) + (k < max_records % len(files))
            out.append([Task(path, limit=share)])
            continue
        size = fileio.file_size(path)
        if size <= range_bytes or _is_gzip(path):
            out.append([Task(path)])
            continue
        cuts = list(range(0, size, range_bytes)) + [size]
        out.append([Task(path, a, b) for a, b in zip(cuts, cuts[1:])])
    return out


def _is_gzip(path: str) -> bool:
    try:
        return record_compression(path) == "GZIP"
    except OSError:
        return False  # the worker names the file it cannot read


def run_tasks(
    planned: list[list[Task]],
    settings: CheckSettings,
    *,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, list[RangeResult]]]:
    """(path, its range results in order) for each file, in order; a file whose ranges
    do not join up is read again from its start, in this process."""
    tasks = [t for file_tasks in planned for t in file_tasks]
    if workers <= 1 or len(tasks) <= 1:
        for file_tasks in planned:
            results = [check_range(t, settings, progress) for t in file_tasks]
            yield file_tasks[0].path, results
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(
        min(workers, len(tasks)),
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
        initargs=(settings,),
    )
    try:
        results = pool.map(_worker_check, tasks)
        for file_tasks in planned:
            found = []
            for _ in file_tasks:
                found.append(next(results))
                if progress is not None:
                    progress(found[-1].bytes_read)
            if not _joined(found):
                again = Task(file_tasks[0].path)
                found = [check_range(again, settings)]
            yield file_tasks[0].path, found
    except BrokenProcessPool:
        raise UserError(
            "inspect: a worker process died (out of memory, or killed); run again with"
            " fewer --workers"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_SETTINGS: CheckSettings | None = None


def _init_worker(settings: CheckSettings) -> None:
    import signal

    global _SETTINGS
    _SETTINGS = settings
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def _worker_check(task: Task) -> RangeResult:
    return check_range(task, _SETTINGS)


def _joined(results: list[RangeResult]) -> bool:
    """Whether each range starts where the frames read before it end."""
    expected = 0
    for r in results:
        if r.broken is not None or r.unreadable is not None:
            return r.first is None or r.first == expected
        if r.first is None:
            if r.task.stop is not None and expected < r.task.stop:
                return False
            continue
        if r.first != expected:
            return False
        expected = r.end
    return True
