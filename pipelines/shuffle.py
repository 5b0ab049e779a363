"""The shuffle of records into output shards, with two strategies.

The input is a PCollection of lists of ``(shard, key, data)`` (one list per group of documents);
the output has one ``(shard, entries)`` element for every shard in ``range(num_shards)``,
``entries`` iterating over that shard's ``(key, data)`` pairs in ``(key, data)`` order.
Both strategies give the same entries, so the shards are byte-identical.

* ``engine``: the entries go through the runner's ``GroupByKey`` keyed by shard
  (Dataflow Shuffle, Flink's and Spark's shuffles) and each shard is sorted inside the
  worker: memory per worker is one shard, which the job layer caps.
* ``files``: for the local DirectRunner, whose ``GroupByKey`` holds everything in
  memory. Each worker writes one sorted run file per buffer flush holding every shard's
  entries (``albert_data.files.partfiles``); only segment descriptions go through the
  runner, and each shard merges its segments. The number of intermediate files does not
  depend on the number of shards.
"""

from __future__ import annotations

import uuid

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from albert_data.files.partfiles import Segment, merged_segments, write_run

STRATEGIES = ("engine", "files")
FLUSH_BYTES = 16 * 1024 * 1024
_ENTRY_OVERHEAD = 12


class WriteRuns(beam.DoFn):
    """Lists of (shard, key, data) → (shard, Segment); one run file per flush."""

    def __init__(self, runs_dir: str, flush_bytes: int = FLUSH_BYTES):
        self.runs_dir = runs_dir.rstrip("/")
        self.flush_bytes = flush_bytes

    def start_bundle(self):
        self.buffer = []
        self.size = 0

    def process(self, entries):
        self.buffer.extend(entries)
        self.size += sum(len(data) for _, _, data in entries) + _ENTRY_OVERHEAD * len(entries)
        if self.size >= self.flush_bytes:
            yield from self._flush()

    def finish_bundle(self):
        for item in self._flush():
            yield WindowedValue(item, 0, [GlobalWindow()])

    def _flush(self):
        if self.buffer:
            path = f"{self.runs_dir}/run-{uuid.uuid4().hex}.part"
            yield from write_run(path, self.buffer).items()
        self.buffer = []
        self.size = 0


class MergedShard:
    """A shard's entries, merged from its segments when iterated."""

    def __init__(self, segments: list[Segment], scratch_dir: str):
        self.segments = segments
        self.scratch_dir = scratch_dir

    def __iter__(self):
        return merged_segments(self.segments, scratch_dir=self.scratch_dir)


def _sorted_shard(shard, values):
    return shard, sorted(v for v in values if v is not None)


def _explode(entries):
    for shard, key, data in entries:
        yield shard, (key, data)


class ShuffleToShards(beam.PTransform):
    """Lists of (shard, key, data) → (shard, ordered (key, data) entries) per shard.

    ``strategy`` is ``engine`` or ``files``; ``work_dir`` holds the run files of the
    ``files`` strategy (unused by ``engine``), one per ``flush_bytes`` of buffered
    entries per worker bundle.
    """

    def __init__(
        self,
        *,
        num_shards: int,
        strategy: str,
        work_dir: str | None = None,
        flush_bytes: int = FLUSH_BYTES,
    ):
        super().__init__()
        if strategy not in STRATEGIES:
            raise ValueError(f"shuffle strategy {strategy!r} is not one of {STRATEGIES}")
        if strategy == "files" and not work_dir:
            raise ValueError("the files shuffle needs a work directory")
        self.num_shards = num_shards
        self.strategy = strategy
        self.work_dir = work_dir
        self.flush_bytes = flush_bytes

    def expand(self, entries):
        # One (shard, None) per shard, so that an empty shard is still written; a few
        # keys for the GroupByKey, not worth the stage a Create's reshuffle adds.
        every_shard = entries.pipeline | "AllShards" >> beam.Create(
            [(i, None) for i in range(self.num_shards)], reshuffle=False
        )
        if self.strategy == "engine":
            keyed = entries | "KeyByShard" >> beam.FlatMap(_explode)
            return (
                (keyed, every_shard)
                | "FlattenShards" >> beam.Flatten()
                | "GroupByShard" >> beam.GroupByKey()
                | "SortShard" >> beam.MapTuple(_sorted_shard)
            )
        runs = f"{self.work_dir.rstrip('/')}/runs"
        segments = entries | "WriteRuns" >> beam.ParDo(WriteRuns(runs, self.flush_bytes))
        return (
            (segments, every_shard)
            | "FlattenSegments" >> beam.Flatten()
            | "GroupSegments" >> beam.GroupByKey()
            | "MergeSegments"
            >> beam.MapTuple(lambda shard, segs: (shard, MergedShard([s for s in segs if s], runs)))
        )
