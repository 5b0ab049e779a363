"""Beam pipeline drawing the SentencePiece training sample next to the data (``spm-train --runner``).

Every non-empty line gets a stable pseudo-random key (:func:`vocab.reservoir.sample_key`,
seeded by the run's seed) and the ``k`` lines with the smallest keys are kept: a uniform
sample that is identical on every runner and for any number of workers. The combiner
holds at most ``k`` lines per worker.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from vocab.reservoir import sample_key

LINES_READ = "lines_read"


class _KeyLines(beam.DoFn):
    def __init__(self, seed: int):
        self._seed = seed
        self._lines = Metrics.counter("spm_sample", LINES_READ)

    def process(self, line: str):
        text = line.lstrip("\ufeff").strip()
        if text:
            self._lines.inc()
            yield sample_key(self._seed, text), text


class SampleLines(beam.PTransform):
    """PCollection of raw lines → one element: the list of (key, line) of the sample."""

    def __init__(self, k: int, seed: int):
        super().__init__()
        self._k = k
        self._seed = seed

    def expand(self, lines):
        return (
            lines
            | "KeyLines" >> beam.ParDo(_KeyLines(self._seed))
            | "SmallestKeys" >> beam.combiners.Top.Smallest(self._k)
        )


class DocumentSentences(beam.DoFn):
    """A range of an input (byte range, wrapped file, Parquet row groups) → the sentences
    of its documents, read in the layout ``read`` and cleaned and split as
    split-sentences does."""

    def __init__(self, read):
        self._read = read

    def process(self, byte_range):
        from albert_data.text.documents import SplitConfig, clean_document
        from albert_data.text.rawtext import ReadCounts, read_range_documents

        split = SplitConfig(read=self._read)
        for raw in read_range_documents(byte_range, self._read, ReadCounts()):
            yield from clean_document(raw, split).sentences


def build_sample_pipeline(
    pipeline: beam.Pipeline,
    patterns: list[str],
    *,
    k: int,
    seed: int,
    output_prefix: str,
    read=None,
    ranges=None,
) -> None:
    """Read ``patterns`` (globs, ``.gz``/``.bz2`` detected by suffix, any Beam file system)
    a line a sentence, or with ``read`` (a ``ReadConfig``) the sentences of the documents
    of ``ranges``; sample ``k`` of them and write them, one per line, to
    ``output_prefix-*``."""
    if read is not None:
        lines = (
            pipeline
            | "ListRanges" >> beam.Create(ranges)
            | "ReadSentences" >> beam.ParDo(DocumentSentences(read))
        )
    else:
        reads = [
            pipeline | f"Read{i}" >> beam.io.ReadFromText(pattern, strip_trailing_newlines=True)
            for i, pattern in enumerate(patterns)
        ]
        lines = reads[0] if len(reads) == 1 else tuple(reads) | "Flatten" >> beam.Flatten()
    (
        lines
        | "Sample" >> SampleLines(k, seed)
        | "Unkey" >> beam.FlatMap(lambda top: [line for _, line in top])
        | "Write" >> beam.io.WriteToText(output_prefix)
    )
