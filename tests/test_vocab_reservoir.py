"""Reservoir sampling: seeded, uniform, independent of how the stream is chunked."""

from __future__ import annotations

import numpy as np

from vocab.reservoir import CHUNK, Reservoir, sample_key


def draw(items, k, seed, *, groups=1, shuffle=True):
    reservoir = Reservoir(k, np.random.default_rng(seed))
    for part in np.array_split(np.asarray(items, dtype=object), groups):
        reservoir.extend(part.tolist())
    return reservoir.sample(shuffle=shuffle), reservoir.seen


def test_same_seed_same_sample_different_seed_different_sample():
    items = [f"line {i}" for i in range(3 * CHUNK + 17)]
    a, seen = draw(items, 100, seed=7)
    b, _ = draw(items, 100, seed=7, groups=13)  # file boundaries do not matter
    c, _ = draw(items, 100, seed=8)
    assert a == b and a != c
    assert seen == len(items) and len(a) == 100 and len(set(a)) == 100


def test_small_stream_is_kept_whole_and_shuffled():
    items = [f"s{i}" for i in range(50)]
    sample, seen = draw(items, 100, seed=1)
    assert seen == 50 and sorted(sample) == sorted(items) and sample != items


def test_inclusion_is_uniform():
    n, k, trials = 2 * CHUNK, 256, 60
    counts = np.zeros(n)
    for seed in range(trials):
        sample, _ = draw(list(range(n)), k, seed, shuffle=False)
        counts[np.asarray(sample)] += 1
    expected = trials * k / n
    halves = counts.reshape(4, -1).sum(axis=1) / (expected * n / 4)  # each quarter of the stream
    assert np.allclose(halves, 1.0, atol=0.08)


def test_sample_key_is_stable_and_seeded():
    assert sample_key(1, "a line") == sample_key(1, "a line")
    assert sample_key(1, "a line") != sample_key(2, "a line")
    assert 0 <= sample_key(0, "x") < 2**64
