"""SOP instance creation: Google's truncation, chunking and swapping, and the one-sentence split."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albert_data.pretraining.instances import (
    InstanceConfig,
    TokenizedDocument,
    create_instances,
    cut_long_sentences,
    truncation_counts,
)

CLS, SEP = 2, 3


def google_truncate(len_a: int, len_b: int, max_num_tokens: int, rng: random.Random):
    """Google's ``truncate_seq_pair`` loop on lists, one token at a time; returns the
    tokens dropped from A and from B, and the surviving lists."""
    tokens_a, tokens_b = list(range(len_a)), list(range(len_a, len_a + len_b))
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        trunc_tokens = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        assert len(trunc_tokens) >= 1
        if rng.random() < 0.5:
            del trunc_tokens[0]
        else:
            trunc_tokens.pop()
    return (len_a - len(tokens_a), len_b - len(tokens_b)), tokens_a, tokens_b


def doc_of(sentences, word_starts=None) -> TokenizedDocument:
    ids = [np.asarray(s, np.int32) for s in sentences]
    if word_starts is None:
        word_starts = [np.ones(s.size, bool) for s in ids]
    return TokenizedDocument.from_sentences(ids, [np.asarray(w, bool) for w in word_starts])


def instances(doc, seed, max_seq_length=32, short_seq_prob=0.0):
    config = InstanceConfig(max_seq_length=max_seq_length, short_seq_prob=short_seq_prob)
    return create_instances(
        doc, config=config, cls_id=CLS, sep_id=SEP, rng=np.random.default_rng(seed)
    )


def segments(instance):
    ids = instance.ids
    seps = np.flatnonzero(ids == SEP)
    return ids[1 : seps[0]], ids[seps[0] + 1 : -1]


def test_truncation_counts_match_googles_loop_exhaustively():
    rng = random.Random(0)
    for max_tokens in range(2, 24):
        for len_a in range(1, 30):
            for len_b in range(1, 30):
                expected, _, _ = google_truncate(len_a, len_b, max_tokens, rng)
                assert truncation_counts(len_a, len_b, max_tokens) == expected, (
                    len_a,
                    len_b,
                    max_tokens,
                )


@settings(max_examples=200, deadline=None)
@given(
    max_seq_length=st.integers(5, 40),
    len_a=st.integers(1, 60),
    len_b=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
)
def test_instance_truncation_matches_google(max_seq_length, len_a, len_b, seed):
    max_tokens = max_seq_length - 3
    len_a = min(len_a, max_tokens - 1)  # the chunk must hold both sentences
    if len_a < 1:
        return
    doc = doc_of([np.arange(len_a) + 10, np.arange(len_b) + 10 + len_a])
    (instance,) = instances(doc, seed, max_seq_length=max_seq_length).instances
    first, second = segments(instance)
    # Google swaps first, then truncates the swapped pair.
    pre = (len_b, len_a) if instance.swapped else (len_a, len_b)
    (drop_1, drop_2), _, _ = google_truncate(*pre, max_tokens, random.Random(seed))
    assert (first.size, second.size) == (pre[0] - drop_1, pre[1] - drop_2)
    # Each segment is a contiguous piece of its own sentence (ids count up by one).
    for seg in (first, second):
        assert seg.size >= 1 and (np.diff(seg) == 1).all()
    a_part, b_part = (second, first) if instance.swapped else (first, second)
    assert a_part[0] >= 10 and a_part[-1] < 10 + len_a
    assert b_part[0] >= 10 + len_a and b_part[-1] < 10 + len_a + len_b
    assert instance.ids.size <= max_seq_length


@st.composite
def documents(draw):
    num = draw(st.integers(0, 12))
    sentences, starts = [], []
    for _ in range(num):
        n = draw(st.integers(0, 30))
        sentences.append(np.arange(n) + 10 + sum(s.size for s in sentences))
        starts.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool))
    return doc_of(sentences, starts)


@settings(max_examples=200, deadline=None)
@given(
    doc=documents(),
    max_seq_length=st.integers(5, 48),
    short_seq_prob=st.sampled_from([0.0, 0.1, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_instance_invariants(doc, max_seq_length, short_seq_prob, seed):
    outcome = instances(doc, seed, max_seq_length, short_seq_prob)
    if doc.num_tokens == 0:
        assert outcome.skipped == "empty" and not outcome.instances
        return
    if doc.num_tokens == 1:
        assert outcome.skipped == "one_token" and not outcome.instances
        return
    assert outcome.skipped is None
    assert outcome.instances  # at least the first chunk holds two tokens
    kept = 0
    for inst in outcome.instances:
        n = inst.ids.size
        assert n <= max_seq_length
        first, second = segments(inst)
        assert first.size >= 1 and second.size >= 1
        assert inst.ids[0] == CLS and inst.ids[-1] == SEP
        assert np.count_nonzero(inst.ids == SEP) == 2
        np.testing.assert_array_equal(inst.special, np.isin(inst.ids, [CLS, SEP]))
        np.testing.assert_array_equal(inst.segment_ids, np.arange(n) > first.size + 1)
        assert inst.token_boundary[inst.special].all()
        # Tokens keep their document word starts.
        regular = inst.ids[~inst.special]
        np.testing.assert_array_equal(
            inst.token_boundary[~inst.special], doc.word_starts[regular - 10]
        )
        kept += regular.size
    assert kept + outcome.truncated_tokens <= doc.num_tokens


def test_empty_and_one_token_documents_are_skipped():
    assert instances(doc_of([]), 0).skipped == "empty"
    assert instances(doc_of([[], []]), 0).skipped == "empty"
    assert instances(doc_of([[], [7], []]), 0).skipped == "one_token"
    outcome = instances(doc_of([[7, 8]]), 0)
    assert outcome.skipped is None
    assert outcome.instances[0].ids.tolist() in ([CLS, 7, SEP, 8, SEP], [CLS, 8, SEP, 7, SEP])


def test_one_sentence_documents_split_at_word_boundaries():
    sentence = np.arange(20) + 10
    word_starts = np.zeros(20, bool)
    word_starts[[0, 4, 9, 15]] = True  # words: 10-13, 14-18, 19-24, 25-29
    cuts = set()
    for seed in range(200):
        (inst,) = instances(doc_of([sentence], [word_starts]), seed, max_seq_length=64).instances
        first, second = segments(inst)
        a, b = (second, first) if inst.swapped else (first, second)
        np.testing.assert_array_equal(np.concatenate([a, b]), sentence)  # nothing lost
        assert word_starts[b[0] - 10]
        cuts.add(int(b[0] - 10))
    assert cuts == {4, 9, 15}  # every inner word boundary is used


def test_one_sentence_without_inner_word_boundary_is_split_anywhere():
    sentence = np.arange(6) + 10
    word_starts = np.array([True, False, False, False, False, False])
    cuts = set()
    for seed in range(100):
        (inst,) = instances(doc_of([sentence], [word_starts]), seed).instances
        first, second = segments(inst)
        a, b = (second, first) if inst.swapped else (first, second)
        np.testing.assert_array_equal(np.concatenate([a, b]), sentence)
        cuts.add(int(b[0] - 10))
    assert cuts == {1, 2, 3, 4, 5}


def test_multi_sentence_chunks_split_at_sentence_boundaries():
    lengths = [3, 4, 5, 2]
    sentences, start = [], 10
    for n in lengths:
        sentences.append(np.arange(n) + start)
        start += n
    boundaries = {13, 17, 22}  # first ids of sentences 2..4
    for seed in range(100):
        (inst,) = instances(doc_of(sentences), seed, max_seq_length=64).instances
        first, second = segments(inst)
        a, b = (second, first) if inst.swapped else (first, second)
        np.testing.assert_array_equal(np.concatenate([a, b]), np.arange(10, 24))
        assert int(b[0]) in boundaries


def long_documents(count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        sentences = [
            np.arange(int(rng.integers(3, 20))) + 10 for _ in range(int(rng.integers(5, 40)))
        ]
        yield doc_of(sentences)


def test_sop_labels_are_balanced():
    swapped = [
        inst.swapped
        for i, doc in enumerate(long_documents(1500, seed=0))
        for inst in instances(doc, seed=i, max_seq_length=64).instances
    ]
    assert len(swapped) > 5000
    assert np.mean(swapped) == pytest.approx(0.5, abs=0.03)  # > 4 standard deviations


def test_without_short_sequences_every_chunk_but_the_last_fills_the_sequence():
    for i, doc in enumerate(long_documents(200, seed=1)):
        outcome = instances(doc, seed=i, max_seq_length=64, short_seq_prob=0.0)
        assert all(inst.ids.size == 64 for inst in outcome.instances[:-1])


def test_short_seq_prob_shortens_instances():
    def mean_length(short_seq_prob):
        lengths = [
            inst.ids.size
            for i, doc in enumerate(long_documents(300, seed=2))
            for inst in instances(
                doc, i, max_seq_length=64, short_seq_prob=short_seq_prob
            ).instances
        ]
        return np.mean(lengths)

    never, sometimes, always = mean_length(0.0), mean_length(0.1), mean_length(1.0)
    assert never > 55
    assert always < 0.75 * never  # targets drawn uniformly in [2, 61]
    assert always < sometimes < never


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="max_seq_length"):
        InstanceConfig(max_seq_length=4)
    with pytest.raises(ValueError, match="short_seq_prob"):
        InstanceConfig(short_seq_prob=1.5)


def test_reused_document_generators_give_the_fresh_streams():
    from albert_data.pretraining.document_records import DocumentRngs, document_rng

    rngs = DocumentRngs()
    for seed, digest, dupe in [
        (12345, b"a" * 20, 0),
        (12345, b"a" * 20, 1),
        (7, b"b" * 20, 0),
        (2**40, b"c" * 20, 3),
    ]:
        expected = document_rng(seed, digest, dupe).random(5)
        got = rngs(seed, digest, dupe).random(5)
        assert np.array_equal(got, expected)
    assert not np.array_equal(
        document_rng(1, b"a" * 20, 0).random(3), document_rng(1, b"a" * 20, 1).random(3)
    )


def pieces_of(cut):
    return [cut.doc.ids[a:b].tolist() for a, b in zip(cut.doc.offsets[:-1], cut.doc.offsets[1:])]


def test_long_sentences_are_cut_at_word_starts_into_pieces_that_fit():
    # Words of 3 tokens (start + 2 continuations): 10 words = 30 tokens, at most 8 per piece.
    ids = list(range(100, 130))
    starts = [i % 3 == 0 for i in range(30)]
    cut = cut_long_sentences(doc_of([[5, 6], ids, [7, 8, 9]], [[1, 1], starts, [1, 1, 1]]), 8)
    pieces = pieces_of(cut)
    assert pieces[0] == [5, 6] and pieces[-1] == [7, 8, 9]
    assert sum(pieces[1:-1], []) == ids  # nothing lost, order kept
    assert all(len(p) == 6 for p in pieces[1:-1])  # two whole words each
    assert all(p[0] % 3 == 100 % 3 for p in pieces[1:-1])  # each starts a word
    assert (cut.sentences, cut.pieces) == (1, 5)


def test_a_word_longer_than_a_piece_is_cut_inside_and_no_piece_is_one_token():
    cut = cut_long_sentences(doc_of([list(range(17))], [[1] + [0] * 16]), 8)
    assert [len(p) for p in pieces_of(cut)] == [8, 7, 2]
    assert sum(pieces_of(cut), []) == list(range(17))


def test_documents_without_long_sentences_are_unchanged():
    doc = doc_of([[1, 2, 3], [4, 5]])
    cut = cut_long_sentences(doc, 3)
    assert cut.doc is doc and (cut.sentences, cut.pieces) == (0, 0)


@given(documents(), st.integers(2, 40))
@settings(max_examples=200, deadline=None)
def test_cut_pieces_always_fit_and_keep_every_token(doc, max_tokens):
    cut = cut_long_sentences(doc, max_tokens)
    lengths = np.diff(cut.doc.offsets)
    assert lengths.max(initial=0) <= max_tokens
    long = np.diff(doc.offsets) > max_tokens
    for a, b in zip(doc.offsets[:-1][long], doc.offsets[1:][long]):
        inside = [o for o in cut.doc.offsets.tolist() if a <= o <= b]
        assert min(np.diff(inside)) >= (2 if max_tokens >= 3 else 1)
    assert cut.doc.ids.tolist() == doc.ids.tolist()
    assert set(doc.offsets.tolist()) <= set(cut.doc.offsets.tolist())
    assert cut.pieces - cut.sentences == lengths.size - doc.num_sentences
