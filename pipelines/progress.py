"""Progress from local workers: each finished unit of work leaves a tiny file holding a
number in a progress directory; the launcher polls the directory and sums them
(DirectRunner metrics are only readable after the run)."""

from __future__ import annotations

import contextlib
import os


def range_name(file_index: int, byte_range) -> str:
    """The progress name of one byte range of input file ``file_index``."""
    return f"range-{file_index}-{byte_range.start}"


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
