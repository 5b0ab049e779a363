"""The TFRecord schema of Google's ALBERT pretraining data, shared by writer, reader and ``inspect``.

Feature names, dtypes and shapes are exactly those parsed by Google's
``run_pretraining.py`` (L = max_seq_length, P = max_predictions_per_seq):

=====================  =======  =====
feature                dtype    shape
=====================  =======  =====
input_ids              int64    [L]
input_mask             int64    [L]
segment_ids            int64    [L]
token_boundary         int64    [L]
masked_lm_positions    int64    [P]
masked_lm_ids          int64    [P]
masked_lm_weights      float    [P]
next_sentence_labels   int64    [1]   (1 = segments swapped)
=====================  =======  =====

Records are serialised here without TensorFlow: a ``tf.train.Example`` is a small
protobuf, and encoding it directly from numpy arrays (features in the fixed order
above) is several times faster than building proto objects and gives byte-identical
output on every runner. ``tests/test_schema.py`` checks the bytes parse with
``tf.io.parse_single_example`` and with the ``tf.train.Example`` proto.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

INT_FEATURES_L = ("input_ids", "input_mask", "segment_ids", "token_boundary")
INT_FEATURES_P = ("masked_lm_positions", "masked_lm_ids")
FLOAT_FEATURES_P = ("masked_lm_weights",)
LABEL_FEATURE = "next_sentence_labels"
FEATURE_ORDER = (*INT_FEATURES_L, *INT_FEATURES_P, *FLOAT_FEATURES_P, LABEL_FEATURE)


@dataclass(frozen=True)
class RecordShape:
    """The two sizes that fix a record's shape."""

    max_seq_length: int
    max_predictions_per_seq: int


@dataclass
class Record:
    """One pretraining instance, already padded to its fixed shape."""

    input_ids: np.ndarray
    input_mask: np.ndarray
    segment_ids: np.ndarray
    token_boundary: np.ndarray
    masked_lm_positions: np.ndarray
    masked_lm_ids: np.ndarray
    masked_lm_weights: np.ndarray
    next_sentence_labels: int

    def as_dict(self) -> dict[str, np.ndarray]:
        return {
            name: (
                np.asarray([self.next_sentence_labels], dtype=np.int64)
                if name == LABEL_FEATURE
                else getattr(self, name)
            )
            for name in FEATURE_ORDER
        }


# --- protobuf wire encoding -------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_SMALL_VARINTS = 1 << 16


@functools.cache
def _varint_table() -> tuple[bytes, ...]:
    return tuple(_varint(x) for x in range(_SMALL_VARINTS))


def _packed_varints(values: np.ndarray) -> bytes:
    """Varint-encode non-negative integers (vectorised; values below 2**21 take a fast path)."""
    v = np.asarray(values, dtype=np.int64)
    if v.size == 0:
        return b""
    top = int(v.max())
    if top < 0x80:
        return v.astype(np.uint8).tobytes()
    if v.size <= 384 and top < _SMALL_VARINTS:
        # Up to a few hundred values a table lookup beats numpy's per-call cost.
        table = _varint_table()
        return b"".join([table[x] for x in v.tolist()])
    if top < 1 << 21:
        # Up to three 7-bit groups per value: lay them out in a [n, 3] grid, set the
        # continuation bits, and keep the groups each value needs (row-major order).
        grid = np.empty((v.size, 3), dtype=np.uint8)
        two = v >= 0x80
        three = v >= 0x4000
        grid[:, 0] = (v & 0x7F) | (two << 7)
        grid[:, 1] = ((v >> 7) & 0x7F) | (three << 7)
        grid[:, 2] = v >> 14
        keep = np.empty((v.size, 3), dtype=bool)
        keep[:, 0] = True
        keep[:, 1] = two
        keep[:, 2] = three
        return grid[keep].tobytes()
    return b"".join(_varint(int(x)) for x in v)


