"""Ctrl-C and SIGTERM held while a run creates something it must remove on failure.

A run that creates a file and then enters the ``try`` that removes it leaves the file
behind if a signal lands between the two. :class:`HeldInterrupts` holds both signals
from its creation until :meth:`HeldInterrupts.release`, which restores their handlers
and re-raises one that came meanwhile; releasing as the first statement inside the
``try`` puts the signal where the clean-up sees it. Used for the temporary directory
and log of a Beam run (``beam_console``: a SIGTERM between ``mkdtemp`` and the ``try``
left an empty ``albert-data-run-*`` behind) and for the claim on an output
(``outputs``: one between the claim file's creation and the ``try`` left the claim file
and the directory made for it, in about 1 of 40 runs of ``spm-train`` signalled as soon
as its claim appeared; ``tests/test_trust_signals.py`` met both).
"""

from __future__ import annotations

import signal
import threading

# The SIGTERMs this process has turned into KeyboardInterrupt (the CLI's handler records
# them here).
TERMINATED: list[int] = []


def raise_if_terminated() -> None:
    """``KeyboardInterrupt`` if a SIGTERM came and the run went on regardless: its
    ``KeyboardInterrupt`` was swallowed by the code it landed in. A C extension can do
    that: one landing in numpy.random's import (Cython's registration of its classes
    with ``collections.abc``) let ``spm-train`` finish with exit 0 in about 1 run in 80
    signalled as it started. Called before outputs are published, so a terminated run
    never publishes them."""
    if TERMINATED:
        raise KeyboardInterrupt


class HeldInterrupts:
    """Ctrl-C and SIGTERM held from here until :meth:`release` (only in the main thread,
    which alone handles signals, and when ``enabled``; otherwise this does nothing)."""

    def __init__(self, *, enabled: bool = True):
        self.pending: list[int] = []
        self.saved: dict = {}
        if not enabled or threading.current_thread() is not threading.main_thread():
            return
        try:
            for signum in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(signum) is not None:  # None: not installed from Python
                    self.saved[signum] = signal.signal(signum, self._hold)
        except BaseException:  # a signal came while swapping: leave none held
            self.release()
            raise

    def _hold(self, signum, _frame) -> None:
        self.pending.append(signum)

    def release(self) -> None:
        """Restore the handlers; a signal held meanwhile is raised now, as it came."""
        saved, self.saved = self.saved, {}
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        if self.pending:
            signal.raise_signal(self.pending[0])
