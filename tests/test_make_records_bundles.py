"""MakeRecords buffers documents and makes their records a bundle at a time: every
document is made exactly once (the partial bundle at finish_bundle too), a retried Beam
bundle starts from nothing, and the records are those of each document made alone."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from albert_data.jobs.make_pretraining import pretraining_config
from albert_data.pretraining.document_records import VocabIds, document_hash, document_records
from albert_data.pretraining.instances import TokenizedDocument
from albert_data.text.tokenization import load_tokenizer
from pipelines.pretraining import MakeRecords, merge_stats

SHARDS = 3


def _setup(sample_en, masking="static"):
    tokenizer = load_tokenizer(spm_model=str(sample_en["spm"]))
    config = pretraining_config(max_seq_length=64, dupe_factor=2, masking=masking)
    vocab = VocabIds.of(tokenizer)
    text = sample_en["sentences"].read_text(encoding="utf-8")
    docs = [d.split("\n") for d in text.strip("\n").split("\n\n")]
    # 150 documents: two full bundles of 64 and a partial one left for finish_bundle.
    docs = (docs * (150 // len(docs) + 1))[:150]
    docs = [[*d, f"copy {i}."] for i, d in enumerate(docs)]  # distinct content hashes
    return tokenizer, config, vocab, docs


def _alone(tokenizer, config, vocab, docs):
    """Each document made into records by itself (no bundling)."""
    out = []
    for sentences in docs:
        flat = tokenizer.encode_flat(sentences)
        doc = TokenizedDocument.from_flat(flat.ids, flat.word_starts, flat.lengths)
        digest = document_hash("\n".join(sentences))
        for rec in document_records(doc, digest, config=config, vocab=vocab):
            out.append((rec.key % SHARDS, rec.key, rec.data))
    return out


def _fn(tokenizer, config, vocab):
    return MakeRecords(tokenizer=tokenizer, config=config, vocab=vocab, num_shards=SHARDS)


def test_every_document_is_made_once_with_its_own_records_on_beam(sample_en):
    tokenizer, config, vocab, docs = _setup(sample_en)
    want = _alone(tokenizer, config, vocab, docs)
    assert len(docs) % MakeRecords.BUNDLE_DOCUMENTS and len(want) > 300
    with TestPipeline() as p:
        made = (
            p
            | beam.Create(docs)
            | beam.ParDo(_fn(tokenizer, config, vocab)).with_outputs(
                MakeRecords.STATS, main="records"
            )
        )
        assert_that(made.records | beam.FlatMap(lambda r: r), equal_to(want), label="Records")
        assert_that(
            made[MakeRecords.STATS]
            | beam.CombineGlobally(merge_stats).without_defaults()
            | beam.Map(lambda s: (s.documents, s.sentences)),
            equal_to([(len(docs), sum(map(len, docs)))]),
            label="Stats",
        )


def test_a_retried_bundle_starts_empty_and_finish_bundle_flushes_the_rest(sample_en):
    tokenizer, config, vocab, docs = _setup(sample_en, masking="dynamic")
    fn = _fn(tokenizer, config, vocab)
    fn.setup()
    # A first attempt that fails after 70 documents (one bundle of 64 made, 6 pending)...
    fn.start_bundle()
    for sentences in docs[:70]:
        list(fn.process(sentences))
    assert len(fn.pending) == 70 - MakeRecords.BUNDLE_DOCUMENTS
    # ...is retried from the start: nothing of the first attempt is carried over.
    fn.start_bundle()
    got = []
    for sentences in docs:
        for records in fn.process(sentences):
            got += records
    tail = list(fn.finish_bundle())
    got += tail[0].value
    stats = tail[1].value.value
    assert fn.pending == [] and len(tail) == 2
    assert sorted(got) == sorted(_alone(tokenizer, config, vocab, docs))
    assert stats.documents == len(docs) and stats.instances == len(got)


def test_documents_without_sentences_in_a_group_are_counted_and_make_nothing(sample_en):
    tokenizer, config, vocab, docs = _setup(sample_en)
    fn = _fn(tokenizer, config, vocab)
    fn.setup()
    fn.start_bundle()
    for sentences in [[], docs[0], [""], docs[1]]:
        assert list(fn.process(sentences)) == []
    tail = list(fn.finish_bundle())
    assert sorted(tail[0].value) == sorted(_alone(tokenizer, config, vocab, docs[:2]))
    assert tail[1].value.value.documents == 4
    fn.start_bundle()  # a group of empty documents only: no tokens, no records
    assert list(fn.process([])) == []
    assert [t.value.value.documents for t in fn.finish_bundle()] == [1]
