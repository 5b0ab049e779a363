"""The batched core against a plain reference, one sequence at a time (hypothesis).

``build_instances``, ``mask_batch`` and ``record_chunks`` work on many instances at once
(vectorised gathers, word spans of the whole batch, one generator per duplicate handed
in as streams, steps that may split a duplicate). The references below are written
from the algorithm's description, one instance and one token at a time, drawing from
the generator in the documented order; the batched code must give the same arrays and
the same record bytes for any batch, any streams and any step size."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from albert_data.pretraining.document_records import (
    document_rng,
    record_chunks,
    sort_key,
)
from albert_data.pretraining.instances import (
    TokenizedDocument,
    build_instances,
    cut_long_sentences,
    plan_instances,
)
from albert_data.pretraining.masking import MaskingConfig, Sequences, mask_batch
from albert_data.records import schema
from tests.pretraining_records import CLS, MASK, SEP, VOCAB, config

REGULAR = VOCAB.regular


def reference_instance(doc: TokenizedDocument, pair, swapped: bool):
    """[CLS] A [SEP] B [SEP] of one planned pair: (ids, segment ids, token boundary,
    special)."""
    a0, a1, b0, b1 = pair
    ids = [CLS, *doc.ids[a0:a1].tolist(), SEP, *doc.ids[b0:b1].tolist(), SEP]
    segments = [0] * (a1 - a0 + 2) + [1] * (b1 - b0 + 1)
    boundary = [True, *doc.word_starts[a0:a1].tolist(), True]
    boundary += [*doc.word_starts[b0:b1].tolist(), True]
    special = [True] + [False] * (a1 - a0) + [True] + [False] * (b1 - b0) + [True]
    return ids, segments, boundary, special


def reference_words(boundary, special, whole_word: bool):
    """(start, end, words left in the segment) of each candidate word, token by token."""
    starts = []
    for i, is_special in enumerate(special):
        if is_special:
            continue
        if not whole_word or boundary[i] or i == 0 or special[i - 1]:
            starts.append(i)
    words = []
    for w, s in enumerate(starts):
        e = s + 1
        while e < len(special) and not special[e] and e not in starts:
            e += 1
        left = 1
        while w + left < len(starts) and not any(special[s : starts[w + left]]):
            left += 1
        words.append((s, e, left))
    return words


def reference_mask(ids, boundary, special, masking: MaskingConfig, rng):
    """One sequence's masks: (masked ids, positions, labels, n-gram lengths)."""
    words = reference_words(boundary, special, masking.do_whole_word_mask)
    if not words:
        return list(ids), [], [], []
    budget = min(
        masking.max_predictions_per_seq, max(1, int(round(len(ids) * masking.masked_lm_prob)))
    )
    order = rng.permutation(len(words)).tolist()
    covered, count, taken = set(), 0, []
    chunk = 2 * budget + 4  # n-gram lengths are drawn for this many candidates at a time
    for first in range(0, len(order), chunk):
        candidates = order[first : first + chunk]
        for w, u in zip(candidates, rng.random(len(candidates)).tolist()):
            room = min(words[w][2], masking.max_n)
            weights = 1.0 / np.arange(1, room + 1) if masking.favor_shorter_ngram else np.ones(room)
            cdf = np.cumsum(weights / weights.sum())
            cdf[-1] = 1.0
            n = 1
            while u >= cdf[n - 1]:
                n += 1
            s = words[w][0]
            while n > 0 and count + words[w + n - 1][1] - s > budget:
                n -= 1
            if n == 0:
                continue
            span = set(range(s, words[w + n - 1][1]))
            if span & covered:
                continue
            covered |= span
            count += len(span)
            taken.append(n)
            if count >= budget:
                break
        if count >= budget:
            break
    positions = sorted(covered)
    out = list(ids)
    if positions:
        roll = rng.random(len(positions))
        picks = rng.integers(0, REGULAR.size, int((roll >= 0.9).sum())).tolist()
        for p, r in zip(positions, roll.tolist()):
            if r < 0.8:
                out[p] = MASK
            elif r >= 0.9:
                out[p] = int(REGULAR[picks.pop(0)])
    return out, positions, [ids[p] for p in positions], taken


@st.composite
def tokenized_documents(draw, max_sentences=12):
    sizes = draw(st.lists(st.integers(1, 30), min_size=1, max_size=max_sentences))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    ids = [rng.integers(5, 300, n).astype(np.int32) for n in sizes]
    starts = [rng.random(n) < draw(st.sampled_from([0.2, 0.7, 1.0])) for n in sizes]
    return TokenizedDocument.from_sentences(ids, starts)


maskings = st.builds(
    MaskingConfig,
    masked_lm_prob=st.sampled_from([0.05, 0.15, 0.4, 1.0]),
    max_predictions_per_seq=st.integers(1, 25),
    max_n=st.integers(1, 4),
    favor_shorter_ngram=st.booleans(),
    do_whole_word_mask=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(tokenized_documents(), min_size=1, max_size=4), st.data())
