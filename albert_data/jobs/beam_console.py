"""The console while a local Beam pipeline runs.

Beam's DirectRunner starts worker processes that inherit the launcher's standard error;
on Ctrl-C each of them, and the runner's threads, print tracebacks and log lines (about
12 KB). :func:`quiet_console` points file descriptor 2 at a log file for the duration of
the run, so that everything Beam prints goes there, and hands the command a stream on
the real terminal for its own progress and messages. The log is deleted at the end,
unless the run failed in a way the CLI cannot tell in one line: then its path is printed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from dataclasses import dataclass

from albert_data.jobs.interrupts import HeldInterrupts


@dataclass
class Console:
    """Where the command writes while Beam's output is diverted."""

    stream: object  # a text stream on the real standard error
    log_path: str | None = None

    def say(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    @property
    def is_terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())


@contextlib.contextmanager
def quiet_console(*, enabled: bool):
    """Divert fd 2 to a log file while the block runs (``enabled``: local runners)."""
    if not enabled:
        yield Console(sys.stderr)
        return
    sys.stderr.flush()
    held = HeldInterrupts()
    try:
        saved = os.dup(2)
        fd, log_path = tempfile.mkstemp(prefix="albert-data-beam-", suffix=".log")
        real = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
        os.dup2(fd, 2)
        os.close(fd)
    except BaseException:
        held.release()
        raise
    keep = False
    try:
        held.release()
        yield Console(real, log_path)
    except KeyboardInterrupt:
        _silence_beam_threads()
        raise
    except BaseException as err:
        keep = not _told_in_one_line(err)
        if keep:
            real.write(f"the runner's log of this run: {log_path}\n")
        raise
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        real.close()
        if not keep:
            with contextlib.suppress(OSError):
                os.remove(log_path)


def _told_in_one_line(err: BaseException) -> bool:
    """Whether the CLI reports ``err`` in one line (then Beam's log is of no use and is
    deleted; an unexpected failure keeps it, and its path is printed)."""
    from albert_data import limits
    from albert_data.errors import UserError
    from albert_data.files.fileio import describe_os_error

    if isinstance(err, UserError | SystemExit):
        return True
    if limits.describe(err) is not None:
        return True
    return isinstance(err, OSError) and describe_os_error(err) is not None


def _silence_beam_threads() -> None:
    """After Ctrl-C the runner's threads die one by one with tracebacks and log lines;
    the command is ending, so none of that reaches the console."""
    import logging

    logging.disable(logging.CRITICAL)
    threading.excepthook = lambda args: None


@contextlib.contextmanager
def private_temp_dir():
    """Give the run (and the worker processes it starts) a temporary root of its own,
    removed at the end: Beam's local runners leave empty ``beam-temp*``, ``tmp*`` and
    ``beam-requirements-cache`` directories in the system's temporary directory on every
    run otherwise."""
    import shutil

    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    held = HeldInterrupts()
    try:
        root = tempfile.mkdtemp(prefix="albert-data-run-")
    except BaseException:
        held.release()
        raise
    try:
        os.environ["TMPDIR"] = root
        tempfile.tempdir = root
        held.release()
        yield root
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(root, ignore_errors=True)
