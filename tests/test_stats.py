"""PretrainingStats: merging sums every field, and the JSON form reads back exactly;
make-pretraining counts the same with one and with two DirectRunner workers."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import fields

import numpy as np
import pytest

from albert_data.records.stats import PretrainingStats
from tests.cli_helpers import invoke


def filled(base: int) -> PretrainingStats:
    """Statistics in which every count field holds a distinct non-zero value."""
    stats = PretrainingStats(max_seq_length=16, max_n=3)
    for i, f in enumerate(fields(stats)):
        if f.name in ("max_seq_length", "max_n"):
            continue
        value = getattr(stats, f.name)
        if isinstance(value, Counter):
            stats.skipped = Counter({"empty": base + i, "one_token": base + 2 * i})
        elif isinstance(value, np.ndarray):
            value[:] = np.arange(value.size) * base + i
        else:
            setattr(stats, f.name, base * 100 + i)
    stats.instances = 10**6 + base  # above swapped, so the derived counts stay sensible
    return stats


def same(a: PretrainingStats, b: PretrainingStats) -> None:
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.tolist() == y.tolist(), f.name
        else:
            assert x == y, f.name


def test_merge_sums_every_field():
    a, b = filled(3), filled(7)
    expected_a, expected_b = filled(3), filled(7)
    a.merge(b)
    for f in fields(a):
        if f.name in ("max_seq_length", "max_n"):
            assert getattr(a, f.name) == getattr(expected_a, f.name)
            continue
        x, y = getattr(expected_a, f.name), getattr(expected_b, f.name)
        total = x + y
        got = getattr(a, f.name)
        if isinstance(got, np.ndarray):
            assert got.tolist() == total.tolist(), f.name
        else:
            assert got == total, f.name


def test_merge_refuses_other_shapes():
    with pytest.raises(ValueError, match="max_seq_length 16 and 32"):
        PretrainingStats(16, 3).merge(PretrainingStats(32, 3))


def test_json_round_trip_keeps_every_field():
    stats = filled(5)
    text = json.dumps(stats.to_json())  # histogram keys become strings
    same(PretrainingStats.from_json(json.loads(text)), stats)
    same(PretrainingStats.from_json(stats.to_json()), stats)


def test_json_round_trip_of_an_empty_run():
    stats = PretrainingStats(max_seq_length=64, max_n=2)
    same(PretrainingStats.from_json(json.loads(json.dumps(stats.to_json()))), stats)


def worker_corpus(path) -> dict:
    """Documents of known kinds, interleaved; returns the counts they must give."""
    docs = []
    for i in range(60):
        docs.append(
            f"Document number {i} starts here.\nIt has a second sentence about {i}.\n"
            "And a third one ends it."
        )
        if i % 9 == 0:
            docs.append(f"Only one sentence in document {i} here.")
        if i % 15 == 0:
            docs.append(f"A short opener {i}.\n" + " ".join(["word"] * 200))
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return {"documents_read": 71, "one_sentence_documents": 7, "sentences": 195}


def test_counts_identical_for_one_and_two_workers(sample_en, tmp_path):
    corpus = tmp_path / "docs.txt"
    expected = worker_corpus(corpus)
    counts = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        invoke(
            "make-pretraining",
            corpus,
            "-o",
            out,
            "--spm-model",
            sample_en["spm"],
            "--max-seq-length",
            64,
            "--max-predictions-per-seq",
            10,
            "--dupe-factor",
            2,
            "--range-bytes",
            600,
            "--num-workers",
            workers,
        )
        counts[workers] = json.loads((out / "stats.json").read_text())["counts"]
    assert counts[1] == counts[2]
    for key, value in expected.items():
        assert counts[1][key] == value, key
    assert counts[1]["sentences_longer_than_sequence"] == 4
    assert counts[1]["long_sentence_pieces"] >= 4 * 4  # 200 words need 4+ pieces of 61
