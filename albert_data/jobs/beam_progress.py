"""Progress of a running Beam job.

Local runners: workers leave a small file per finished byte range in the job's progress
directory (``pipelines.progress``); a thread polls it and shows input bytes done out of
the total with an ETA — a tqdm bar on a terminal, a line every :data:`LINE_EVERY`
seconds otherwise (and with ``--no-progress``).
"""

from __future__ import annotations

import contextlib
import threading
import time

POLL_SECONDS = 0.5
LINE_EVERY = 30.0


def _bytes_done(spec) -> int:
    from pipelines.progress import progress_reports

    done = progress_reports(spec.progress_dir)
    return sum(spec.progress_total.get(name, 0) for name in done)


def _poll(spec, console, stop: threading.Event, use_bar: bool) -> None:
    from tqdm import tqdm

    total = sum(spec.progress_total.values())
    start = time.monotonic()
    last_line = start
    bar = None
    if use_bar:
        bar = tqdm(
            total=total, unit="B", unit_scale=True, desc=spec.description, file=console.stream
        )
    try:
        while not stop.wait(POLL_SECONDS):
            done = _bytes_done(spec)
            if bar is not None:
                bar.update(done - bar.n)
            elif time.monotonic() - last_line >= LINE_EVERY:
                last_line = time.monotonic()
                console.say(_line(spec.description, done, total, last_line - start))
        if bar is not None:
            bar.update(_bytes_done(spec) - bar.n)
    finally:
        if bar is not None:
            bar.close()


def _line(what: str, done: int, total: int, elapsed: float) -> str:
    share = done / total if total else 0.0
    eta = f", about {elapsed * (1 - share) / share:.0f}s left" if share > 0 else ""
    return f"{what}: {done / 1e6:,.1f} of {total / 1e6:,.1f} MB read ({100 * share:.0f}%) in {elapsed:.0f}s{eta}"


@contextlib.contextmanager
def watch_progress(settings, spec, *, console):
    """Show the progress of the run inside the block (local runs with a progress dir)."""
    if not (settings.local and spec.progress_dir):
        yield
        return
    stop = threading.Event()
    use_bar = settings.progress and console.is_terminal
    thread = threading.Thread(target=_poll, args=(spec, console, stop, use_bar), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
