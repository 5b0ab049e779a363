"""Many records at once: decode a batch of serialised ``tf.train.Example`` records into
``[records, length]`` arrays, check every invariant of :mod:`albert_data.records.validate`
on the whole batch, and count the valid ones into :class:`RecordStats`.

This is what makes ``inspect`` run at the speed of reading. The records of a batch sit
in one byte buffer; their protobuf structure is walked in lock-step (one numpy operation
per field for the whole batch), the packed varints of each feature are decoded in one
pass, and each invariant is one array expression over the batch. A record this walk
does not recognise (unpacked lists, a bytes feature, a missing or unknown feature, a
wrong number of values, bytes that are not an Example) is decoded by
:func:`albert_data.records.schema.parse` and checked by
:func:`albert_data.records.validate.validate_record`, one at a time; so is every record
the batch check finds invalid, so that its problems are named exactly as the
per-record check names them. The batch check is tested against the per-record one.

Pure numpy; no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from albert_data.records.schema import (
    FEATURE_ORDER,
    FLOAT_FEATURES_P,
    INT_FEATURES_L,
    LABEL_FEATURE,
    RecordShape,
    parse,
)
from albert_data.records.validate import RecordStats, isin_few, validate_record

_NAMES = tuple(name.encode() for name in FEATURE_ORDER)
_FLOAT = FEATURE_ORDER.index(FLOAT_FEATURES_P[0])
_MAX_VARINT = 10
# Features whose values are 0 or 1 when valid: kept as bytes while checked (less to move).
_FLAGS = ("input_mask", "segment_ids", "token_boundary", LABEL_FEATURE)


@dataclass(frozen=True)
class Ids:
    """The vocabulary facts validation needs."""

    vocab_size: int
    cls: int
    sep: int
    mask: int
    pad: int


@dataclass
class BatchResult:
    """What one batch gave: valid records counted into ``stats``; for the invalid ones,
    their index in the batch and their problems (in index order)."""

    stats: RecordStats
    problems: list[tuple[int, list[str]]]
    valid_rows: np.ndarray  # batch indices of the valid records, ascending
    features: dict[int, dict[str, np.ndarray]]  # decoded features of requested valid rows


def check_batch(
    buf: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    *,
    shape: RecordShape,
    ids: Ids,
    keep: int = 0,
) -> BatchResult:
    """Validate the records ``buf[starts[i] : starts[i] + lengths[i]]`` and count the
    valid ones; return the decoded features of the first ``keep`` valid records too."""
    stats = RecordStats()
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if starts.size == 0:
        return BatchResult(stats, [], np.zeros(0, np.int64), {})
    decoded, regular = _decode(buf, starts, lengths, shape)
    bad = ~regular
    rows = np.flatnonzero(regular)
    if rows.size:
        invalid = _invalid(decoded, ids)
        bad[rows[invalid]] = True
        good = ~invalid
        valid = decoded if good.all() else {k: v[good] for k, v in decoded.items()}
        _count(stats, valid, ids.mask)
    records = [bytes(buf[starts[i] : starts[i] + lengths[i]]) for i in np.flatnonzero(bad)]
    problems, slow = _one_by_one(np.flatnonzero(bad).tolist(), records, shape, ids, stats)
    valid_rows = np.flatnonzero(~bad)
    if slow:
        valid_rows = np.sort(np.concatenate([valid_rows, np.fromiter(slow, np.int64)]))
    kept: dict[int, dict[str, np.ndarray]] = {}
    fast_index = {int(r): k for k, r in enumerate(rows.tolist())} if keep else {}
    for i in valid_rows[:keep].tolist():
        if i in slow:
            kept[i] = slow[i]
        else:
            k = fast_index[i]
            kept[i] = {name: _as_parsed(name, decoded[name][k]) for name in FEATURE_ORDER}
    return BatchResult(stats, problems, valid_rows, kept)


def _one_by_one(rows: list[int], records: list[bytes], shape: RecordShape, ids: Ids, stats):
    """The per-record decoder and check on ``records`` (rows ``rows`` of the batch):
    (problems by row, features of the valid ones by row, counted into ``stats``)."""
    problems = []
    valid: dict[int, dict] = {}
    for i, data in zip(rows, records):
        try:
            features = parse(data)
        except (ValueError, UnicodeDecodeError) as err:
            problems.append((i, [f"not a tf.train.Example ({err})"]))
            continue
        found = validate_record(
            features,
            shape=shape,
            vocab_size=ids.vocab_size,
            cls_id=ids.cls,
            sep_id=ids.sep,
            mask_id=ids.mask,
            pad_id=ids.pad,
        )
        if found:
            problems.append((i, found))
        else:  # a valid record in a layout the batch walk does not take
            stats.add(features, mask_id=ids.mask)
            valid[i] = features
    return problems, valid


# --- decoding ---------------------------------------------------------------------------


def _varint(buf: np.ndarray, pos: np.ndarray, end: np.ndarray, ok: np.ndarray):
    """The varints at ``pos`` (each before ``end``): (values, positions after them);
    clears ``ok`` where one is truncated or too long."""
    first = buf[np.minimum(pos, buf.size - 1)]
    if (first < 0x80).all():  # one byte each, the common case
        ok &= pos < end
        return first.astype(np.int64), pos + 1
    value = np.zeros(pos.size, dtype=np.uint64)
    done = ~ok.copy()
    after = pos.copy()
    last = buf.size - 1
    for k in range(_MAX_VARINT):
        at = pos + k
        inside = at < end
        ok &= inside | done
        byte = buf[np.minimum(at, last)].astype(np.uint64)
        live = ~done & inside
        value[live] |= (byte[live] & np.uint64(0x7F)) << np.uint64(7 * k)
        ends = live & (byte < 0x80)
        after[ends] = at[ends] + 1
        done |= ends | ~inside
        if done.all():
            break
    ok &= done
    return value.astype(np.int64), after


def _expect(buf: np.ndarray, pos: np.ndarray, byte: int, end: np.ndarray, ok: np.ndarray):
    """Clear ``ok`` where the byte at ``pos`` is not ``byte``; return ``pos + 1``."""
    at = np.minimum(pos, buf.size - 1)
    ok &= (pos < end) & (buf[at] == byte)
    return pos + 1


def _decode(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, shape: RecordShape):
    """The features of the records laid out as our writer (and TensorFlow) lays them out —
    one ``Features`` message of map entries ``{key, Feature{int64_list|float_list{packed
    values}}}``, in any order — as ``[n, size]`` arrays over the ``regular`` records."""
    ok, payload_start, payload_len, is_float = _entries(buf, starts, lengths)
    expected_float = np.zeros(len(FEATURE_ORDER), dtype=bool)
    expected_float[_FLOAT] = True
    ok &= (is_float == expected_float).all(axis=1)
    ok &= payload_len[:, _FLOAT] == 4 * shape.max_predictions_per_seq
    sizes = [_size_of(name, shape) for name in FEATURE_ORDER]
    regular = np.flatnonzero(ok)
    decoded: dict[str, tuple] = {}
    for f, name in enumerate(FEATURE_ORDER):
        s, length = payload_start[regular, f], payload_len[regular, f]
        if f == _FLOAT:
            values = _gather(buf, s, length).view("<f4").astype(np.float32)
            decoded[name] = values, np.full(regular.size, sizes[f]), None
            continue
        values, counts, fine = _packed_varints(buf, s, length, small=name in _FLAGS)
        fine &= counts == sizes[f]
        ok[regular[~fine]] = False
        decoded[name] = values, counts, fine
    keep = ok[regular]
    out: dict[str, np.ndarray] = {}
    for f, name in enumerate(FEATURE_ORDER):
        values, counts, _ = decoded[name]
        if not keep.all():
            values = values[np.repeat(keep, counts)] if values.size else values
        out[name] = values.reshape(-1, sizes[f])
    return out, ok


def _entries(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
    """Walk the records' map entries in lock-step: (ok, payload start, payload length,
    is float) per record and feature; ``ok`` is False for a record of another layout."""
    n = starts.size
    ends = starts + lengths
    ok = np.ones(n, dtype=bool)
    pos = _expect(buf, starts.copy(), 0x0A, ends, ok)
    size, pos = _varint(buf, pos, ends, ok)
    ok &= pos + size == ends  # one Features message and nothing else
    payload_start = np.zeros((n, len(FEATURE_ORDER)), dtype=np.int64)
    payload_len = np.full((n, len(FEATURE_ORDER)), -1, dtype=np.int64)
    is_float = np.zeros((n, len(FEATURE_ORDER)), dtype=bool)
    for _ in range(len(FEATURE_ORDER) + 1):
        a = np.flatnonzero(ok & (pos < ends))
        if not a.size:
            break
        p, e, good = pos[a], ends[a], np.ones(a.size, dtype=bool)
        p = _expect(buf, p, 0x0A, e, good)  # Features.feature (map entry)
        entry_len, p = _varint(buf, p, e, good)
        entry_end = p + entry_len
        good &= entry_end <= e
        p = _expect(buf, p, 0x0A, entry_end, good)  # key
        key_len, p = _varint(buf, p, entry_end, good)
        which = _feature_of(buf, p, key_len, good)
        p = _expect(buf, p + key_len, 0x12, entry_end, good)  # value: Feature
        value_len, p = _varint(buf, p, entry_end, good)
        good &= p + value_len == entry_end
        kind = buf[np.minimum(p, buf.size - 1)]
        good &= (kind == 0x1A) | (kind == 0x12)  # int64_list, float_list
        list_len, p = _varint(buf, p + 1, entry_end, good)
        good &= p + list_len == entry_end
        p = _expect(buf, p, 0x0A, entry_end, good)  # packed values
        packed_len, p = _varint(buf, p, entry_end, good)
        good &= (p + packed_len == entry_end) & (which >= 0)
        good &= payload_len[a, np.maximum(which, 0)] < 0  # not a feature given twice
        ok[a[~good]] = False
        g, w = a[good], which[good]
        payload_start[g, w] = p[good]
        payload_len[g, w] = packed_len[good]
        is_float[g, w] = kind[good] == 0x12
        pos[g] = entry_end[good]
    ok &= pos >= ends
    ok &= (payload_len >= 0).all(axis=1)
    return ok, payload_start, payload_len, is_float


def _as_parsed(name: str, values: np.ndarray) -> np.ndarray:
    """A copy of one record's ``values`` with the dtype ``schema.parse`` gives."""
    return values.astype(np.float32 if name in FLOAT_FEATURES_P else np.int64)


