"""Byte ranges handed out on demand to the local DirectRunner's workers.

Beam's ``FnApiRunner`` divides a stage's input between its workers before the stage
starts, a fixed share each (``ParallelBundleManager``), so a stage lasts as long as its
slowest share. The shares are rarely equally fast: the launcher's own worker shares its
process with the runner, and a worker process that finished importing Beam later starts
later. On ``make bench``'s 21 MB input with two workers, one worker finished its 32
ranges 0.1–0.5 s after the other, while the other core was idle.

So on the local fast path a job's head is one *lane* per worker instead of the ranges
themselves: :class:`TakeRanges` turns its lane into the ranges it takes, one at a time,
from a counter the workers share (:class:`RangeCounter`, a file locked while it is
advanced), until none is left. A worker that is faster, or starts earlier, reads more
ranges, and every worker ends within about one range of the others.

Which worker reads a range does not change what is made of it (every document has its
own generator, and the shuffle orders records by key), so the output is byte-identical
to that of a fixed split. The ranges a lane took are gone from the counter, so a lane
must not be run twice: lanes are for the ``FnApiRunner`` this project builds, which
never retries a bundle (a failed bundle fails the run). The launcher checks that every
range was read (:data:`RANGES_READ`, counted once a range has passed through the whole
fused stage).
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics

NAMESPACE = "albert_data.lanes"
RANGES_READ = "ranges_read"
_WIDTH = 8  # bytes of the counter: a little-endian unsigned integer


class RangeCounter:
    """The index of the next range to read, in the file ``path``, shared by the
    processes of one machine (``flock``): :meth:`take` returns each index once."""

    def __init__(self, path: str):
        self.path = path

    @classmethod
    def create(cls, path: str) -> RangeCounter:
        with open(path, "xb") as fh:
            fh.write(bytes(_WIDTH))
        return cls(path)

    def take(self) -> int:
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            index = int.from_bytes(os.pread(fd, _WIDTH, 0), "little")
            os.pwrite(fd, (index + 1).to_bytes(_WIDTH, "little"), 0)
            return index
        finally:
            os.close(fd)  # releases the lock


@dataclass(frozen=True)
class Lanes:
    """``count`` lanes taking ranges from the counter file ``counter``."""

    count: int
    counter: str


class TakeRanges(beam.DoFn):
    """A lane → the ranges it takes from the shared counter, each yielded (and read
    downstream, in the same fused stage) before the next is taken."""

    def __init__(self, ranges: list, counter: str):
        self.ranges = list(ranges)
        self.counter = counter

    def setup(self):
        self.read = Metrics.counter(NAMESPACE, RANGES_READ)

    def process(self, lane):
        counter = RangeCounter(self.counter)
        while (index := counter.take()) < len(self.ranges):
            yield self.ranges[index]
            self.read.inc()


class SpreadRanges(beam.PTransform):
    """``ranges`` read by ``lanes.count`` lanes: one lane per worker (a grouped key
    each, which the ``FnApiRunner`` gives to its workers in turn), each taking ranges
    until none is left."""

    def __init__(self, ranges: list, lanes: Lanes):
        super().__init__()
        self.ranges = ranges
        self.lanes = lanes

    def expand(self, pipeline):
        return (
            pipeline
            | "Lanes" >> beam.Create([(k, None) for k in range(self.lanes.count)], reshuffle=False)
            | "OneLanePerWorker" >> beam.GroupByKey()
            | "TakeRanges" >> beam.ParDo(TakeRanges(self.ranges, self.lanes.counter))
        )
