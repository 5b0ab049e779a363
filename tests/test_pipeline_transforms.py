"""Each pipeline's composite transform on Beam's TestPipeline, checked with assert_that:
what it emits and what it writes."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from albert_data.files.docranges import ByteRange
from albert_data.files.tfrecord import read_records
from albert_data.jobs.make_pretraining import pretraining_config
from albert_data.pretraining.document_records import VocabIds
from albert_data.text.documents import SplitConfig
from albert_data.text.tokenization import load_tokenizer
from pipelines.pretraining import MakePretraining, ReadDocuments
from pipelines.shuffle import ShuffleToShards
from pipelines.split_sentences import SplitSentences


def test_make_pretraining_transform_writes_every_shard(sample_en, tmp_path):
    tokenizer = load_tokenizer(spm_model=str(sample_en["spm"]))
    temps = [str(tmp_path / f"s{i}.tfrecord") for i in range(3)]
    transform = MakePretraining(
        tokenizer=tokenizer,
        config=pretraining_config(max_seq_length=64, dupe_factor=2),
        vocab=VocabIds.of(tokenizer),
        shuffle=ShuffleToShards(num_shards=3, strategy="engine"),
        temps=temps,
        compress=False,
        source=ReadDocuments(fmt="sentences", text_field="text", strict=False),
    )
    with TestPipeline() as p:
        out = p | beam.Create([(0, ByteRange(str(sample_en["sentences"]), 0, -1))]) | transform
        assert_that(
            out[MakePretraining.SHARDS] | "Shards" >> beam.Keys(),
            equal_to([0, 1, 2]),
            label="AllShards",
        )
        assert_that(
            out[MakePretraining.STATS]
            | beam.Map(lambda s: (s["documents_read"] > 100, s["instances"] > 200)),
            equal_to([(True, True)]),
            label="Stats",
        )
        assert_that(out[MakePretraining.ERRORS], equal_to([]), label="NoErrors")
    written = [sum(1 for _ in read_records(t)) for t in temps]
    assert all(n > 0 for n in written) and sum(written) > 200


def test_make_pretraining_transform_reports_bad_input(tmp_path, sample_en):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"A fine sentence.\n\nA NUL \x00 byte.\n")
    tokenizer = load_tokenizer(spm_model=str(sample_en["spm"]))
    transform = MakePretraining(
        tokenizer=tokenizer,
        config=pretraining_config(),
        vocab=VocabIds.of(tokenizer),
        shuffle=ShuffleToShards(num_shards=1, strategy="files", work_dir=str(tmp_path / "w")),
        temps=[str(tmp_path / "s0.tfrecord")],
        compress=False,
        source=ReadDocuments(fmt="sentences", text_field="text", strict=False),
    )
    with TestPipeline() as p:
        out = p | beam.Create([(4, ByteRange(str(bad), 0, -1))]) | transform
        assert_that(
            out[MakePretraining.ERRORS]
            | beam.MapTuple(lambda i, start, msg: (i, start, "NUL byte" in msg)),
            equal_to([(4, 0, True)]),
        )


def test_split_sentences_transform_dedups_and_keeps_order(tmp_path):
    raw = tmp_path / "raw.txt"
    docs = [
        "First document. It has two sentences.",
        "Second one here.",
        "First document. It has two sentences.",
        "Third! Yes.",
    ]
    raw.write_text("\n\n".join(docs) + "\n")
    temps = [str(tmp_path / "out.txt")]
    transform = SplitSentences(
        config=SplitConfig(),
        temps=temps,
        gzip=False,
        shuffle=ShuffleToShards(num_shards=1, strategy="engine"),
    )
    with TestPipeline() as p:
        out = (
            p
            | beam.Create([(0, ByteRange(str(raw), 0, 20)), (0, ByteRange(str(raw), 20, -1))])
            | transform
        )
        assert_that(out[SplitSentences.SHARDS], equal_to(temps))
    assert (tmp_path / "out.txt").read_text() == (
        "First document.\nIt has two sentences.\n\nSecond one here.\n\nThird!\nYes.\n"
    )
