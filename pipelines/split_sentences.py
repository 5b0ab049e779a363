"""``split-sentences`` as a Beam pipeline.

Stages (the algorithms live in ``albert_data``):

1. ``ReadAndClean``  byte ranges of the raw files → cleaned documents, each as a part
                     entry for the shard its content hash picks (``albert_data.text.shard_entries``)
2. ``PartsByShard``  the file-based shuffle (``pipelines.shuffle``)
3. ``WriteShards``   per shard: merge its parts, drop later copies of a document, put
                     the rest back in input order (external sort), write the text

Large files are read in parallel, and no stage holds more than a bounded buffer: the
runner's shuffle carries only part paths. The output is byte-identical to the local
runner's.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from albert_data.errors import UserError
from albert_data.files.fileio import open_write
from albert_data.files.partfiles import merged
from albert_data.text.documents import SplitConfig, clean_document, shard_of
from albert_data.text.rawtext import ReadCounts, read_range_documents
from albert_data.text.shard_entries import ShardCounts, part_entry, shard_documents
from pipelines.errors import ERRORS, WriteFirstError, error_output
from pipelines.shuffle import PartsByShard

NAMESPACE = "albert_data.split"
READ_COUNTERS = ("files", "bytes", "replaced_bytes", "malformed_lines")


class ReadAndClean(beam.DoFn):
    """(file index, ByteRange) → one list of (shard, key, data) per kept document."""

    def __init__(self, config: SplitConfig, num_shards: int):
        self.config = config
        self.num_shards = num_shards

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
            self.counters[name].inc(getattr(counts, name))


class WriteShard(beam.DoFn):
    """(shard, part paths) → the shard's text file at its temporary name."""

    def __init__(self, temps: list[str], gzip: bool, dedup: bool, scratch_dir: str):
        self.temps = temps
        self.gzip = gzip
        self.dedup = dedup
        self.scratch_dir = scratch_dir

    def process(self, element):
        shard, paths = element
        counts = ShardCounts()
        texts = shard_documents(
            merged(paths, scratch_dir=self.scratch_dir),
            dedup=self.dedup,
            scratch_dir=self.scratch_dir,
            counts=counts,
        )
        with open_write(self.temps[shard], compress=self.gzip) as fh:
            for i, text in enumerate(texts):
                fh.write(b"\n" + text if i else text)
        # The parts stay until the launcher removes the work directory: a runner may
        # retry this bundle.
        Metrics.counter(NAMESPACE, "documents_out").inc(counts.documents)
        Metrics.counter(NAMESPACE, "sentences").inc(counts.sentences)
        Metrics.counter(NAMESPACE, "duplicates").inc(counts.duplicates)
        yield self.temps[shard]


def build(
    pipeline,
    *,
    ranges: list,
    temps: list[str],
    config: SplitConfig,
    gzip: bool,
    work_dir: str,
):
    """Add the split-sentences stages to ``pipeline``. ``ranges`` are (file index,
    ByteRange) pairs; the first bad-input error goes to ``{work_dir}/error.txt``."""
    read = (
        pipeline
        | "ListRanges" >> beam.Create(ranges)
        | "SpreadRanges" >> beam.Reshuffle()
        | "ReadAndClean"
        >> beam.ParDo(ReadAndClean(config, len(temps))).with_outputs(ERRORS, main="docs")
    )
    read[ERRORS] | "ReportError" >> WriteFirstError(error_path(work_dir))
    return (
        read.docs
        | "PartsByShard" >> PartsByShard(f"{work_dir}/parts", len(temps))
        | "WriteShards" >> beam.ParDo(WriteShard(temps, gzip, config.dedup, f"{work_dir}/parts"))
    )


def error_path(work_dir: str) -> str:
    return f"{work_dir}/error.txt"
