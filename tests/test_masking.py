"""N-gram whole-word masking: invariants (hypothesis) and the statistics of the recipe."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albert_data.pretraining.masking import (
    MaskingConfig,
    mask_record,
    mask_sequence,
    prediction_budget,
)

CLS, SEP, MASK = 2, 3, 4
REGULAR = np.arange(5, 1000, dtype=np.int32)


def build(len_a: int, len_b: int, boundary: np.ndarray, ids: np.ndarray):
    """[CLS] A [SEP] B [SEP]: ids, token_boundary, special."""
    n = len_a + len_b + 3
    special = np.zeros(n, bool)
    special[[0, len_a + 1, n - 1]] = True
    seq = np.empty(n, np.int32)
    seq[~special] = ids
    seq[0], seq[len_a + 1], seq[n - 1] = CLS, SEP, SEP
    tb = np.ones(n, bool)
    tb[~special] = boundary
    return seq, tb, special


@st.composite
def cases(draw):
    len_a = draw(st.integers(1, 40))
    len_b = draw(st.integers(1, 40))
    k = len_a + len_b
    boundary = np.array(draw(st.lists(st.booleans(), min_size=k, max_size=k)), bool)
    ids = np.array(draw(st.lists(st.integers(5, 999), min_size=k, max_size=k)), np.int32)
    config = MaskingConfig(
        masked_lm_prob=draw(st.sampled_from([0.05, 0.15, 0.3, 0.6, 1.0])),
        max_predictions_per_seq=draw(st.integers(1, 30)),
        max_n=draw(st.integers(1, 4)),
        favor_shorter_ngram=draw(st.booleans()),
        do_whole_word_mask=draw(st.booleans()),
    )
    seed = draw(st.integers(0, 2**32 - 1))
    return (*build(len_a, len_b, boundary, ids), config, seed)


def run(ids, tb, special, config, seed):
    return mask_sequence(
        ids,
        tb,
        special,
        config=config,
        mask_id=MASK,
        regular_ids=REGULAR,
        rng=np.random.default_rng(seed),
    )


def words_of(tb, special, whole_word):
    """Brute force: (start, end, segment index) of every word, a word never holding [CLS]/[SEP]."""
    words, segment, start = [], 0, None
    for i in range(tb.size):
        if special[i]:
            if start is not None:
                words.append((start, i, segment))
            start, segment = None, segment + 1
        elif start is None or not whole_word or tb[i]:
            if start is not None:
                words.append((start, i, segment))
            start = i
    return words


PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(cases())
def test_positions_unique_sorted_within_budget(case):
    ids, tb, special, config, seed = case
    result = run(*case)
    positions = result.positions
    assert positions.size == np.unique(positions).size  # no token masked twice
    assert (np.diff(positions) > 0).all()
    assert positions.size <= prediction_budget(ids.size, config) <= config.max_predictions_per_seq
    # Something is masked whenever some word fits the budget (a longer one is skipped).
    shortest = min(e - s for s, e, _ in words_of(tb, special, config.do_whole_word_mask))
    assert (positions.size >= 1) == (shortest <= prediction_budget(ids.size, config))
    np.testing.assert_array_equal(result.labels, ids[positions])


@PROPERTY
@given(cases())
def test_never_on_cls_or_sep(case):
    ids, tb, special, config, seed = case
    result = run(*case)
    assert not special[result.positions].any()
    np.testing.assert_array_equal(result.input_ids[special], ids[special])


@PROPERTY
@given(cases())
def test_replacements_are_mask_original_or_regular(case):
    ids, tb, special, config, seed = case
    result = run(*case)
    out, pos = result.input_ids, result.positions
    untouched = np.ones(ids.size, bool)
    untouched[pos] = False
    np.testing.assert_array_equal(out[untouched], ids[untouched])
    shown = out[pos]
    assert np.all((shown == MASK) | (shown == ids[pos]) | np.isin(shown, REGULAR))
    assert not np.isin(shown, [0, 1, CLS, SEP]).any()


@PROPERTY
@given(cases())
def test_whole_words_masked_entirely(case):
    ids, tb, special, config, seed = case
    result = run(*case)
    masked = np.zeros(ids.size, bool)
    masked[result.positions] = True
    for start, end, _ in words_of(tb, special, config.do_whole_word_mask):
        assert masked[start:end].all() or not masked[start:end].any(), (start, end)


@PROPERTY
@given(cases())
def test_ngrams_stay_inside_one_segment(case):
    ids, tb, special, config, seed = case
    result = run(*case)
    words = words_of(tb, special, config.do_whole_word_mask)
    masked = np.zeros(ids.size, bool)
    masked[result.positions] = True
    masked_words = [w for w in words if masked[w[0]]]
    n = result.ngram_lengths
    # The n-grams tile the masked words exactly ...
    assert n.sum() == len(masked_words)
    assert (n >= 1).all() and (n <= config.max_n).all()
    # ... each n-gram is no longer than the segment it lies in ...
    per_segment = np.bincount([w[2] for w in words])
    assert n.size == 0 or n.max() <= per_segment.max()
    # ... and one n-gram never makes two runs of masked words (as crossing [SEP] would).
    runs = sum(
        1
        for i, w in enumerate(masked_words)
        if i == 0
        or masked_words[i - 1][2] != w[2]
        or words.index(masked_words[i - 1]) != words.index(w) - 1
    )
    assert runs <= n.size


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), len_a=st.integers(1, 6), len_b=st.integers(1, 6))
def test_ngrams_do_not_cross_sep_with_one_word_per_segment(seed, len_a, len_b):
    # Each segment is a single word: every n-gram must be a 1-gram, whatever max_n.
    boundary = np.zeros(len_a + len_b, bool)
    boundary[[0, len_a]] = True
    ids, tb, special = build(len_a, len_b, boundary, np.arange(len_a + len_b) + 5)
    config = MaskingConfig(masked_lm_prob=1.0, max_predictions_per_seq=50, max_n=3)
    result = run(ids, tb, special, config, seed)
    assert result.ngram_lengths.tolist() == [1, 1]


@PROPERTY
@given(cases())
def test_deterministic_for_a_seed(case):
    a, b = run(*case), run(*case)
    for field in ("input_ids", "positions", "labels", "ngram_lengths"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(0, 20))
def test_mask_record_pads_what_mask_sequence_gives(case, padding):
    ids, tb, special, config, seed = case
    n = ids.size
    L = n + padding
    padded_ids = np.zeros(L, np.int64)
    padded_ids[:n] = ids
    padded_tb = np.zeros(L, np.int64)
    padded_tb[:n] = tb
    input_mask = (np.arange(L) < n).astype(np.int64)
    out, positions, labels, weights = mask_record(
        padded_ids,
        padded_tb,
        input_mask,
        config=config,
        mask_id=MASK,
        cls_id=CLS,
        sep_id=SEP,
        regular_ids=REGULAR,
        rng=np.random.default_rng(seed),
    )
    expected = run(*case)
    m = expected.positions.size
    assert positions.size == labels.size == weights.size == config.max_predictions_per_seq
    np.testing.assert_array_equal(out[:n], expected.input_ids)
    assert not out[n:].any()
    np.testing.assert_array_equal(positions[:m], expected.positions)
    np.testing.assert_array_equal(labels[:m], expected.labels)
    assert (weights[:m] == 1.0).all() and not weights[m:].any()
    assert not positions[m:].any() and not labels[m:].any()


# --- statistics over many instances -----------------------------------------------------


def many(config, *, count, len_a, len_b, word_start_prob, seed):
    """Mask ``count`` random sequences; yield (ids, result)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        k = len_a + len_b
        boundary = rng.random(k) < word_start_prob
        ids, tb, special = build(len_a, len_b, boundary, rng.choice(REGULAR, k))
        yield ids, run(ids, tb, special, config, int(rng.integers(2**32)))


