"""Progress from local workers: each finished unit of work leaves a tiny file holding a
number in a progress directory; the launcher polls the directory and sums them
(DirectRunner metrics are only readable after the run). Readers report the input bytes
of each finished byte range (:func:`range_name`); shard writers report how many records
or documents they have written so far (:func:`written_name`)."""

from __future__ import annotations

import contextlib
import os


def range_name(file_index: int, byte_range) -> str:
    """The progress name of one byte range of input file ``file_index``."""
    return f"range-{file_index}-{byte_range.start}"


WRITTEN_PREFIX = "written-"
WRITTEN_EVERY = 20_000  # records or documents between two reports of one shard


def written_name(shard: int) -> str:
    """The progress name of what one output shard has written so far."""
    return f"{WRITTEN_PREFIX}{shard}"


def counting_writes(items, progress_dir: str | None, shard: int):
    """``items`` unchanged; with ``progress_dir``, how many have passed is reported under
    :func:`written_name` every :data:`WRITTEN_EVERY` and at the end."""
    count = 0
    for item in items:
        yield item
        count += 1
        if progress_dir and count % WRITTEN_EVERY == 0:
            report_progress(progress_dir, written_name(shard), count)
    if progress_dir:
        report_progress(progress_dir, written_name(shard), count)


def report_progress(progress_dir: str, name: str, amount: int) -> None:
    """Record that the unit ``name`` is done and accounted for ``amount`` (bytes, records).
    Written under a temporary name and renamed, so a reader never sees half a number."""
    final = os.path.join(progress_dir, name)
    tmp = f"{final}.tmp"
    try:
        os.makedirs(progress_dir, exist_ok=True)
        with open(tmp, "w") as fh:
            fh.write(str(int(amount)))
        os.replace(tmp, final)
    except OSError:
        # Progress is only shown: a full disk must be reported by the write of an
        # output (naming it), not by a progress note.
        with contextlib.suppress(OSError):
            os.remove(tmp)


def progress_reports(progress_dir: str) -> dict[str, int]:
    """The units reported done so far, with their amounts."""
    found = {}
    try:
        names = os.listdir(progress_dir)
    except FileNotFoundError:
        return found
    for name in names:
        if name.endswith(".tmp"):
            continue
        try:
            with open(os.path.join(progress_dir, name)) as fh:
                found[name] = int(fh.read() or 0)
        except (OSError, ValueError):
            continue  # being replaced: seen at the next poll
    return found
