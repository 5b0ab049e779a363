"""``split-sentences`` as one composite Beam transform, :class:`SplitSentences`.

Stages (the algorithms live in ``albert_data``):

1. ``ReadAndClean``  byte ranges of the raw files → cleaned documents, each as an
                     entry for the shard its content hash picks
                     (``albert_data.text.shard_entries``)
2. ``Shuffle``       entries → their shard, in key order (``pipelines.shuffle``: the
                     engine's GroupByKey or local run files)
3. ``WriteShards``   per shard: drop later copies of a document, put the rest back in
                     input order (an external sort), write the text

Large files are read in parallel, and no stage holds more than a bounded buffer or one
shard. The output is byte-identical to the local one-process runner's.
"""

from __future__ import annotations

import tempfile

import apache_beam as beam
from apache_beam.metrics import Metrics

from albert_data.errors import UserError
from albert_data.files.fileio import open_write
from albert_data.text.documents import SplitConfig, clean_document, shard_of, write_documents
from albert_data.text.rawtext import ReadCounts, read_range_documents
from albert_data.text.shard_entries import ShardCounts, part_entry, shard_documents
from pipelines.errors import ERRORS, error_output
from pipelines.progress import counting_writes, range_name, report_progress

NAMESPACE = "albert_data.split"
READ_COUNTERS = tuple(ReadCounts.__dataclass_fields__)
SHARD_COUNTERS = ("documents_out", "sentences", "duplicates")


class ReadAndClean(beam.DoFn):
    """(file index, ByteRange) → one list of (shard, key, data) per kept document."""

    def __init__(self, config: SplitConfig, num_shards: int, progress_dir: str | None = None):
        self.config = config
        self.num_shards = num_shards
        self.progress_dir = progress_dir

    def setup(self):
        self.counters = {
            name: Metrics.counter(NAMESPACE, name)
            for name in (*READ_COUNTERS, "documents_in", "dropped_empty", "dropped_short")
        }

    def process(self, element):
        file_index, byte_range = element
        counts = ReadCounts()
        try:
            for raw in read_range_documents(byte_range, self.config.read, counts):
                self.counters["documents_in"].inc()
                doc = clean_document(raw, self.config)
                if doc.dropped is not None:
                    self.counters[f"dropped_{doc.dropped}"].inc()
                    continue
                key, data = part_entry(file_index, raw.offset, doc, dedup=self.config.dedup)
                yield [(shard_of(doc.digest, self.num_shards), key, data)]
        except UserError as err:
            yield error_output(file_index, byte_range.start, err)
            return
        for name in READ_COUNTERS:
            if getattr(counts, name):
                self.counters[name].inc(getattr(counts, name))
        if self.progress_dir:
            report_progress(self.progress_dir, range_name(file_index, byte_range), counts.bytes)


class WriteShard(beam.DoFn):
    """(shard, entries in key order) → the shard's text file at its temporary name.

    The reordering after de-duplication spills to ``scratch_dir`` (default: a
    worker-local temporary directory)."""

    def __init__(
        self,
        temps: list[str],
        *,
        gzip: bool,
        dedup: bool,
        scratch_dir: str | None,
        progress_dir: str | None = None,
    ):
        self.temps = temps
        self.gzip = gzip
        self.dedup = dedup
        self.scratch_dir = scratch_dir
        self.progress_dir = progress_dir

    def process(self, element):
        shard, entries = element
        counts = ShardCounts()
        with tempfile.TemporaryDirectory(prefix="albert-data-sort-") as local:
            texts = shard_documents(
                entries, dedup=self.dedup, scratch_dir=self.scratch_dir or local, counts=counts
            )
            with open_write(self.temps[shard], compress=self.gzip) as fh:
                write_documents(fh, counting_writes(texts, self.progress_dir, shard))
        for name in SHARD_COUNTERS:
            Metrics.counter(NAMESPACE, name).inc(getattr(counts, _SHARD_FIELD[name]))
        yield self.temps[shard]


_SHARD_FIELD = {"documents_out": "documents", "sentences": "sentences", "duplicates": "duplicates"}


class SplitSentences(beam.PTransform):
    """(file index, ByteRange) → sentence-per-line shards at the ``temps`` paths.

    ``shuffle`` is the pluggable :class:`pipelines.shuffle.ShuffleToShards`. The result
    is a dict: ``SHARDS`` (the temporary paths written) and ``ERRORS`` (bad-input errors
    met by readers); the counts are Beam counters in :data:`NAMESPACE`.
    """

    SHARDS = "shards"
    ERRORS = ERRORS

    def __init__(
        self,
        *,
        config: SplitConfig,
        temps: list[str],
        gzip: bool,
        shuffle,
        scratch_dir: str | None = None,
        progress_dir: str | None = None,
    ):
        super().__init__()
        self.config = config
        self.temps = temps
        self.gzip = gzip
        self.shuffle = shuffle
        self.scratch_dir = scratch_dir
        self.progress_dir = progress_dir

    def expand(self, ranges):
        read = ranges | "ReadAndClean" >> beam.ParDo(
            ReadAndClean(self.config, len(self.temps), self.progress_dir)
        ).with_outputs(ERRORS, main="docs")
        shards = (
            read.docs
            | "Shuffle" >> self.shuffle
            | "WriteShards"
            >> beam.ParDo(
                WriteShard(
                    self.temps,
                    gzip=self.gzip,
                    dedup=self.config.dedup,
                    scratch_dir=self.scratch_dir,
                    progress_dir=self.progress_dir,
                )
            )
        )
        return {self.SHARDS: shards, self.ERRORS: read[ERRORS]}
