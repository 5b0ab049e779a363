"""Beam pipeline drawing the SentencePiece training sample next to the data (``spm-train --runner``).

Every non-empty line gets a stable pseudo-random key (:func:`vocab.reservoir.sample_key`,
seeded by the run's seed) and the ``k`` lines with the smallest keys are kept: a uniform
sample that is identical on every runner and for any number of workers. The combiner
holds at most ``k`` lines per worker.
"""

from __future__ import annotations

import io

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


def draw_sample(
    patterns: list[str],
    *,
    k: int,
    seed: int,
    runner: str,
    pass_through: list[str],
    fast_path: bool,
    read=None,
    ranges=None,
) -> tuple[list[str], int]:
    """Run the sample pipeline on ``runner`` (with ``fast_path``, on the DirectRunner's
    engine built here, :func:`pipelines.options.direct_runner`) and read the sample back:
    its lines, in the order of the runner's shards, and the number of lines read. The
    sample is written under ``--temp_location``, else in a temporary directory of its
    own, and removed."""
    import shutil
    import tempfile
    import uuid

    from apache_beam.io.filesystems import FileSystems

    from pipelines.options import build_options, counter, direct_runner, run_pipeline

    options = build_options(
        runner=runner, pass_through=pass_through, job_name="albert-data-spm-sample"
    )
    temp_root = options.get_all_options().get("temp_location")
    own_temp = not temp_root
    if own_temp:
        temp_root = tempfile.mkdtemp(prefix="albert-data-spm-")
    prefix = FileSystems.join(temp_root, f"spm-sample-{uuid.uuid4().hex}", "sample")
    pipeline = beam.Pipeline(runner=direct_runner(options) if fast_path else None, options=options)
    build_sample_pipeline(
        pipeline, patterns, k=k, seed=seed, output_prefix=prefix, read=read, ranges=ranges
    )
    try:
        result = run_pipeline(pipeline)
        shards = [m.path for m in FileSystems.match([prefix + "*"])[0].metadata_list]
        lines: list[str] = []
        for shard in shards:
            with io.TextIOWrapper(FileSystems.open(shard), encoding="utf-8") as f:
                lines += [ln for ln in (raw.rstrip("\n") for raw in f) if ln]
    finally:
        if own_temp:
            shutil.rmtree(temp_root, ignore_errors=True)
        else:
            FileSystems.delete([m.path for m in FileSystems.match([prefix + "*"])[0].metadata_list])
    return lines, counter(result, LINES_READ)
