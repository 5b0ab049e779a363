"""The vectorised bundle path (plan → build → mask → serialise a bundle of documents)
gives exactly the bytes of the one-instance-at-a-time functions, and the bytes a seed
gave before the bundle path existed."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from albert_data.pretraining.document_records import (
    DocumentRngs,
    bundle_records,
    document_records,
)
from albert_data.pretraining.instances import TokenizedDocument, create_instances
from albert_data.pretraining.masking import MaskingConfig, Sequences, mask_batch, mask_sequence
from albert_data.records import schema
from tests.pretraining_records import (
    CLS,
    MASK,
    SEP,
    SHAPE,
    VOCAB,
    config,
    documents,
    encode_instance,
    make_records,
)

# sha256 of make_records(40, seed=3, ...) computed on the tree before bundling (commit
# 6fab12b): a change here changes the records every seed produces.
PINNED = {
    ("static", 3): "f45f38afdd4a029f9b5e99dd575d96010f31fb6fc1d28333b901d0378898f4b0",
    ("dynamic", 2): "2631f99d3fb7d9aa8d1a5b058524e8a90a227fa710ed0e52a86ff8766a481d21",
}


@pytest.mark.parametrize(("masking", "dupe_factor"), sorted(PINNED))
def test_records_are_the_bytes_pinned_before_bundling(masking, dupe_factor):
    data = make_records(40, seed=3, masking=masking, dupe_factor=dupe_factor)
    assert hashlib.sha256(b"".join(data)).hexdigest() == PINNED[masking, dupe_factor]


@pytest.mark.parametrize("masking", ["static", "dynamic"])
@pytest.mark.parametrize("size", [1, 3, 17, 60])
def test_bundles_of_any_size_give_the_records_of_single_documents(masking, size):
    cfg = config(masking, dupe_factor=3)
    docs = list(documents(60, seed=size))
    # An empty and a one-token document in the middle: skipped, without shifting the rest.
    docs[5] = (TokenizedDocument.from_sentences([], []), b"e" * 20)
    docs[9] = (
        TokenizedDocument.from_sentences([np.array([7], np.int32)], [np.ones(1, bool)]),
        b"o" * 20,
    )
    single = [list(document_records(d, h, config=cfg, vocab=VOCAB)) for d, h in docs]
    rngs = DocumentRngs()
    bundled = []
    for first in range(0, len(docs), size):
        bundled += bundle_records(docs[first : first + size], config=cfg, vocab=VOCAB, rngs=rngs)
    assert bundled == single
    assert single[5] == [] and single[9] == [] and sum(map(len, single)) > 100


def test_mask_batch_equals_mask_sequence_one_after_another():
    masking = MaskingConfig(max_predictions_per_seq=8, max_n=3)
    instances = []
    for doc, _ in documents(30, seed=11):
        outcome = create_instances(
            doc,
            config=config().instances,
            cls_id=CLS,
            sep_id=SEP,
            rng=np.random.default_rng(1),
        )
        instances += outcome.instances
    kwargs = dict(config=masking, mask_id=MASK, regular_ids=VOCAB.regular)
    rng = np.random.default_rng(42)
    expected = [
        mask_sequence(i.ids, i.token_boundary, i.special, rng=rng, **kwargs) for i in instances
    ]
    cat = {
        name: np.concatenate([getattr(i, name) for i in instances])
        for name in ("ids", "token_boundary", "special")
    }
    offsets = np.concatenate(([0], np.cumsum([i.ids.size for i in instances])))
    got = mask_batch(
        Sequences(cat["ids"], cat["token_boundary"], cat["special"], offsets),
        rng=np.random.default_rng(42),
        **kwargs,
    )
    assert got.position_offsets[-1] == sum(e.positions.size for e in expected) > 50
    for j, e in enumerate(expected):
        s, t = offsets[j], offsets[j + 1]
        p, q = got.position_offsets[j], got.position_offsets[j + 1]
        assert np.array_equal(got.input_ids[s:t], e.input_ids)
        assert np.array_equal(got.positions[p:q], e.positions)
        assert np.array_equal(got.labels[p:q], e.labels)
        assert got.ngram_lengths[j] == tuple(e.ngram_lengths.tolist())


def test_mask_batch_refuses_sequences_without_special_ends():
    ids = np.array([2, 9, 9, 3, 9, 9, 9, 3], dtype=np.int32)
    special = ids == 3
    special[0] = True  # the second sequence starts at 4, on a regular token
    with pytest.raises(ValueError, match="begin and end with a special token"):
        mask_batch(
            Sequences(ids, np.ones(8, bool), special, np.array([0, 4, 8])),
            config=MaskingConfig(),
            mask_id=MASK,
            regular_ids=VOCAB.regular,
            rng=np.random.default_rng(0),
        )


@pytest.mark.parametrize("top", [100, 300, 20_000, 3_000_000, 2**40])
def test_serialize_batch_equals_serialize_unpadded(top):
    rng = np.random.default_rng(top % 1000)
    lengths = rng.integers(5, SHAPE.max_seq_length + 1, 25)
    counts = rng.integers(0, SHAPE.max_predictions_per_seq + 1, 25)
    counts[3] = 0
    lengths[4] = SHAPE.max_seq_length
    ids = rng.integers(0, top, int(lengths.sum()))
    seg = rng.integers(0, 2, ids.size).astype(np.int8)
    boundary = rng.random(ids.size) < 0.6
    pos = rng.integers(0, SHAPE.max_seq_length, int(counts.sum()))
    lab = rng.integers(0, top, pos.size)
    labels = (rng.random(25) < 0.5).tolist()
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    poffsets = np.concatenate(([0], np.cumsum(counts)))
    got = schema.serialize_batch(
        input_ids=ids,
        segment_ids=seg,
        token_boundary=boundary,
        offsets=offsets,
        masked_lm_positions=pos,
        masked_lm_ids=lab,
        position_offsets=poffsets,
        next_sentence_labels=labels,
        shape=SHAPE,
    )
    for j in range(25):
        s, t, p, q = offsets[j], offsets[j + 1], poffsets[j], poffsets[j + 1]
        want = schema.serialize_unpadded(
            input_ids=ids[s:t],
            segment_ids=seg[s:t],
            token_boundary=boundary[s:t],
            masked_lm_positions=pos[p:q],
            masked_lm_ids=lab[p:q],
            next_sentence_label=int(labels[j]),
            shape=SHAPE,
        )
        assert got[j] == want
        assert schema.parse(got[j])["input_ids"][: t - s].tolist() == ids[s:t].tolist()


def test_serialize_batch_refuses_a_record_over_the_shape():
    with pytest.raises(ValueError, match="exceeds shape"):
        schema.serialize_batch(
            input_ids=np.ones(60, np.int32),
            segment_ids=np.zeros(60, np.int8),
            token_boundary=np.ones(60, bool),
            offsets=np.array([0, 10, 60]),
            masked_lm_positions=np.zeros(0, np.int32),
            masked_lm_ids=np.zeros(0, np.int32),
            position_offsets=np.array([0, 0, 0]),
            next_sentence_labels=[False, True],
            shape=SHAPE,
        )


def test_encode_instance_still_equals_the_bundle_bytes():
    cfg = config("dynamic")
    doc, digest = next(documents(1, seed=5))
    outcome = create_instances(
        doc,
        config=cfg.instances,
        cls_id=CLS,
        sep_id=SEP,
        rng=DocumentRngs()(cfg.random_seed, digest, 0),
    )
    records = list(document_records(doc, digest, config=cfg, vocab=VOCAB))
    assert [encode_instance(i, None, SHAPE) for i in outcome.instances] == [r.data for r in records]


def test_split_flat_equals_from_flat_per_document():
    rng = np.random.default_rng(3)
    per_doc, counts = [], []
    for _ in range(12):
        lengths = rng.integers(0, 6, int(rng.integers(1, 5)))  # empty sentences included
        ids = rng.integers(5, 300, int(lengths.sum())).astype(np.int32)
        starts = rng.random(ids.size) < 0.5
        per_doc.append((ids, starts, lengths))
        counts.append(lengths.size)
    docs = TokenizedDocument.split_flat(
        np.concatenate([d[0] for d in per_doc]),
        np.concatenate([d[1] for d in per_doc]),
        np.concatenate([d[2] for d in per_doc]),
        counts,
    )
    for got, (ids, starts, lengths) in zip(docs, per_doc, strict=True):
        want = TokenizedDocument.from_flat(ids, starts, lengths)
        assert np.array_equal(got.ids, want.ids) and got.ids.dtype == want.ids.dtype
        assert np.array_equal(got.word_starts, want.word_starts)
        assert np.array_equal(got.offsets, want.offsets)


@pytest.mark.parametrize("sample", ["sample_en", "sample_zh"])
def test_one_tokenizer_call_per_bundle_gives_each_documents_own_encoding(sample, request):
    # MakeRecords encodes all sentences of a bundle at once and splits them per document:
    # the same documents as encoding each alone (real SentencePiece; jieba for Chinese).
    from albert_data.text.tokenization import load_tokenizer

    paths = request.getfixturevalue(sample)
    tok = load_tokenizer(spm_model=str(paths["spm"]))
    text = paths["sentences"].read_text(encoding="utf-8")
    docs = [d.split("\n") for d in text.strip("\n").split("\n\n")][:40]
    docs[3] = ["", *docs[3], ""]  # empty sentences are dropped per document
    _assert_one_call_splits_into_each_alone(tok, docs)


@pytest.mark.parametrize("segmenter", ["jieba", "none"])
def test_one_wordpiece_call_per_bundle_gives_each_documents_own_encoding(
    segmenter, sample_zh, tmp_path
):
    # The same for a WordPiece vocab.txt (make-pretraining --vocab-file), with and
    # without jieba word starts.
    from albert_data.text.tokenization import load_tokenizer
    from tests.wordpiece_vocab import write_chinese_vocab

    vocab = write_chinese_vocab(tmp_path / "vocab.txt")
    tok = load_tokenizer(vocab_file=str(vocab), word_segmenter=segmenter)
    text = sample_zh["sentences"].read_text(encoding="utf-8")
    docs = [d.split("\n") for d in text.strip("\n").split("\n\n")][:40]
    docs[3] = ["", *docs[3], ""]
    _assert_one_call_splits_into_each_alone(tok, docs)


def _assert_one_call_splits_into_each_alone(tok, docs: list[list[str]]) -> None:
    """One ``encode_flat`` over every sentence of ``docs``, split per document, equals
    each document's own encoding."""
    flat = tok.encode_flat([s for d in docs for s in d])
    split = TokenizedDocument.split_flat(
        flat.ids, flat.word_starts, flat.lengths, [len(d) for d in docs]
    )
    assert len(docs) > 5 and sum(d.num_tokens for d in split) > 1000
    for doc, sentences in zip(split, docs, strict=True):
        alone = tok.encode_flat(sentences)
        want = TokenizedDocument.from_flat(alone.ids, alone.word_starts, alone.lengths)
        assert np.array_equal(doc.ids, want.ids)
        assert np.array_equal(doc.word_starts, want.word_starts)
        assert np.array_equal(doc.offsets, want.offsets)
