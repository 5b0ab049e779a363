"""``split-sentences`` as a Beam pipeline: files read in parallel, documents cleaned by
the same core as the local path, exact duplicates removed by content hash, sharded
output written to temporary names and renamed by the launcher.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from albert_data.documents import SplitConfig, clean_document, shard_of
from albert_data.fileio import open_write
from albert_data.rawtext import ReadCounts, read_documents

NAMESPACE = "albert_data.split"


class ReadAndClean(beam.DoFn):
    """(file index, path) → (digest, (file index, doc index, text, sentence count))."""

    def __init__(self, config: SplitConfig):
        self.config = config
        self.counters = {}

    def setup(self):
        for name in (
            "files",
            "bytes",
            "documents_in",
            "dropped_empty",
            "dropped_short",
            "replaced_bytes",
            "malformed_lines",
        ):
            self.counters[name] = Metrics.counter(NAMESPACE, name)

    def process(self, element):
        file_index, path = element
        counts = ReadCounts()
        for raw in read_documents(path, self.config.read, counts):
            self.counters["documents_in"].inc()
            doc = clean_document(raw, self.config)
            if doc.dropped is not None:
                self.counters[f"dropped_{doc.dropped}"].inc()
                continue
            yield doc.digest, (file_index, raw.index, doc.text, len(doc.sentences))
        for name in ("files", "bytes", "replaced_bytes", "malformed_lines"):
            self.counters[name].inc(getattr(counts, name))


class KeepFirst(beam.DoFn):
    """Of identical documents keep the earliest in input order; count the rest."""

    def __init__(self):
        self.duplicates = Metrics.counter(NAMESPACE, "duplicates")

    def process(self, element):
        digest, copies = element
        copies = sorted(copies)
        if len(copies) > 1:
            self.duplicates.inc(len(copies) - 1)
        yield digest, copies[0]


class WriteShard(beam.DoFn):
    """Write one shard's documents in input order to its temporary name."""

    def __init__(self, temps: list[str], gzip: bool):
        self.temps = temps
        self.gzip = gzip

    def process(self, element):
        shard, docs = element
        docs = sorted(d for d in docs if d is not None)
        sentences = Metrics.counter(NAMESPACE, "sentences")
        out = Metrics.counter(NAMESPACE, "documents_out")
        with open_write(self.temps[shard], compress=self.gzip) as fh:
            for i, (_fi, _di, text, n) in enumerate(docs):
                fh.write((b"\n" if i else b"") + text.encode("utf-8"))
                sentences.inc(n)
                out.inc()
        yield self.temps[shard]


def build(pipeline, *, inputs: list[str], temps: list[str], config: SplitConfig, gzip: bool):
    """Add the split-sentences stages to ``pipeline``; returns the written temp paths."""
    num_shards = len(temps)
    docs = (
        pipeline
        | "ListFiles" >> beam.Create(list(enumerate(inputs)))
        | "SpreadFiles" >> beam.Reshuffle()
        | "ReadAndClean" >> beam.ParDo(ReadAndClean(config))
    )
    if config.dedup:
        docs = docs | "GroupByContent" >> beam.GroupByKey() | "KeepFirst" >> beam.ParDo(KeepFirst())
    keyed = docs | "KeyByShard" >> beam.Map(lambda kv: (shard_of(kv[0], num_shards), kv[1]))
    # Every shard gets a file, even an empty one.
    every_shard = pipeline | "AllShards" >> beam.Create([(i, None) for i in range(num_shards)])
    return (
        (keyed, every_shard)
        | "Merge" >> beam.Flatten()
        | "GroupByShard" >> beam.GroupByKey()
        | "WriteShards" >> beam.ParDo(WriteShard(temps, gzip))
    )
