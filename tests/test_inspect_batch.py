"""The batch check of ``inspect`` (``records/batch.py``) against the per-record one
(``schema.parse`` + ``validate_record``): the same verdict and the same problems, named
at the same record, for valid records, every broken record of ``test_inspect`` and
random damage to values and to bytes; and the same statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.test_inspect as cases
from albert_data.records.batch import Ids, check_batch
from albert_data.records.schema import parse
from albert_data.records.validate import RecordStats, validate_record
from tests.pretraining_records import CLS, MASK, PAD, SEP, SHAPE, VOCAB_SIZE, encode, make_records

IDS = Ids(vocab_size=VOCAB_SIZE, cls=CLS, sep=SEP, mask=MASK, pad=PAD)


def _with_k_suitable(records: list[bytes]) -> list[bytes]:
    """Record K with >= 2 masks, padding and a free prediction slot (as in test_inspect)."""
    for k, data in enumerate(records):
        f = parse(data)
        n, m = int(f["input_mask"].sum()), int(f["masked_lm_weights"].sum())
        if k >= 1 and m >= 2 and n <= 45 and m < 8:
            records[cases.K], records[k] = records[k], records[cases.K]
            return records
    raise AssertionError("no suitable record")


RECORDS = _with_k_suitable(make_records(30, seed=3))
DYNAMIC = make_records(6, seed=4, masking="dynamic")


def reference(records: list[bytes]):
    """(problems by index, stats of the valid ones), one record at a time."""
    problems, stats = [], RecordStats()
    for i, data in enumerate(records):
        try:
            features = parse(data)
        except (ValueError, UnicodeDecodeError) as err:
            problems.append((i, [f"not a tf.train.Example ({err})"]))
            continue
        found = validate_record(
            features,
            shape=SHAPE,
            vocab_size=VOCAB_SIZE,
            cls_id=CLS,
            sep_id=SEP,
            mask_id=MASK,
            pad_id=PAD,
        )
        if found:
            problems.append((i, found))
        else:
            stats.add(features, mask_id=MASK)
    return problems, stats


def batched(records: list[bytes], keep: int = 0):
    buf = np.frombuffer(b"".join(records), dtype=np.uint8)
    lengths = np.array([len(r) for r in records], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    return check_batch(buf, starts, lengths, shape=SHAPE, ids=IDS, keep=keep)


def assert_same(records: list[bytes]):
    expected, stats = reference(records)
    result = batched(records)
    assert result.problems == expected
    assert result.stats == stats
    bad = {i for i, _ in expected}
    assert result.valid_rows.tolist() == [i for i in range(len(records)) if i not in bad]


def test_valid_records_pass_and_are_counted_as_one_at_a_time():
    result = batched(RECORDS + DYNAMIC, keep=3)
    assert result.problems == []
    assert result.stats.records == len(RECORDS) + len(DYNAMIC) >= 60
    assert_same(RECORDS + DYNAMIC)
    for i, features in result.features.items():
        expected = parse(RECORDS[i])
        assert set(features) == set(expected)
        for name, values in expected.items():
            np.testing.assert_array_equal(features[name], values)
            assert features[name].dtype == values.dtype


@pytest.mark.parametrize("name", list(cases.CORRUPTIONS))
def test_each_broken_record_is_named_at_its_index_in_the_batch(name):
    corrupt, expected = cases.CORRUPTIONS[name]
    features = parse(RECORDS[cases.K])
    corrupt(features)
    records = list(RECORDS)
    records[cases.K] = encode(features)
    result = batched(records)
    ((index, found),) = result.problems
    assert index == cases.K and any(expected in p for p in found), found
    assert_same(records)


def test_records_in_another_feature_order_and_not_examples():
    reordered = [encode(dict(reversed(parse(r).items()))) for r in RECORDS[:5]]
    records = [*reordered, b"\x0a\xff\xff\xff\xff\x0f", RECORDS[5], b"", b"\x0a\x00"]
    assert_same(records)
    assert [i for i, _ in batched(records).problems] == [5, 7, 8]


VALUES = st.sampled_from([-1, 0, 1, 2, CLS, SEP, MASK, PAD, 5, 47, 48, VOCAB_SIZE, 1 << 40])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_damage_to_values_gets_the_same_verdict(data):
    records = list(RECORDS[:8])
    for _ in range(data.draw(st.integers(1, 4))):
        k = data.draw(st.integers(0, len(records) - 1))
        features = parse(records[k])
        name = data.draw(st.sampled_from(sorted(features)))
        values = features[name]
        i = data.draw(st.integers(0, values.size - 1))
        value = data.draw(VALUES)
        if values.dtype.kind == "f":
            values[i] = data.draw(st.sampled_from([0.0, 1.0, 0.5, -1.0, float("nan")]))
        elif value >= 0:
            values[i] = value
        records[k] = encode(features)
    assert_same(records)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_damage_to_bytes_gets_the_same_verdict(data):
    records = [bytearray(r) for r in RECORDS[:6]]
    for _ in range(data.draw(st.integers(1, 3))):
        k = data.draw(st.integers(0, len(records) - 1))
        i = data.draw(st.integers(0, len(records[k]) - 1))
        records[k][i] = data.draw(st.integers(0, 255))
    assert_same([bytes(r) for r in records])
