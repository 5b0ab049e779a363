"""``make-pretraining`` as a Beam pipeline.

Stages (each a labelled step; the algorithms live in ``albert_data``):

1. ``ReadDocuments``  byte ranges → documents (``albert_data.files.docranges``)
2. ``MakeRecords``    tokenise, cut SOP instances per duplicate, mask, serialise (one
                      list of records per document)
                      (``albert_data.pretraining.document_records``); per-bundle statistics on a side output
3. ``PartsByShard``   records → part files per output shard, grouped by shard
                      (``pipelines.shuffle``)
4. ``MergeShards``    per shard: read its parts, order by key, write the TFRecord file
5. ``Stats``          merged statistics → a JSON file for the launcher

Every DoFn holds only picklable configuration and the tokenizer (which carries its
model bytes, not a local path), so the pipeline runs unchanged on remote workers.
"""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from albert_data.errors import UserError
from albert_data.files.docranges import read_range
from albert_data.files.fileio import open_write
from albert_data.files.partfiles import merged
from albert_data.files.tfrecord import frame
from albert_data.pretraining.document_records import (
    DocumentRngs,
    PretrainingConfig,
    VocabIds,
    document_hash,
    document_records,
)
from albert_data.pretraining.instances import TokenizedDocument
from albert_data.records.stats import PretrainingStats
from albert_data.text.documents import SplitConfig, clean_document
from albert_data.text.rawtext import RawDocument, decode_line
from pipelines.errors import ERRORS, WriteFirstError, error_output
from pipelines.shuffle import PartsByShard

NAMESPACE = "albert_data.pretraining.document_records"


class ReadDocuments(beam.DoFn):
    """(file index, ByteRange) → the sentence strings of each document it owns."""

    def __init__(self, *, fmt: str, text_field: str, strict: bool):
        self.fmt = fmt
        self.text_field = text_field
        self.strict = strict
        self.split = SplitConfig()

    def process(self, element):
        file_index, byte_range = element
        try:
            yield from self._documents(byte_range)
        except UserError as err:
            yield error_output(file_index, byte_range.start, err)

    def _documents(self, byte_range):
        for offset, lines in read_range(byte_range, fmt=self.fmt):
            decoded = []
            replaced = 0
            for line in lines:
                text, bad = decode_line(
                    line, path=byte_range.path, offset=offset, strict=self.strict
                )
                replaced += bad
                decoded.append(text.rstrip("\r\n"))
            if replaced:
                Metrics.counter(NAMESPACE, "replaced_bytes").inc(replaced)
            if self.fmt == "jsonl":
                sentences = self._jsonl_sentences(decoded[0], byte_range.path, offset)
                if sentences is None:
                    continue
            else:
                sentences = decoded
            yield sentences

    def _jsonl_sentences(self, line: str, path: str, offset: int):
        try:
            text = json.loads(line)[self.text_field]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            if self.strict:
                raise UserError(
                    f"{path}: byte {offset}: line is not JSON with a string field {self.text_field!r}; fix it, set --text-field, or drop --strict to skip such lines"
                ) from None
            Metrics.counter(NAMESPACE, "malformed_lines").inc()
            return None
        doc = clean_document(RawDocument(path, 0, tuple(text.splitlines())), self.split)
        return list(doc.sentences)


class MakeRecords(beam.DoFn):
    """Sentences of one document → the list of its (shard, key, record bytes); stats per
    bundle. One element per document, not per record, keeps the runner's per-element
    cost off the hot path."""

    STATS = "stats"

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

    def process(self, sentences):
        stats = self.stats
        stats.documents += 1
        text = "\n".join(sentences)
        stats.sentences += len(sentences)
        flat = self.tokenizer.encode_flat(sentences)
        doc = TokenizedDocument.from_flat(flat.ids, flat.word_starts, flat.lengths)
        stats.input_tokens += doc.num_tokens
        if doc.num_sentences == 1 and doc.num_tokens > 1:
            stats.one_sentence_documents += 1
        records = []
        for rec in document_records(
            doc,
            document_hash(text),
            config=self.config,
            vocab=self.vocab,
            stats=stats,
            rngs=self.rngs,
        ):
            stats.add_record(rec.num_tokens, rec.num_masked, rec.swapped, rec.ngram_lengths)
            records.append((rec.key % self.num_shards, rec.key, rec.data))
        if records:
            yield records

    def finish_bundle(self):
        yield beam.pvalue.TaggedOutput(self.STATS, WindowedValue(self.stats, 0, [GlobalWindow()]))


class MergeShard(beam.DoFn):
    """(shard, part paths) → the shard's TFRecord file at its temporary name."""

    def __init__(self, temps: list[str], compress: bool, scratch_dir: str):
        self.temps = temps
        self.compress = compress
        self.scratch_dir = scratch_dir

    def process(self, element):
        shard, paths = element
        count = 0
        with open_write(self.temps[shard], compress=self.compress) as fh:
            for _key, data in merged(paths, scratch_dir=self.scratch_dir):
                fh.write(frame(data))
                count += 1
        # The parts stay until the launcher removes the work directory: a runner may
        # retry this bundle.
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


def build(
    pipeline,
    *,
    ranges,
    tokenizer,
    config: PretrainingConfig,
    vocab: VocabIds,
    temps: list[str],
    parts_dir: str,
    stats_path: str,
    error_path: str,
    fmt: str,
    text_field: str,
    strict: bool,
    compress: bool,
):
    """Add the make-pretraining stages to ``pipeline``."""
    num_shards = len(temps)
    documents = (
        pipeline
        | "ListRanges" >> beam.Create(ranges)
        | "SpreadRanges" >> beam.Reshuffle()
        | "ReadDocuments"
        >> beam.ParDo(ReadDocuments(fmt=fmt, text_field=text_field, strict=strict)).with_outputs(
            ERRORS, main="documents"
        )
    )
    documents[ERRORS] | "ReportError" >> WriteFirstError(error_path)
    made = documents.documents | "MakeRecords" >> beam.ParDo(
        MakeRecords(tokenizer=tokenizer, config=config, vocab=vocab, num_shards=num_shards)
    ).with_outputs(MakeRecords.STATS, main="records")
    (
        made.records
        | "PartsByShard" >> PartsByShard(parts_dir, num_shards)
        | "MergeShards" >> beam.ParDo(MergeShard(temps, compress, parts_dir))
    )
    (
        made[MakeRecords.STATS]
        | "MergeStats" >> beam.CombineGlobally(merge_stats).without_defaults()
        | "WriteStats" >> beam.Map(_write_stats, stats_path)
    )


def _write_stats(stats: PretrainingStats, path: str) -> None:
    import pickle

    with open_write(path, compress=False) as fh:
        fh.write(pickle.dumps(stats))
