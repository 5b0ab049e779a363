"""The record schema: our bytes parse with the exact feature spec of Google's
``run_pretraining.py`` (written out here literally), with the ``tf.train.Example`` proto,
and with our TF-free ``parse``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albert_data.records.schema import (
    FEATURE_ORDER,
    Record,
    RecordShape,
    parse,
    serialize,
)
from albert_data.training.data import feature_spec
from tests.pretraining_records import build_record, encode_instance

tf = pytest.importorskip("tensorflow")

L, P = 32, 5


def google_name_to_features(max_seq_length: int, max_predictions_per_seq: int, budget: bool):
    """``input_fn_builder``'s ``name_to_features`` in google-research/albert run_pretraining.py
    (``tf.FixedLenFeature`` is ``tf.io.FixedLenFeature`` in TF2); ``budget`` is its
    ``--masked_lm_budget`` branch, which reads token_boundary instead of the masks."""
    name_to_features = {
        "input_ids": tf.io.FixedLenFeature([max_seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([max_seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([max_seq_length], tf.int64),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }
    if budget:
        name_to_features.update(
            {"token_boundary": tf.io.FixedLenFeature([max_seq_length], tf.int64)}
        )
    else:
        name_to_features.update(
            {
                "masked_lm_positions": tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64),
                "masked_lm_ids": tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64),
                "masked_lm_weights": tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32),
            }
        )
    return name_to_features


def make_record(seed: int = 0, n: int = 20, m: int = 3, label: int = 1) -> Record:
    rng = np.random.default_rng(seed)
    ids = np.zeros(L, np.int64)
    ids[:n] = rng.integers(5, 30000, n)
    ids[[0, n // 2, n - 1]] = [2, 3, 3]
    mask = (np.arange(L) < n).astype(np.int64)
    segments = ((np.arange(L) > n // 2) & (np.arange(L) < n)).astype(np.int64)
    boundary = np.where(mask == 1, rng.integers(0, 2, L), 0).astype(np.int64)
    positions = np.zeros(P, np.int64)
    positions[:m] = [1, 4, 7][:m]
    label_ids = np.zeros(P, np.int64)
    label_ids[:m] = ids[positions[:m]]
    ids[positions[:m]] = 4
    weights = np.zeros(P, np.float32)
    weights[:m] = 1.0
    return Record(ids, mask, segments, boundary, positions, label_ids, weights, label)


def assert_matches(parsed: dict, record: Record) -> None:
    for name, expected in record.as_dict().items():
        got = np.asarray(parsed[name])
        np.testing.assert_array_equal(got, expected, err_msg=name)


@pytest.mark.parametrize("budget", [False, True])
def test_parse_single_example_with_googles_spec(budget):
    record = make_record()
    spec = google_name_to_features(L, P, budget)
    parsed = tf.io.parse_single_example(serialize(record), spec)
    assert set(parsed) == set(spec)
    for name, tensor in parsed.items():
        assert tensor.dtype == spec[name].dtype, name
        np.testing.assert_array_equal(tensor.numpy(), record.as_dict()[name], err_msg=name)


def test_batched_parse_like_the_input_pipeline():
    records = [make_record(seed=s, n=10 + s, m=s % 4, label=s % 2) for s in range(6)]
    batch = tf.io.parse_example(
        tf.constant([serialize(r) for r in records]), google_name_to_features(L, P, False)
    )
    for i, record in enumerate(records):
        for name in batch:
            np.testing.assert_array_equal(batch[name][i].numpy(), record.as_dict()[name])


def test_feature_spec_equals_googles():
    shape = RecordShape(L, P)
    ours = feature_spec(shape)
    google = google_name_to_features(L, P, False) | google_name_to_features(L, P, True)
    assert ours == google


def test_example_proto_parses_our_bytes():
    record = make_record()
    example = tf.train.Example.FromString(serialize(record))
    features = example.features.feature
    assert set(features) == set(FEATURE_ORDER)
    for name, expected in record.as_dict().items():
        if name == "masked_lm_weights":
            got = list(features[name].float_list.value)
        else:
            got = list(features[name].int64_list.value)
        np.testing.assert_array_equal(got, expected, err_msg=name)


def test_our_parse_reads_examples_built_by_tensorflow():
    record = make_record(seed=3)
    feature = {}
    for name, values in record.as_dict().items():
        if name == "masked_lm_weights":
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
    data = tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
    assert_matches(parse(data), record)


def test_parse_accepts_unpacked_int64_lists():
    # An Int64List with one `value` field per element (proto2-style, unpacked).
    values = [0, 1, 300, 2**40]
    int64_list = b"".join(b"\x08" + _varint(v) for v in values)
    feature = _ld(0x1A, int64_list)
    entry = _ld(0x0A, b"input_ids") + _ld(0x12, feature)
    data = _ld(0x0A, _ld(0x0A, entry))
    np.testing.assert_array_equal(parse(data)["input_ids"], values)


def test_parse_rejects_garbage():
    with pytest.raises(ValueError):
        parse(b"\x0a\xff\xff\xff\xff\x0f")


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(0, 2**62), min_size=L, max_size=L),
    weights=st.lists(st.sampled_from([0.0, 1.0, 0.5, 1e-7]), min_size=P, max_size=P),
    label=st.integers(0, 1),
)
def test_round_trip_any_values(ids, weights, label):
    ids = np.asarray(ids, np.int64)
    zeros = np.zeros(L, np.int64)
    record = Record(
        ids, zeros, ids[::-1].copy(), zeros, ids[:P].copy(), ids[-P:].copy(),
        np.asarray(weights, np.float32), label,
    )  # fmt: skip
    data = serialize(record)
    assert_matches(parse(data), record)
    assert_matches(tf.io.parse_single_example(data, feature_spec(RecordShape(L, P))), record)


def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
        v >>= 7
        if not v:
            return bytes(out)


def _ld(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _varint(len(payload)) + payload


def test_unpadded_serialisation_matches_padded_records():
    """serialize_unpadded (one record; serialize_batch is checked against it) writes
    exactly the bytes of the padded record."""
    from albert_data.pretraining.instances import (
        InstanceConfig,
        TokenizedDocument,
        create_instances,
    )
    from albert_data.pretraining.masking import MaskingConfig, mask_sequence

    rng = np.random.default_rng(7)
    for L, P in ((16, 3), (128, 20), (512, 77)):
        shape = RecordShape(L, P)
        sentences = [rng.integers(5, 40000, size=int(rng.integers(1, 60))) for _ in range(30)]
        doc = TokenizedDocument.from_sentences(
            sentences, [rng.random(s.size) < 0.6 for s in sentences]
        )
        outcome = create_instances(
            doc, config=InstanceConfig(max_seq_length=L), cls_id=2, sep_id=3, rng=rng
        )
        assert outcome.instances
        for inst in outcome.instances:
            masked = mask_sequence(
                inst.ids,
                inst.token_boundary,
                inst.special,
                config=MaskingConfig(max_predictions_per_seq=P),
                mask_id=4,
                regular_ids=np.arange(5, 40000),
                rng=rng,
            )
            for m in (masked, None):
                assert encode_instance(inst, m, shape) == serialize(build_record(inst, m, shape))


@pytest.mark.parametrize("top", [1, 127, 128, 16383, 16384, 65535, 65536, 2**21 - 1, 2**21, 2**40])
@pytest.mark.parametrize("size", [1, 20, 64, 384, 385, 512])
def test_packed_varints_match_the_protobuf_encoding(top, size):
    from albert_data.records.schema import _packed_varints, _varint

    values = np.random.default_rng(top + size).integers(0, top + 1, size=size)
    values[0] = top
    assert _packed_varints(values) == b"".join(_varint(int(x)) for x in values)
