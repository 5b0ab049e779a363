"""One warm DirectRunner worker: ``python -m pipelines.worker_process [--lean]``.

Started by :class:`pipelines.workers.WarmWorkers` before the launcher builds its
pipeline, so that the second and later cores import Beam (``--lean``: without its
optional IO, as ``pipelines.lean_beam`` says) while the launcher is still starting. It
then waits for one line of JSON on its standard input: the environment Beam's
``sdk_worker_main`` reads (control and logging endpoints, pipeline options, worker id),
runs Beam's own SDK harness on it until the runner closes the control channel, and
exits without the interpreter's last garbage collections (the runner does not wait for
them).

The modules of the pipeline's DoFns are not imported ahead: the worker answers as soon
as Beam is imported, and the DoFns' modules are imported when the harness unpickles
them, while the launcher's worker already reads byte ranges (``pipelines.lanes``; the
small stages before them run on the launcher's worker alone, ``pipelines.local_runner``).

Ctrl-C is the launcher's to handle: this process ignores SIGINT and ends when the
launcher closes its standard input, kills it, or is gone.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import time

PARENT_POLL_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """End this process if the launcher that started it is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="watch-launcher", daemon=True).start()


def import_beam(*, lean: bool):
    """Beam's ``sdk_worker_main``, imported (``lean``: without Beam's optional IO, as in
    the launcher, only while Beam itself is imported: the pipeline's DoFns may still
    import what they need, e.g. pyarrow for Parquet input)."""
    from pipelines.lean_beam import without_optional_io

    with without_optional_io(lean):
        from apache_beam.runners.worker import sdk_worker_main
    return sdk_worker_main


def main(args: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(os.getppid())
    sdk_worker_main = import_beam(lean=args == ["--lean"])
    from pipelines import beam_caches, state_sampling

    beam_caches.install()
    state_sampling.install()
    gc.freeze()  # what is imported stays: later collections need not walk it
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # not needed by this run
    log_handler, harness, _ = sdk_worker_main.create_harness(json.loads(line))
    try:
        harness.run()
    finally:
        if log_handler is not None:
            log_handler.close()
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
