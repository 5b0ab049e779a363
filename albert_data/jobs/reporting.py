"""Progress of a long step on the console: a tqdm bar on a terminal, otherwise (a log
file, a pipe, ``--no-progress``) one line every ``interval`` seconds and one at the end.

Jobs use it for every step that can take more than a few seconds; it writes to stderr
so that a command's stdout stays what the command prints.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

LINE_EVERY = 15.0


def human(count: float, unit: str) -> str:
    """``1234567, "B"`` → ``1.2 MB``; other units are written as counts."""
    if unit != "B":
        return f"{int(count):,} {unit}"
    for prefix in ("", "k", "M", "G", "T"):
        if count < 1000 or prefix == "T":
            return f"{count:.0f} {prefix}B" if not prefix else f"{count:.1f} {prefix}B"
        count /= 1000
    return f"{count:.1f} TB"  # pragma: no cover - the loop returns


class StepProgress:
    """Progress of one step towards ``total`` (``None`` when unknown) in ``unit``.

    ``bar=True`` shows a tqdm bar when ``stream`` is a terminal; otherwise, and always
    with ``bar=False``, a line ``desc: done of total (pct), ETA, rate`` is written every
    ``interval`` seconds, and a last one when the step closes (a step shorter than
    ``interval`` stays silent).
    """

    def __init__(
        self,
        desc: str,
        *,
        total: int | None,
        unit: str = "B",
        bar: bool = True,
        stream: TextIO | None = None,
        interval: float = LINE_EVERY,
    ):
        self.desc = desc
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.done = 0
        self.start = time.monotonic()
        self._last_line = self.start
        self._bar = None
        if bar and _is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                unit=unit,
                unit_scale=unit == "B",
                desc=desc,
                file=self.stream,
                dynamic_ncols=True,
            )

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval:
            self._last_line = now
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The one-line state: done (of total, percent), rate, ETA."""
        elapsed = max((now or time.monotonic()) - self.start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.desc}: {human(self.done, self.unit)}"
        if self.total:
            share = min(self.done / self.total, 1.0)
            text += f" of {human(self.total, self.unit)} ({share:.0%})"
            if rate > 0 and self.done < self.total:
                text += f", ETA {_clock((self.total - self.done) / rate)}"
        return f"{text}, {human(rate, self.unit)}/s, {_clock(elapsed)} elapsed"

    def close(self, *, failed: bool = False) -> None:
        """End the bar, or write the last line (not when the step ``failed``: the
        error is then the one line to read)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif not failed and time.monotonic() - self.start >= self.interval:
            self._write(self.line())

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(failed=exc_type is not None)


class Heartbeat:
    """Progress of a step that cannot count its work (SentencePiece training, writing a
    SavedModel): on a terminal a tqdm counter of the elapsed time, otherwise (and with
    ``bar=False``) a line ``desc: still running, M:SS elapsed`` every ``interval``
    seconds. A thread keeps it moving while the step runs in this one."""

    def __init__(
        self,
        desc: str,
        *,
        bar: bool = True,
        stream: TextIO | None = None,
        interval: float = LINE_EVERY,
        tick: float = 1.0,
    ):
        import threading

        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.tick = tick
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._bar = None
        if bar and _is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(
                desc=desc, total=None, file=self.stream, bar_format="{desc}: {elapsed}"
            )
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        last = self.start
        while not self._stop.wait(self.tick):
            if self._bar is not None:
                self._bar.refresh()
            elif time.monotonic() - last >= self.interval:
                last = time.monotonic()
                elapsed = _clock(last - self.start)
                self.stream.write(f"{self.desc}: still running, {elapsed} elapsed\n")
                self.stream.flush()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._bar is not None:
            self._bar.close()


Say = Callable[[str], None]


def say(line: str, stream: TextIO | None = None) -> None:
    """Print one line to stderr (or ``stream``), flushed: a step starting or ending, a
    warning. The one way jobs talk to the console; every ``run()`` takes a ``say``."""
    out = stream if stream is not None else sys.stderr
    out.write(line + "\n")
    out.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
