"""Lanes (``pipelines.lanes``): on the local fast path every worker takes the next byte
range when it is ready for one. Every range is handed out exactly once, by processes
taking at the same time and by a real two-worker run of the ``FnApiRunner`` with warm
workers; a whole run's bytes do not depend on it (``test_make_pretraining``'s one- and
two-worker comparison)."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import apache_beam as beam

from pipelines.lanes import Lanes, RangeCounter, SpreadRanges

TAKER = """
import sys
from pipelines.lanes import RangeCounter
counter, limit = RangeCounter(sys.argv[1]), int(sys.argv[2])
sys.stdin.readline()  # start together
taken = []
while (index := counter.take()) < limit:
    taken.append(index)
print(" ".join(map(str, taken + [index])))
"""


def test_processes_taking_at_once_get_every_index_once(tmp_path):
    counter = RangeCounter.create(str(tmp_path / "next"))
    limit, takers = 3000, 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, counter.path, str(limit)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(takers)
    ]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    taken = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        taken.extend(map(int, out.split()))
    # Each taker stops at the first index past the end: limit .. limit + takers - 1.
    assert sorted(taken) == list(range(limit + takers))
    assert counter.take() == limit + takers


class _Tag(beam.DoFn):
    def process(self, element):
        yield element, os.getpid()


def test_a_two_worker_run_reads_each_range_once(tmp_path):
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.lanes import RANGES_READ
    from pipelines.options import counters, direct_runner
    from pipelines.workers import WarmWorkers

    ranges = [(i, f"range-{i}") for i in range(50)]
    lanes = Lanes(count=2, counter=RangeCounter.create(str(tmp_path / "next")).path)
    seen = tmp_path / "seen"
    # As the fast path runs it: in_memory keeps the given (warm) environment.
    options = PipelineOptions(direct_num_workers=2, direct_running_mode="in_memory")
    with WarmWorkers(2) as warm:
        pipeline = beam.Pipeline(runner=direct_runner(options, warm), options=options)
        (
            pipeline
            | SpreadRanges(ranges, lanes)
            | beam.ParDo(_Tag())
            | beam.combiners.ToList()
            | beam.Map(lambda pairs: seen.write_text(repr(pairs)))
        )
        result = pipeline.run()
        result.wait_until_finish()
    pairs = eval(seen.read_text())  # noqa: S307 - our own repr of ints and strings
    assert sorted(element for element, _ in pairs) == ranges
    assert counters(result)[RANGES_READ] == len(ranges)
    # Every lane took one index past the end, and nothing else was taken.
    assert RangeCounter(lanes.counter).take() == len(ranges) + lanes.count
    by_process = collections.Counter(pid for _, pid in pairs)
    assert sum(by_process.values()) == len(ranges)
    assert set(by_process) <= {os.getpid(), *(p.pid for p in warm.processes)}
