"""The local fast path's ``FnApiRunner``: a stage's bundles go only to the workers that
have input for them.

Beam's ``FnApiRunner`` with several workers splits each stage's input between them and
sends every worker a bundle, an empty one too (``ParallelBundleManager``). Most stages
of our jobs have one element or a handful of input: a ``Create``'s impulse, the merged
statistics, the first error, the segments' flatten. Each of those waited for a round
trip to every worker process, and the first ones for the slowest worker process to have
connected: on ``make bench``'s 21 MB input with two workers, the three small stages
between the records and the shards took 0.07 s and the two impulse stages before the
first byte range 0.07 s, most of it spent waiting on the worker process.

:class:`LocalRunner` runs a stage whose input falls in one worker's share as a single
bundle on the first worker, which with warm workers (``pipelines.workers``) is the
harness in the launcher's own process, already connected. A stage with input for some
but not all workers runs one bundle per busy share, in parallel as Beam runs them, and
none for the others: 64 workers writing 4 shards run 4 bundles, not 64. A stage with
input for every worker runs as Beam runs it. A runner may give a worker no bundle at
all (Beam's model promises nothing per worker), so the output is the same; stages with
timers are left to Beam.
"""

from __future__ import annotations

from apache_beam.runners.portability.fn_api_runner import fn_runner


class _BusyWorkersOnly(fn_runner.ParallelBundleManager):
    """Beam's parallel bundle manager, except that only the shares with input run: a
    bundle whose input is all in one share runs once, on the first worker, and one with
    input in some shares runs once per busy share."""

    def process_bundle(
        self, inputs, expected_outputs, fired_timers, expected_output_timers, dry_run=False
    ):
        args = (expected_outputs, fired_timers, expected_output_timers, dry_run)
        if fired_timers or expected_output_timers:
            return super().process_bundle(inputs, *args)
        shares = {name: buffer.partition(self._num_workers) for name, buffer in inputs.items()}
        busy = [
            index
            for index in range(self._num_workers)
            if any(any(chunk for chunk in share[index]) for share in shares.values())
        ]
        if len(busy) == self._num_workers:
            return super().process_bundle(inputs, *args)
        if len(busy) > 1:
            # Beam's own parallel manager, over the busy shares only; its bundles take
            # consecutive workers, so they still run on as many workers as there are.
            manager = fn_runner.ParallelBundleManager(
                self.bundle_context_manager,
                self._progress_frequency,
                cache_token_generator=self._cache_token_generator,
            )
            manager._num_workers = len(busy)
            picked = {name: _Shares([share[i] for i in busy]) for name, share in shares.items()}
            return manager.process_bundle(picked, *args)
        index = busy[0] if busy else 0
        manager = fn_runner.BundleManager(
            self.bundle_context_manager,
            self._progress_frequency,
            cache_token_generator=self._cache_token_generator,
        )
        _next_bundle_on_first_worker(len(self.bundle_context_manager.worker_handlers))
        return manager.process_bundle({name: share[index] for name, share in shares.items()}, *args)


class _Shares:
    """Shares of a buffer already partitioned, handed on as a buffer partitioned into
    exactly that many parts (all ``ParallelBundleManager`` asks of its inputs)."""

    def __init__(self, parts: list):
        self.parts = parts

    def partition(self, n: int) -> list:
        if n != len(self.parts):
            raise ValueError(f"{len(self.parts)} shares asked as {n}")
        return self.parts


def _next_bundle_on_first_worker(workers: int) -> None:
    """Beam's ``BundleManager`` picks a bundle's worker from a bundle counter shared by
    the process (counter modulo the number of workers, after adding one): advance it so
    that the next bundle lands on the first worker. Stages run one at a time, and a
    single bundle is all this stage runs, so no other bundle takes a number between."""
    with fn_runner.BundleManager._lock:
        fn_runner.BundleManager._uid_counter += (
            -(fn_runner.BundleManager._uid_counter + 1) % workers
        )


class LocalRunner(fn_runner.FnApiRunner):
    """``FnApiRunner`` whose multi-worker stages skip the workers with no input."""

    def _get_bundle_manager(self, bundle_context_manager):
        manager = super()._get_bundle_manager(bundle_context_manager)
        if type(manager) is not fn_runner.ParallelBundleManager:
            return manager
        return _BusyWorkersOnly(
            bundle_context_manager,
            self._progress_frequency,
            cache_token_generator=manager._cache_token_generator,
        )