@pytest.mark.parametrize("whole_word", [True, False])
def test_mask_rate_is_fifteen_percent_of_tokens(whole_word):
    config = MaskingConfig(max_predictions_per_seq=20, do_whole_word_mask=whole_word)
    tokens = masked = 0
    budget = prediction_budget(128, config)
    assert budget == 19  # round(128 × 0.15), under the cap of 20
    for ids, result in many(config, count=1500, len_a=60, len_b=65, word_start_prob=0.75, seed=1):
        assert result.positions.size <= budget
        tokens += ids.size
        masked += result.positions.size
    assert masked / tokens == pytest.approx(0.15, abs=0.005)


def test_mask_count_respects_max_predictions():
    config = MaskingConfig(max_predictions_per_seq=10)
    counts = [
        r.positions.size
        for _, r in many(config, count=500, len_a=60, len_b=65, word_start_prob=0.75, seed=2)
    ]
    assert max(counts) == 10
    assert np.mean(counts) > 9.8  # the budget is nearly always filled


def ngram_shares(config, seed):
    lengths = np.concatenate(
        [
            r.ngram_lengths
            for _, r in many(
                config, count=100, len_a=6000, len_b=6000, word_start_prob=1.0, seed=seed
            )
        ]
    )
    return np.bincount(lengths, minlength=config.max_n + 1)[1:] / lengths.size, lengths.size


def test_ngram_length_mix_is_proportional_to_one_over_n():
    # Plenty of words and a low mask rate (budget 120 of 12 003 tokens), so few n-grams
    # are shortened to fit the budget or rejected for overlapping.
    config = MaskingConfig(masked_lm_prob=0.01, max_predictions_per_seq=1000, max_n=3)
    shares, count = ngram_shares(config, seed=3)
    assert count > 7000
    expected = np.array([1, 1 / 2, 1 / 3]) / (1 + 1 / 2 + 1 / 3)  # 6/11, 3/11, 2/11
    np.testing.assert_allclose(shares, expected, atol=0.025)  # about four standard deviations


def test_ngram_length_mix_is_uniform_without_favor_shorter():
    config = MaskingConfig(
        masked_lm_prob=0.01, max_predictions_per_seq=1000, max_n=3, favor_shorter_ngram=False
    )
    shares, _ = ngram_shares(config, seed=4)
    np.testing.assert_allclose(shares, [1 / 3, 1 / 3, 1 / 3], atol=0.025)


def test_replacement_mix_is_80_10_10():
    config = MaskingConfig(max_predictions_per_seq=20)
    shown_mask = kept = random = 0
    for _ids, result in many(config, count=1200, len_a=60, len_b=65, word_start_prob=0.75, seed=5):
        shown = result.input_ids[result.positions]
        is_mask = shown == MASK
        is_kept = ~is_mask & (shown == result.labels)
        shown_mask += is_mask.sum()
        kept += is_kept.sum()
        random += (~is_mask & ~is_kept).sum()
    total = shown_mask + kept + random
    assert total > 20000
    # Four standard deviations: 0.8 ± 0.011, 0.1 ± 0.008.
    assert shown_mask / total == pytest.approx(0.8, abs=0.011)
    assert kept / total == pytest.approx(0.1, abs=0.008)
    assert random / total == pytest.approx(0.1, abs=0.008)
