"""The file-based shuffle shared by the pipelines: records are written to sorted part
files per output shard (``albert_data.files.partfiles``) and only the part paths go through
the runner's GroupByKey, so no runner ever holds the corpus in memory."""

from __future__ import annotations

import uuid
from collections import defaultdict

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from albert_data.files.partfiles import write_part


class WriteParts(beam.DoFn):
    """Lists of (shard, key, data) → (shard, part path); a part file per shard is
    written whenever the buffered records reach ``flush_bytes`` and at bundle end."""

    def __init__(self, parts_dir: str, flush_bytes: int = 16 * 1024 * 1024):
        self.parts_dir = parts_dir.rstrip("/")
        self.flush_bytes = flush_bytes

    def start_bundle(self):
        self.buffers = defaultdict(list)
        self.size = 0

    def process(self, records):
        for shard, key, data in records:
            self.buffers[shard].append((key, data))
            self.size += len(data) + 12
        if self.size >= self.flush_bytes:
            yield from self._flush()

    def finish_bundle(self):
        for item in self._flush():
            yield WindowedValue(item, 0, [GlobalWindow()])

    def _flush(self):
        for shard, items in sorted(self.buffers.items()):
            path = f"{self.parts_dir}/shard-{shard:05d}-{uuid.uuid4().hex}.part"
            items.sort()
            write_part(path, items)
            yield shard, path
        self.buffers = defaultdict(list)
        self.size = 0


class PartsByShard(beam.PTransform):
    """Lists of (shard, key, data) → (shard, sorted part paths) for every shard in
    ``range(num_shards)``, including shards that got no record (empty path list)."""

    def __init__(self, parts_dir: str, num_shards: int):
        super().__init__()
        self.parts_dir = parts_dir
        self.num_shards = num_shards

    def expand(self, records):
        parts = records | "WriteParts" >> beam.ParDo(WriteParts(self.parts_dir))
        every_shard = records.pipeline | "AllShards" >> beam.Create(
            [(i, None) for i in range(self.num_shards)]
        )
        return (
            (parts, every_shard)
            | "FlattenParts" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "SortPaths"
            >> beam.MapTuple(lambda shard, paths: (shard, sorted(p for p in paths if p)))
        )