def test_build_instances_equals_one_instance_at_a_time(docs, data):
    cfg = config()
    plans, want = [], []
    for k, doc in enumerate(docs):
        cut = cut_long_sentences(doc, cfg.instances.max_num_tokens).doc
        plan = plan_instances(cut, config=cfg.instances, rng=np.random.default_rng(k))
        if not plan.pairs:
            continue
        first = data.draw(st.integers(0, len(plan.pairs) - 1))
        stop = data.draw(st.integers(first + 1, len(plan.pairs)))
        plans.append((cut, plan.part(first, stop)))  # any slice, as a step takes them
        want += [reference_instance(cut, p, s) for p, s in zip(plan.pairs, plan.swapped)][
            first:stop
        ]
    if not plans:
        return
    batch = build_instances(plans, CLS, SEP)
    bounds = batch.offsets.tolist()
    assert len(batch) == len(want)
    for i, (ids, segments, boundary, special) in enumerate(want):
        s, e = bounds[i], bounds[i + 1]
        assert batch.ids[s:e].tolist() == ids
        assert batch.segment_ids[s:e].tolist() == segments
        assert batch.token_boundary[s:e].tolist() == boundary
        assert batch.special[s:e].tolist() == special


@settings(max_examples=150, deadline=None)
@given(st.lists(tokenized_documents(), min_size=1, max_size=5), maskings, st.data())
def test_mask_batch_equals_the_reference_per_sequence(docs, masking, data):
    # Instances of several documents, masked as one batch with the sequences split into
    # streams at random points, each stream its own generator.
    cfg = config()
    plans = []
    for k, doc in enumerate(docs):
        plan = plan_instances(doc, config=cfg.instances, rng=np.random.default_rng(k))
        if plan.pairs:
            plans.append((doc, plan))
    if not plans:
        return
    batch = build_instances(plans, CLS, SEP)
    n = len(batch)
    firsts = sorted({0, *data.draw(st.lists(st.integers(0, n - 1), max_size=4))})
    seeds = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=len(firsts)))
    streams = [(f, np.random.default_rng(s)) for f, s in zip(firsts, seeds)]
    got = mask_batch(
        Sequences(batch.ids, batch.token_boundary, batch.special, batch.offsets),
        config=masking,
        mask_id=MASK,
        regular_ids=REGULAR,
        streams=streams,
    )
    references = [np.random.default_rng(s) for s in seeds]
    bounds, pbounds = batch.offsets.tolist(), got.position_offsets.tolist()
    for i in range(n):
        rng = references[max(j for j, f in enumerate(firsts) if f <= i)]
        s, e = bounds[i], bounds[i + 1]
        ids, positions, labels, ngrams = reference_mask(
            batch.ids[s:e].tolist(),
            batch.token_boundary[s:e].tolist(),
            batch.special[s:e].tolist(),
            masking,
            rng,
        )
        p, q = pbounds[i], pbounds[i + 1]
        assert got.input_ids[s:e].tolist() == ids
        assert got.positions[p:q].tolist() == positions
        assert got.labels[p:q].tolist() == labels
        assert list(got.ngram_lengths[i]) == ngrams


@settings(max_examples=60, deadline=None)
@given(
    st.lists(tokenized_documents(max_sentences=40), min_size=1, max_size=4),
    st.integers(1, 4),
    st.sampled_from([1, 40, 100, 700, 10**6]),
    st.integers(0, 2**32 - 1),
)
def test_record_chunks_equal_the_reference_per_duplicate(docs, dupe_factor, step, seed):
    # The whole static path: per document and duplicate its own generator plans the
    # instances, then masks each in turn; records serialised one at a time.
    cfg = config("static", dupe_factor=dupe_factor, seed=seed)
    digests = [bytes([k]) * 20 for k in range(len(docs))]
    want = []
    for doc, digest in zip(docs, digests):
        cut = cut_long_sentences(doc, cfg.instances.max_num_tokens).doc
        for dupe in range(dupe_factor):
            rng = document_rng(seed, digest, dupe)
            plan = plan_instances(cut, config=cfg.instances, rng=rng)
            if plan.skipped:
                break
            for index, (pair, swapped) in enumerate(zip(plan.pairs, plan.swapped)):
                ids, segments, boundary, special = reference_instance(cut, pair, swapped)
                masked, positions, labels, _ = reference_mask(
                    ids, boundary, special, cfg.masking, rng
                )
                data = schema.serialize_unpadded(
                    input_ids=np.array(masked),
                    segment_ids=np.array(segments),
                    token_boundary=np.array(boundary),
                    masked_lm_positions=np.array(positions, dtype=np.int64),
                    masked_lm_ids=np.array(labels, dtype=np.int64),
                    next_sentence_label=int(swapped),
                    shape=cfg.shape,
                )
                want.append((sort_key(digest, dupe, index), data))
    chunks = record_chunks(list(zip(docs, digests)), config=cfg, vocab=VOCAB, chunk_tokens=step)
    got = [(r.key, r.data) for chunk in chunks for r in chunk.records]
    assert got == want
