"""validate_record on records written by the core, on hand-broken ones, and RecordStats."""

from __future__ import annotations

import numpy as np
import pytest

from albert_data.records.schema import RecordShape, parse
from albert_data.records.validate import RecordStats, validate_record
from tests.pretraining_records import CLS, IDS, MASK, SEP, SHAPE, make_records


def validate(features, shape=SHAPE):
    return validate_record(features, shape=shape, **IDS)


@pytest.mark.parametrize("masking", ["static", "dynamic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_records_written_by_the_core_are_valid(masking, seed):
    records = make_records(40, seed=seed, masking=masking, dupe_factor=2)
    assert len(records) > 50
    for k, data in enumerate(records):
        assert validate(parse(data)) == [], k


def first_masked_record():
    for data in make_records(10):
        f = parse(data)
        if f["masked_lm_weights"].sum() >= 2 and f["input_mask"].sum() < SHAPE.max_seq_length:
            return f
    raise AssertionError("no suitable record")


def test_negative_ids_are_outside_the_vocabulary():
    f = first_masked_record()
    f["input_ids"][3] = -5
    assert any("input_ids[3] = -5 is outside the vocabulary" in p for p in validate(f))


def test_empty_segment():
    f = first_masked_record()
    n = int(f["input_mask"].sum())
    # [CLS] [SEP] x ... [SEP] with segments consistent: segment A is empty.
    ids = np.zeros_like(f["input_ids"])
    ids[:5] = [CLS, SEP, 7, 8, SEP]
    f = {
        **f,
        "input_ids": ids,
        "input_mask": (np.arange(ids.size) < 5).astype(np.int64),
        "segment_ids": np.isin(np.arange(ids.size), [2, 3, 4]).astype(np.int64),
        "token_boundary": (np.arange(ids.size) < 5).astype(np.int64),
        "masked_lm_positions": np.zeros(SHAPE.max_predictions_per_seq, np.int64),
        "masked_lm_ids": np.zeros(SHAPE.max_predictions_per_seq, np.int64),
        "masked_lm_weights": np.zeros(SHAPE.max_predictions_per_seq, np.float32),
    }
    assert n > 5
    assert validate(f) == ["segment A is empty"]


def test_wrong_shape_is_reported_before_anything_else():
    f = first_masked_record()
    assert validate(f, RecordShape(64, 8)) == [
        f"feature {name} has 48 values, expected 64"
        for name in ("input_ids", "input_mask", "segment_ids", "token_boundary")
    ]


def test_replacement_with_sep_is_named():
    f = first_masked_record()
    pos = int(f["masked_lm_positions"][0])
    f["input_ids"][pos] = SEP
    problems = validate(f)
    assert problems == [
        f"masked_lm_positions[0] = {pos} shows [SEP] in input_ids: a masked token becomes"
        " [MASK], stays, or becomes a regular piece, never [SEP]"
    ]


def stats_of(records):
    stats = RecordStats()
    for data in records:
        stats.add(parse(data), mask_id=MASK)
    return stats


def test_stats_of_real_records():
    records = make_records(300, seed=4)
    stats = stats_of(records)
    assert stats.records == len(records)
    assert stats.predictions >= 1000
    assert sum(c for _, _, c in stats.length_histogram()) == stats.records
    mix = stats.replacement_mix()
    assert sum(mix.values()) == pytest.approx(1.0)
    assert stats.implausibilities() == []
    assert stats.summary()["mask_rate"] == pytest.approx(0.15, abs=0.03)
    assert stats.sop_labels[0] + stats.sop_labels[1] == stats.records


def test_stats_flag_an_implausible_mix_only_with_enough_predictions():
    all_kept = []
    for data in make_records(300, seed=5):
        f = parse(data)
        m = int(f["masked_lm_weights"].sum())
        f["input_ids"][f["masked_lm_positions"][:m]] = f["masked_lm_ids"][:m]
        all_kept.append(f)
    stats = RecordStats()
    for f in all_kept:
        stats.add(f, mask_id=MASK)
        if stats.predictions < 1000:
            assert stats.implausibilities() == []
    (problem,) = stats.implausibilities()
    assert "[MASK] 0.0%, expected 80% ± 5%" in problem
    assert "kept 100.0%" in problem


def test_dynamic_records_counted():
    stats = stats_of(make_records(20, masking="dynamic"))
    assert stats.unmasked_records == stats.records
    assert stats.predictions == 0
    assert stats.implausibilities() == []


def test_bytes_feature_is_reported():
    f = first_masked_record()
    f["segment_ids"] = np.array([b"x"] * SHAPE.max_seq_length, dtype=object)
    assert validate(f) == ["feature segment_ids has bytes values, expected int64"]
