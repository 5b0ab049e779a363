"""Progress of a running Beam job.

Local runners: workers leave a small file per finished byte range, and per shard the
records or documents written so far, in the job's progress directory
(``pipelines.progress``); a thread polls it and shows input bytes done out of the total
with an ETA and what has been written — a tqdm bar on a terminal, a line every
:data:`LINE_EVERY` seconds otherwise (and with ``--no-progress``).
"""

from __future__ import annotations

import contextlib
import threading
import time

POLL_SECONDS = 0.5
LINE_EVERY = 30.0


def _state(spec) -> tuple[int, int]:
    """(input bytes read, records or documents written) reported so far."""
    from pipelines.progress import WRITTEN_PREFIX, progress_reports

    done = progress_reports(spec.progress_dir)
    read = sum(spec.progress_total.get(name, 0) for name in done)
    written = sum(n for name, n in done.items() if name.startswith(WRITTEN_PREFIX))
    return read, written


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
            read, written = _state(spec)
            if bar is not None:
                _draw(bar, spec, read, written)
            elif time.monotonic() - last_line >= LINE_EVERY:
                last_line = time.monotonic()
                console.say(_line(spec, read, written, total, last_line - start))
        if bar is not None:
            _draw(bar, spec, *_state(spec))
    finally:
        if bar is not None:
            bar.close()


def _draw(bar, spec, read: int, written: int) -> None:
    bar.update(read - bar.n)
    if written:
        bar.set_postfix_str(f"{written:,} {spec.written_unit} written", refresh=False)
    bar.refresh()  # the elapsed time moves on while shards are merged and written


def _line(spec, read: int, written: int, total: int, elapsed: float) -> str:
    share = read / total if total else 0.0
    eta = f", about {elapsed * (1 - share) / share:.0f}s left" if 0 < share < 1 else ""
    text = f"{spec.description}: {read / 1e6:,.1f} of {total / 1e6:,.1f} MB read ({100 * share:.0f}%) in {elapsed:.0f}s{eta}"
    if written:
        text += f"; {written:,} {spec.written_unit} written"
    elif total and read >= total:
        text += f"; merging and writing the {spec.written_unit}"
    return text


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
