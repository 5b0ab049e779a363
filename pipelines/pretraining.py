"""``make-pretraining`` as one composite Beam transform, :class:`MakePretraining`.

Stages (each a labelled step; the algorithms live in ``albert_data``):

1. ``ReadDocuments``  byte ranges → documents (``albert_data.files.docranges``)
2. ``MakeRecords``    tokenise up to 64 documents at a time, then cut SOP instances
                      per duplicate, mask and serialise them a bounded step at a time
                      (one list of records per step, whatever the dupe factor or the
                      length of a document; ``albert_data.pretraining.document_records``);
                      per-Beam-bundle statistics on a side output
3. ``Shuffle``        records → their output shard, ordered by key (``pipelines.shuffle``:
                      the engine's GroupByKey or local run files)
4. ``WriteShards``    per shard: the TFRecord file at its temporary name
5. ``MergeStats``     merged statistics, as a JSON-able dict

Every DoFn holds only picklable configuration and the tokenizer (which carries its
model bytes, not a local path), so the pipeline runs unchanged on remote workers.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from albert_data.errors import UserError
from albert_data.files.fileio import open_write
from albert_data.files.tfrecord import frame
from albert_data.pretraining.document_records import (
    CHUNK_TOKENS,
    DocumentRngs,
    PretrainingConfig,
    VocabIds,
    document_hash,
    sentence_record_chunks,
)
from albert_data.records.stats import PretrainingStats
from albert_data.text.documents import (
    SplitConfig,
    pretraining_read_config,
    pretraining_sentences,
)
from albert_data.text.rawtext import ReadCounts, read_range_documents
from pipelines.errors import ERRORS, error_output
from pipelines.progress import counting_writes, range_name, report_progress

NAMESPACE = "albert_data.pretraining"
# What reading counts (undecodable bytes, null rows, the shape of the lines: see
# albert_data.text.layout), as Beam counters of the same names.
READ_COUNTERS = tuple(n for n in ReadCounts.__dataclass_fields__ if n not in ("files", "bytes"))


class ReadDocuments(beam.DoFn):
    """(file index, ByteRange) → the sentence strings of each document it owns, read by
    ``albert_data.text.rawtext`` (the reader split-sentences uses too). With
    ``progress_dir``, a finished range leaves a small file there saying how many input
    bytes it accounted for (the launcher's progress bar sums them)."""

    def __init__(
        self,
        *,
        fmt: str,
        text_field: str,
        strict: bool,
        document_separator: str = "file",
        progress_dir: str | None = None,
    ):
        self.fmt = fmt
        self.read = pretraining_read_config(fmt, text_field, strict, document_separator)
        self.split = SplitConfig()
        self.progress_dir = progress_dir

    def process(self, element):
        file_index, byte_range = element
        counts = ReadCounts()
        try:
            for raw in read_range_documents(byte_range, self.read, counts):
                yield pretraining_sentences(raw, self.fmt, self.split)
        except UserError as err:
            yield error_output(file_index, byte_range.start, err)
            return
        for name in READ_COUNTERS:
            if getattr(counts, name):
                Metrics.counter(NAMESPACE, name).inc(getattr(counts, name))
        if self.progress_dir:
            report_progress(self.progress_dir, range_name(file_index, byte_range), counts.bytes)


class MakeRecords(beam.DoFn):
    """Sentences of documents → lists of (shard, key, record bytes); stats per Beam
    bundle. Documents are buffered and made into records a group of up to
    ``BUNDLE_DOCUMENTS`` documents (or ``BUNDLE_CHARS`` characters) at a time: they are
    tokenised, then ``record_chunks`` makes their records a step of at most
    ``CHUNK_TOKENS`` tokens at a time (vectorised over the step, the same bytes as one
    document at a time), each step's records emitted before the next is made. The group
    left at the end of a Beam bundle is made in ``finish_bundle``; ``start_bundle``
    empties the buffer, so a retried bundle starts afresh. One element per step, not
    per record, keeps the runner's per-element cost off the hot path."""

    STATS = "stats"
    BUNDLE_DOCUMENTS = 64
    BUNDLE_CHARS = 131_072
    CHUNK_TOKENS = CHUNK_TOKENS

    def __init__(self, *, tokenizer, config: PretrainingConfig, vocab: VocabIds, num_shards: int):
        self.tokenizer = tokenizer
        self.config = config
        self.vocab = vocab
        self.num_shards = num_shards

    def setup(self):
        self.rngs = DocumentRngs()

    def start_bundle(self):
        self.stats = PretrainingStats(
            self.config.instances.max_seq_length, self.config.masking.max_n
        )
        self.pending = []
        self.pending_chars = 0

    def process(self, sentences):
        self.stats.documents += 1
        self.stats.sentences += len(sentences)
        self.pending.append((sentences, document_hash("\n".join(sentences))))
        self.pending_chars += sum(map(len, sentences))
        if len(self.pending) >= self.BUNDLE_DOCUMENTS or self.pending_chars >= self.BUNDLE_CHARS:
            yield from self._flush()

    def _flush(self):
        """Tokenise the pending documents, then make their records a bounded step at a
        time (``record_chunks``), handing each step's records on before the next."""
        stats, num_shards = self.stats, self.num_shards
        pending, self.pending, self.pending_chars = self.pending, [], 0
        chunks = sentence_record_chunks(
            pending,
            tokenizer=self.tokenizer,
            config=self.config,
            vocab=self.vocab,
            stats=stats,
            rngs=self.rngs,
            chunk_tokens=self.CHUNK_TOKENS,
        )
        del pending
        for chunk in chunks:
            records = []
            for rec in chunk.records:
                stats.add_record(rec.num_tokens, rec.num_masked, rec.swapped, rec.ngram_lengths)
                records.append((rec.key % num_shards, rec.key, rec.data))
            if records:
                yield records

    def finish_bundle(self):
        if self.pending:
            for records in self._flush():
                yield WindowedValue(records, 0, [GlobalWindow()])
        yield beam.pvalue.TaggedOutput(self.STATS, WindowedValue(self.stats, 0, [GlobalWindow()]))


class WriteShard(beam.DoFn):
    """(shard, ordered (key, data) entries) → the shard's TFRecord file at its
    temporary name; emits (shard, records written), and with ``progress_dir`` reports
    the records written so far there."""

    def __init__(self, temps: list[str], compress: bool, progress_dir: str | None = None):
        self.temps = temps
        self.compress = compress
        self.progress_dir = progress_dir

    def process(self, element):
        shard, entries = element
        count = 0
        with open_write(self.temps[shard], compress=self.compress) as fh:
            for _key, data in counting_writes(entries, self.progress_dir, shard):
                fh.write(frame(data))
                count += 1
        Metrics.counter(NAMESPACE, "records_written").inc(count)
        yield shard, count


def merge_stats(stats_list):
    stats_list = [s for s in stats_list if s is not None]
    if not stats_list:
        return None
    total = stats_list[0]
    for other in stats_list[1:]:
        total = total.merge(other)
    return total


class MakePretraining(beam.PTransform):
    """(file index, ByteRange) → pretraining TFRecord shards at the ``temps`` paths.

    The pluggable parts are arguments: the ``tokenizer``, the masking (``config``, whose
    ``masking_mode`` and ``MaskingConfig`` say how records are masked) and the
    ``shuffle`` (a :class:`pipelines.shuffle.ShuffleToShards`). The result is a dict of
    PCollections: ``SHARDS`` (shard, records written), ``STATS`` (one JSON-able dict of
    counts) and ``ERRORS`` (the bad-input errors met by readers, see pipelines.errors).
    """

    SHARDS = "shards"
    STATS = "stats"
    ERRORS = ERRORS

    def __init__(
        self,
        *,
        tokenizer,
        config: PretrainingConfig,
        vocab: VocabIds,
        shuffle,
        temps: list[str],
        compress: bool,
        source: ReadDocuments,
    ):
        super().__init__()
        self.tokenizer = tokenizer
        self.config = config
        self.vocab = vocab
        self.shuffle = shuffle
        self.temps = temps
        self.compress = compress
        self.source = source

    def expand(self, ranges):
        documents = ranges | "ReadDocuments" >> beam.ParDo(self.source).with_outputs(
            ERRORS, main="documents"
        )
        made = documents.documents | "MakeRecords" >> beam.ParDo(
            MakeRecords(
                tokenizer=self.tokenizer,
                config=self.config,
                vocab=self.vocab,
                num_shards=len(self.temps),
            )
        ).with_outputs(MakeRecords.STATS, main="records")
        shards = (
            made.records
            | "Shuffle" >> self.shuffle
            | "WriteShards"
            >> beam.ParDo(WriteShard(self.temps, self.compress, self.source.progress_dir))
        )
        stats = (
            made[MakeRecords.STATS]
            | "MergeStats" >> beam.CombineGlobally(merge_stats).without_defaults()
            | "StatsAsJson" >> beam.Map(lambda s: s.to_json())
        )
        return {self.SHARDS: shards, self.STATS: stats, self.ERRORS: documents[ERRORS]}