def _length_delimited(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _varint(len(payload)) + payload


@functools.lru_cache(maxsize=4096)
def _entry_header(name: str, payload_len: int, is_float: bool) -> bytes:
    """Everything of a ``Features.feature`` map entry that precedes the packed values.

    The entry is ``{key: name, value: Feature{int64_list|float_list: {value: packed}}}``;
    its framing depends only on the name and the payload length, so it is cached.
    """
    n = payload_len
    list_header = (b"\x0a" + _varint(n)) if n else b""
    list_len = len(list_header) + n
    kind = b"\x12" if is_float else b"\x1a"  # Feature.float_list = 2, int64_list = 3
    feature_header = kind + _varint(list_len) + list_header
    feature_len = len(feature_header) + n
    key = _KEYS[name]
    entry_len = len(key) + 1 + len(_varint(feature_len)) + feature_len
    return b"\x0a" + _varint(entry_len) + key + b"\x12" + _varint(feature_len) + feature_header


def _payload(name: str, values: np.ndarray) -> bytes:
    if name in FLOAT_FEATURES_P:
        return np.asarray(values, dtype="<f4").tobytes()
    arr = np.asarray(values, dtype=np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name}: negative values are not used in ALBERT records")
    return _packed_varints(arr)


def _int64_feature(values: np.ndarray) -> bytes:
    arr = np.asarray(values, dtype=np.int64)
    if (arr < 0).any():
        raise ValueError("negative values are not used in ALBERT records")
    int64_list = _length_delimited(0x0A, _packed_varints(arr)) if arr.size else b""
    return _length_delimited(0x1A, int64_list)  # Feature.int64_list = 3


def _float_feature(values: np.ndarray) -> bytes:
    arr = np.asarray(values, dtype="<f4")
    float_list = _length_delimited(0x0A, arr.tobytes()) if arr.size else b""
    return _length_delimited(0x12, float_list)  # Feature.float_list = 2


_KEYS = {name: _length_delimited(0x0A, name.encode()) for name in FEATURE_ORDER}


def serialize(record: Record) -> bytes:
    """Serialise a :class:`Record` as a ``tf.train.Example`` (features in schema order)."""
    parts = []
    for name in FEATURE_ORDER:
        values = (
            np.array((record.next_sentence_labels,), dtype=np.int64)
            if name == LABEL_FEATURE
            else getattr(record, name)
        )
        payload = _payload(name, values)
        parts.append(_entry_header(name, len(payload), name in FLOAT_FEATURES_P))
        parts.append(payload)
    body = b"".join(parts)
    return b"\x0a" + _varint(len(body)) + body


def serialize_unpadded(
    *,
    input_ids: np.ndarray,
    segment_ids: np.ndarray,
    token_boundary: np.ndarray,
    masked_lm_positions: np.ndarray,
    masked_lm_ids: np.ndarray,
    next_sentence_label: int,
    shape: RecordShape,
) -> bytes:
    """The bytes :func:`serialize` gives for the zero-padded record, built from the real
    tokens (n of them) and predictions (m of them) without materialising the padding:
    a padded zero is one ``0x00`` byte in a packed varint list (four for a float)."""
    L, P = shape.max_seq_length, shape.max_predictions_per_seq
    n, m = len(input_ids), len(masked_lm_positions)
    if n > L or m > P:
        raise ValueError(f"record of {n} tokens / {m} predictions exceeds shape {L} / {P}")
    pad_l, pad_p = b"\x00" * (L - n), b"\x00" * (P - m)
    payloads = (
        ("input_ids", _packed_varints(input_ids) + pad_l),
        ("input_mask", b"\x01" * n + pad_l),
        ("segment_ids", np.asarray(segment_ids, dtype=np.uint8).tobytes() + pad_l),
        ("token_boundary", np.asarray(token_boundary, dtype=np.uint8).tobytes() + pad_l),
        ("masked_lm_positions", _packed_varints(masked_lm_positions) + pad_p),
        ("masked_lm_ids", _packed_varints(masked_lm_ids) + pad_p),
        ("masked_lm_weights", _ONE_F32 * m + pad_p * 4),
        (LABEL_FEATURE, bytes((next_sentence_label,))),
    )
    parts = []
    for name, payload in payloads:
        parts.append(_entry_header(name, len(payload), name in FLOAT_FEATURES_P))
        parts.append(payload)
    body = b"".join(parts)
    return b"\x0a" + _varint(len(body)) + body


_ONE_F32 = np.float32(1.0).astype("<f4").tobytes()


def serialize_batch(
    *,
    input_ids: np.ndarray,
    segment_ids: np.ndarray,
    token_boundary: np.ndarray,
    offsets: np.ndarray,
    masked_lm_positions: np.ndarray,
    masked_lm_ids: np.ndarray,
    position_offsets: np.ndarray,
    next_sentence_labels,
    shape: RecordShape,
) -> list[bytes]:
    """:func:`serialize_unpadded` for many records at once, with the same bytes.

    Record i has the tokens ``[offsets[i], offsets[i+1])`` of the concatenated token
    arrays and the predictions ``[position_offsets[i], position_offsets[i+1])`` of the
    concatenated prediction arrays. The varints of all records are encoded in one
    vectorised pass each; a record is then a join of slices and cached framing.
    """
    L, P = shape.max_seq_length, shape.max_predictions_per_seq
    bounds = np.asarray(offsets, dtype=np.int64)
    pbounds = np.asarray(position_offsets, dtype=np.int64)
    lengths, counts = np.diff(bounds), np.diff(pbounds)
    if lengths.size and (lengths.max() > L or counts.max() > P):
        worst = int(np.argmax((lengths > L) | (counts > P)))
        raise ValueError(
            f"record of {lengths[worst]} tokens / {counts[worst]} predictions exceeds shape {L} / {P}"
        )
    encoded = _EncodedBatch(
        ids=_varints_cut(input_ids, bounds),
        positions=_varints_cut(masked_lm_positions, pbounds),
        labels=_varints_cut(masked_lm_ids, pbounds),
        segments=np.asarray(segment_ids, dtype=np.uint8).tobytes(),
        boundaries=np.asarray(token_boundary, dtype=np.uint8).tobytes(),
        token_bounds=bounds.tolist(),
        counts=counts.tolist(),
        sop_labels=next_sentence_labels,
    )
    return _join_records(encoded, L, P)


@dataclass(frozen=True)
class _EncodedBatch:
    """A batch's features, each encoded once for all records: the varint features as
    (bytes, per-record cuts), the one-byte features as bytes indexed by token, record
    i's tokens ``token_bounds[i:i+2]``, its number of predictions and its SOP label."""

    ids: tuple[bytes, list[int]]
    positions: tuple[bytes, list[int]]
    labels: tuple[bytes, list[int]]
    segments: bytes
    boundaries: bytes
    token_bounds: list[int]
    counts: list[int]
    sop_labels: Sequence


def _join_records(encoded: _EncodedBatch, L: int, P: int) -> list[bytes]:
    """Each record's bytes from the batch's encoded features (slices) and cached framing."""
    (ids_bytes, ids_cuts), (pos_bytes, pos_cuts) = encoded.ids, encoded.positions
    lab_bytes, lab_cuts = encoded.labels
    segments, boundaries, tok = encoded.segments, encoded.boundaries, encoded.token_bounds
    f = _framing(L, P)
    out = []
    for i, (m, label) in enumerate(zip(encoded.counts, encoded.sop_labels)):
        t0, t1 = tok[i], tok[i + 1]
        ids_part = ids_bytes[ids_cuts[i] : ids_cuts[i + 1]]
        pos_part = pos_bytes[pos_cuts[i] : pos_cuts[i + 1]]
        lab_part = lab_bytes[lab_cuts[i] : lab_cuts[i + 1]]
        pad_l, pad_p = f.zeros[L - (t1 - t0)], f.zeros[P - m]
        body = b"".join(
            (
                _entry_header("input_ids", len(ids_part) + len(pad_l), False),
                ids_part,
                pad_l,
                f.mask_header,
                f.ones[t1 - t0],
                pad_l,
                f.segment_header,
                segments[t0:t1],
                pad_l,
                f.boundary_header,
                boundaries[t0:t1],
                pad_l,
                _entry_header("masked_lm_positions", len(pos_part) + P - m, False),
                pos_part,
                pad_p,
                _entry_header("masked_lm_ids", len(lab_part) + P - m, False),
                lab_part,
                pad_p,
                f.weights[m],
                f.labels[int(label)],
            )
        )
        out.append(b"\x0a" + _varint(len(body)) + body)
    return out


@dataclass(frozen=True)
class _Framing:
    """The parts of a record of one shape that depend only on n and m."""

    zeros: list[bytes]  # zeros[k]: k zero bytes (k <= max(L, P))
    ones: list[bytes]  # ones[n]: input_mask's n ones
    mask_header: bytes
    segment_header: bytes
    boundary_header: bytes
    weights: list[bytes]  # weights[m]: the whole masked_lm_weights entry
    labels: tuple[bytes, bytes]  # the whole next_sentence_labels entry, for 0 and 1


@functools.lru_cache(maxsize=16)
def _framing(L: int, P: int) -> _Framing:
    weights = [
        _entry_header("masked_lm_weights", 4 * P, True) + _ONE_F32 * m + b"\x00" * (4 * (P - m))
        for m in range(P + 1)
    ]
    labels = tuple(_entry_header(LABEL_FEATURE, 1, False) + bytes((v,)) for v in (0, 1))
    return _Framing(
        zeros=[b"\x00" * k for k in range(max(L, P) + 1)],
        ones=[b"\x01" * n for n in range(L + 1)],
        mask_header=_entry_header("input_mask", L, False),
        segment_header=_entry_header("segment_ids", L, False),
        boundary_header=_entry_header("token_boundary", L, False),
        weights=weights,
        labels=labels,
    )


def _varints_cut(values: np.ndarray, bounds: np.ndarray) -> tuple[bytes, list[int]]:
    """Varint bytes of all ``values`` (non-negative) and the byte offset of each bound."""
    v = np.asarray(values, dtype=np.int64)
    if v.size == 0:
        return b"", [0] * bounds.size
    top = int(v.max())
    if top < 0x80:
        return v.astype(np.uint8).tobytes(), bounds.tolist()
    groups = (top.bit_length() + 6) // 7
    grid = np.empty((v.size, groups), dtype=np.uint8)
    keep = np.empty((v.size, groups), dtype=bool)
    keep[:, 0] = True
    for j in range(groups):
        more = v >= (1 << (7 * (j + 1))) if j + 1 < groups else np.zeros(v.size, dtype=bool)
        grid[:, j] = ((v >> (7 * j)) & 0x7F) | (more.astype(np.uint8) << 7)
        if j + 1 < groups:
            keep[:, j + 1] = more
    widths = np.zeros(v.size + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=widths[1:])
    return grid[keep].tobytes(), widths[bounds].tolist()


def parse(serialized: bytes) -> dict[str, np.ndarray]:
    """Decode a serialised ``tf.train.Example`` into numpy arrays, without TensorFlow.

    Accepts any valid Example (packed or unpacked lists, any feature order); raises
    ``ValueError`` on bytes that are not one.
    """
    features: dict[str, np.ndarray] = {}
    for field, payload in _fields(serialized):
        if field != 1:
            continue
        for ffield, entry in _fields(payload):
            if ffield != 1:
                continue
            key, value = None, b""
            for efield, data in _fields(entry):
                if efield == 1:
                    if not isinstance(data, bytes):
                        raise ValueError("a feature key that is not a string")
                    key = data.decode("utf-8")
                elif efield == 2:
                    value = data
            if key is None:
                raise ValueError("feature map entry without a key")
            features[key] = _decode_feature(value)
    return features


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes):
    """Yield (field number, payload) for the length-delimited fields of a message."""
    if not isinstance(buf, bytes):
        raise ValueError("a number where a message belongs")
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            yield field, buf[pos : pos + length]
            pos += length
        elif wire == 0:
            value, pos = _read_varint(buf, pos)
            yield field, value
        elif wire == 5:
            yield field, buf[pos : pos + 4]
            pos += 4
        elif wire == 1:
            yield field, buf[pos : pos + 8]
            pos += 8
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _decode_feature(buf: bytes) -> np.ndarray:
    for kind, payload in _fields(buf):
        if kind == 3:  # int64_list
            values: list[int] = []
            for vfield, data in _fields(payload):
                if vfield != 1:
                    continue
                if isinstance(data, int):
                    values.append(data)
                else:
                    pos = 0
                    while pos < len(data):
                        v, pos = _read_varint(data, pos)
                        values.append(v)
            if any(v >= 1 << 64 for v in values):
                raise ValueError("an int64 value beyond 64 bits")
            arr = np.array([v - (1 << 64) if v >= 1 << 63 else v for v in values], dtype=np.int64)
            return arr
        if kind == 2:  # float_list
            chunks = []
            for vfield, data in _fields(payload):
                if vfield == 1:
                    if not isinstance(data, bytes):
                        raise ValueError("a float_list value that is not a float")
                    chunks.append(data)
            return np.frombuffer(b"".join(chunks), dtype="<f4").astype(np.float32)
        if kind == 1:  # bytes_list
            return np.array([d for f, d in _fields(payload) if f == 1], dtype=object)
    return np.zeros(0, dtype=np.int64)
