"""The console while a local Beam pipeline runs.

Beam's DirectRunner starts worker processes that inherit the launcher's standard error;
on Ctrl-C each of them, and the runner's threads, print tracebacks and log lines (about
12 KB). :func:`quiet_console` points file descriptor 2 at a log file for the duration of
the run, so that everything Beam prints goes there, and hands the command a stream on
the real terminal for its own progress and messages. On success the log is deleted; on
a failure its path is kept for the error message.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass


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
    saved = os.dup(2)
    fd, log_path = tempfile.mkstemp(prefix="albert-data-beam-", suffix=".log")
    real = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    os.dup2(fd, 2)
    os.close(fd)
    ok = False
    try:
        yield Console(real, log_path)
        ok = True
    except KeyboardInterrupt:
        _silence_beam_threads()
        raise
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        real.close()
        if ok:
            with contextlib.suppress(OSError):
                os.remove(log_path)


def _silence_beam_threads() -> None:
    """After Ctrl-C the runner's threads die one by one with tracebacks and log lines;
    the command is ending, so none of that reaches the console."""
    import logging
    import threading

    logging.disable(logging.CRITICAL)
    threading.excepthook = lambda args: None