def _size_of(name: str, shape: RecordShape) -> int:
    if name == LABEL_FEATURE:
        return 1
    return shape.max_seq_length if name in INT_FEATURES_L else shape.max_predictions_per_seq


def _feature_of(buf: np.ndarray, pos: np.ndarray, length: np.ndarray, ok: np.ndarray):
    """Which of FEATURE_ORDER the key at ``pos`` of ``length`` bytes names (-1: none)."""
    which = np.full(pos.size, -1, dtype=np.int64)
    last = buf.size - 1
    for f, name in enumerate(_NAMES):
        match = ok & (length == len(name))
        if not match.any():
            continue
        at = np.minimum(pos[match, None] + np.arange(len(name)), last)
        same = (buf[at] == np.frombuffer(name, dtype=np.uint8)).all(axis=1)
        idx = np.flatnonzero(match)[same]
        which[idx] = f
    return which


def _gather(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The bytes ``buf[starts[i] : starts[i] + lengths[i]]`` of every i, concatenated:
    rows of a sliding window over ``buf`` (one copy of each row), then the bytes of each
    row inside its length."""
    if lengths.size == 0:
        return np.zeros(0, dtype=np.uint8)
    widest = int(lengths.max())
    if widest == 0:
        return np.zeros(0, dtype=np.uint8)
    if int(starts.max()) + widest > buf.size:  # a window past the end: pad a copy
        buf = np.concatenate([buf, np.zeros(widest, dtype=np.uint8)])
    rows = np.lib.stride_tricks.sliding_window_view(buf, widest)[starts]
    if (lengths == widest).all():
        return rows.reshape(-1)
    return rows[np.arange(widest) < lengths[:, None]]


def _packed_varints(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, small=False):
    """The varints packed in each ``buf[starts[i] : starts[i] + lengths[i]]``: all values
    (int64, as protobuf reads int64; with ``small``, uint8 when every value is below 128),
    the count per slice and whether each slice was well-formed (ends on a varint's last
    byte, no varint longer than ten bytes)."""
    data = _gather(buf, starts, lengths)
    rows = starts.size
    nothing = np.zeros(0, np.int64), np.zeros(rows, np.int64), np.zeros(rows, bool)
    if data.size == 0:
        return np.zeros(0, np.int64), np.zeros(rows, np.int64), np.ones(rows, bool)
    bounds = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    if data.max() < 0x80:  # one byte a value
        return data if small else data.astype(np.int64), lengths.copy(), np.ones(rows, bool)
    nonempty = lengths > 0
    if (data[bounds[1:][nonempty] - 1] >= 0x80).any():
        return nothing  # a slice ends inside a varint: the per-record decoder names it
    ends = np.flatnonzero(data < 0x80)
    width = np.diff(ends, prepend=-1)
    widest = int(width.max())
    if widest > _MAX_VARINT:
        return nothing
    # Horner's rule from each varint's last (most significant) 7-bit group down.
    values = data[ends].astype(np.uint64)
    for k in range(1, widest):
        more = np.flatnonzero(width > k)
        low = (data[ends[more] - k] & 0x7F).astype(np.uint64)
        values[more] = (values[more] << np.uint64(7)) | low
    if widest == _MAX_VARINT and (data[ends[width == _MAX_VARINT]] > 1).any():
        return nothing  # beyond 64 bits
    counts = np.diff(np.searchsorted(ends, bounds))
    return values.view(np.int64), counts, np.ones(rows, bool)


# --- validation -------------------------------------------------------------------------


def _invalid(f: dict[str, np.ndarray], ids: Ids) -> np.ndarray:
    """Per record, whether any invariant of ``validate_record`` fails (records already
    of the right shape and kinds)."""
    input_ids, input_mask = f["input_ids"], f["input_mask"]
    labels, label = f["masked_lm_ids"], f[LABEL_FEATURE][:, 0]
    V = ids.vocab_size
    bad = ((input_ids < 0) | (input_ids >= V)).any(axis=1)
    bad |= ((labels < 0) | (labels >= V)).any(axis=1)
    # input_mask: ones then zeros.
    bad |= ((input_mask != 0) & (input_mask != 1)).any(axis=1)
    bad |= (input_mask[:, 1:] > input_mask[:, :-1]).any(axis=1)
    n = (input_mask == 1).sum(axis=1)
    bad |= n < 5
    used, prediction_bad = _bad_predictions(f, n, ids)
    bad |= prediction_bad
    bad |= _bad_structure(f, n, used, ids)
    bad |= (label != 0) & (label != 1)
    return bad


def _bad_predictions(f: dict[str, np.ndarray], n: np.ndarray, ids: Ids):
    """(the used prediction slots, per record whether they break an invariant): weights
    ones then zeros, padded slots zero, positions ascending, inside the real tokens,
    never on or of a special token."""
    input_ids, weights = f["input_ids"], f["masked_lm_weights"]
    positions, labels = f["masked_lm_positions"], f["masked_lm_ids"]
    bad = ((weights != 0.0) & (weights != 1.0)).any(axis=1)
    nonzero = weights != 0.0
    bad |= (nonzero[:, 1:] & ~nonzero[:, :-1]).any(axis=1)
    m = nonzero.sum(axis=1)
    used = np.arange(positions.shape[1]) < m[:, None]
    bad |= ((positions != 0) & ~used).any(axis=1) | ((labels != 0) & ~used).any(axis=1)
    bad |= ((np.diff(positions, axis=1) <= 0) & used[:, 1:]).any(axis=1)
    bad |= (used & ((positions < 1) | (positions >= n[:, None]))).any(axis=1)
    bad |= (used & isin_few(labels, (ids.cls, ids.sep, ids.mask, ids.pad))).any(axis=1)
    safe = np.clip(positions, 0, input_ids.shape[1] - 1)
    shown = np.take_along_axis(input_ids, safe, axis=1)
    bad |= (used & isin_few(shown, (ids.cls, ids.sep, ids.pad))).any(axis=1)
    return used, bad


def _bad_structure(f: dict[str, np.ndarray], n: np.ndarray, used: np.ndarray, ids: Ids):
    """Per record, whether the sequence before masking is not [CLS] A [SEP] B [SEP] with
    its segment ids, padding and token boundaries."""
    input_ids, segment_ids, boundary = f["input_ids"], f["segment_ids"], f["token_boundary"]
    L = input_ids.shape[1]
    original = input_ids.copy()
    r, c = np.nonzero(used)
    original[r, np.clip(f["masked_lm_positions"][r, c], 0, L - 1)] = f["masked_lm_ids"][r, c]
    real = np.arange(L) < n[:, None]
    bad = original[:, 0] != ids.cls
    cls_at = (original == ids.cls) & real
    bad |= cls_at[:, 1:].any(axis=1)
    sep_at = (original == ids.sep) & real
    bad |= sep_at.sum(axis=1) != 2
    last = np.take_along_axis(original, np.maximum(n - 1, 0)[:, None], axis=1)[:, 0]
    bad |= last != ids.sep
    first_sep = np.argmax(sep_at, axis=1)
    second_sep = L - 1 - np.argmax(sep_at[:, ::-1], axis=1)
    bad |= (first_sep == 1) | (second_sep == first_sep + 1)  # an empty segment
    bad |= ((original == ids.pad) & real).any(axis=1)
    # Segments: 0 up to the first [SEP], 1 after it, 0 on padding.
    bad |= (segment_ids != ((np.arange(L) > first_sep[:, None]) & real)).any(axis=1)
    bad |= ((input_ids != ids.pad) & ~real).any(axis=1)
    # token_boundary: 0 or 1; 1 on [CLS] and [SEP]; 0 on padding.
    bad |= ((boundary != 0) & (boundary != 1)).any(axis=1)
    bad |= ((cls_at | sep_at) & (boundary != 1)).any(axis=1)
    bad |= ((boundary != 0) & ~real).any(axis=1)
    return bad


def _count(stats: RecordStats, f: dict[str, np.ndarray], mask_id: int) -> None:
    """:meth:`RecordStats.add` for every record of ``f`` (all valid)."""
    rows = f["input_ids"].shape[0]
    if rows == 0:
        return
    input_ids = f["input_ids"]
    n = np.count_nonzero(f["input_mask"], axis=1)
    used = f["masked_lm_weights"] == 1.0
    m = used.sum(axis=1)
    shown = np.take_along_axis(input_ids, f["masked_lm_positions"], axis=1)[used]
    labels = f["masked_lm_ids"][used]
    is_mask = shown == mask_id
    is_kept = ~is_mask & (shown == labels)
    stats.records += rows
    stats.tokens += int(n.sum())
    stats.max_seq_length = max(stats.max_seq_length, input_ids.shape[1])
    for length, c in zip(*np.unique(n, return_counts=True)):
        stats.lengths[int(length)] += int(c)
    for value, c in zip(*np.unique(f[LABEL_FEATURE][:, 0], return_counts=True)):
        stats.sop_labels[int(value)] += int(c)
    stats.predictions += int(shown.size)
    stats.replaced_by_mask += int(is_mask.sum())
    stats.kept += int(is_kept.sum())
    stats.replaced_by_random += int((~is_mask & ~is_kept).sum())
    stats.unmasked_records += int((m == 0).sum())
