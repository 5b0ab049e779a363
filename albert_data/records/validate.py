"""Invariants of a pretraining record, and aggregate statistics over many records.

:func:`validate_record` checks one decoded record (``schema.parse`` output) against
every invariant the writer guarantees and returns the problems found (an empty list
for a valid record). :class:`RecordStats` accumulates what ``inspect`` reports:
records, tokens, predictions, the [MASK]/kept/random replacement mix, the SOP label
balance and the sequence-length histogram, and flags an implausible replacement mix.

Pure numpy; no TensorFlow, no vocabulary object: ids are passed in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from albert_data.records.schema import (
    FEATURE_ORDER,
    FLOAT_FEATURES_P,
    INT_FEATURES_L,
    INT_FEATURES_P,
    LABEL_FEATURE,
    RecordShape,
)

# Plausibility of the replacement mix (80% [MASK], 10% kept, 10% random).
MIN_PREDICTIONS_FOR_MIX = 1000
MASK_SHARE, MASK_TOLERANCE = 0.8, 0.05
OTHER_SHARE, OTHER_TOLERANCE = 0.1, 0.04


@dataclass(frozen=True)
class SpecialTokens:
    """The ids a record's structure is checked against."""

    cls: int
    sep: int
    mask: int
    pad: int

    def name(self, token_id: int) -> str:
        names = {self.pad: "[PAD]", self.mask: "[MASK]", self.sep: "[SEP]", self.cls: "[CLS]"}
        return names.get(int(token_id), str(int(token_id)))


def validate_record(
    features: dict[str, np.ndarray],
    *,
    shape: RecordShape,
    vocab_size: int,
    cls_id: int,
    sep_id: int,
    mask_id: int,
    pad_id: int,
) -> list[str]:
    """Every problem of one decoded record, as short sentences; ``[]`` when it is valid.

    Records written for dynamic masking (all ``masked_lm_weights`` zero) are valid.
    """
    special = SpecialTokens(cls=cls_id, sep=sep_id, mask=mask_id, pad=pad_id)
    problems = _check_shapes(features, shape)
    if problems:
        return problems
    f = {name: np.asarray(features[name]) for name in FEATURE_ORDER}
    problems += _check_id_range(f, vocab_size)
    n, mask_problems = _real_length(f["input_mask"])
    if mask_problems:  # everything else depends on where the real tokens end
        return problems + mask_problems
    if n < 5:
        problems.append(f"only {n} real tokens, expected at least 5 ([CLS] A [SEP] B [SEP])")
    (positions, labels), prediction_problems = _check_predictions(f, n, special)
    problems += prediction_problems
    # Structure is checked on the sequence before masking: restore the original ids.
    original = f["input_ids"].copy()
    original[positions] = labels
    problems += _check_structure(original[:n], special)
    if np.count_nonzero(original[:n] == sep_id) == 2:  # else segments are ill-defined
        problems += _check_segments(f["segment_ids"], original[:n], n, special)
    problems += _check_padding(f, n, special)
    problems += _check_boundary(f["token_boundary"], original[:n], n, special)
    label = int(f[LABEL_FEATURE][0])
    if label not in (0, 1):
        problems.append(f"next_sentence_labels is {label}, expected 0 or 1")
    return problems


def isin_few(values: np.ndarray, ids: tuple) -> np.ndarray:
    """``np.isin`` for a handful of ids, without its set-up cost on small arrays."""
    out = values == ids[0]
    for i in ids[1:]:
        out |= values == i
    return out


def _check_shapes(features: dict, shape: RecordShape) -> list[str]:
    expected = {name: shape.max_seq_length for name in INT_FEATURES_L}
    expected |= {
        name: shape.max_predictions_per_seq for name in (*INT_FEATURES_P, *FLOAT_FEATURES_P)
    }
    expected[LABEL_FEATURE] = 1
    problems = []
    for name, size in expected.items():
        if name not in features:
            problems.append(f"feature {name} is missing")
            continue
        values = np.asarray(features[name])
        want = "float" if name in FLOAT_FEATURES_P else "int64"
        kind = {"f": "float", "i": "int64", "u": "int64"}.get(values.dtype.kind, "bytes")
        if values.size and kind != want:
            problems.append(f"feature {name} has {kind} values, expected {want}")
        elif values.size != size:
            problems.append(f"feature {name} has {values.size} values, expected {size}")
    return problems


def _check_id_range(f: dict, vocab_size: int) -> list[str]:
    problems = []
    for name in ("input_ids", "masked_lm_ids"):
        bad = np.flatnonzero((f[name] < 0) | (f[name] >= vocab_size))
        if bad.size:
            k = int(bad[0])
            problems.append(
                f"{name}[{k}] = {int(f[name][k])} is outside the vocabulary [0, {vocab_size})"
                + (f" ({bad.size} such ids)" if bad.size > 1 else "")
            )
    return problems


def _real_length(input_mask: np.ndarray) -> tuple[int, list[str]]:
    """The number of real tokens (the leading ones of input_mask) and its problems."""
    bad = np.flatnonzero(~isin_few(input_mask, (0, 1)))
    if bad.size:
        k = int(bad[0])
        return 0, [f"input_mask[{k}] = {int(input_mask[k])}, expected 0 or 1"]
    zeros = np.flatnonzero(input_mask == 0)
    n = int(zeros[0]) if zeros.size else input_mask.size
    if input_mask[n:].any():
        k = n + int(np.flatnonzero(input_mask[n:])[0])
        return n, [
            f"input_mask is not ones then zeros: input_mask[{k}] = 1 after input_mask[{n}] = 0"
        ]
    return n, []


def _check_predictions(f: dict, n: int, special: SpecialTokens):
    """((positions, original ids) of the predictions inside the sequence, problems)."""
    problems = []
    weights = f["masked_lm_weights"]
    positions_all = f["masked_lm_positions"]
    labels_all = f["masked_lm_ids"]
    if not isin_few(weights, (0.0, 1.0)).all():
        k = int(np.flatnonzero(~isin_few(weights, (0.0, 1.0)))[0])
        problems.append(f"masked_lm_weights[{k}] = {float(weights[k])}, expected 1.0 or 0.0")
    # Prediction slots: up to the last non-zero weight (the non-zero ones must lead).
    nonzero = np.flatnonzero(weights != 0.0)
    m = int(nonzero[-1]) + 1 if nonzero.size else 0
    if nonzero.size != m:
        k = int(np.flatnonzero(weights[:m] == 0.0)[0])
        problems.append(
            f"masked_lm_weights is not ones then zeros: weight {k} is 0 before weight {m - 1}"
        )
    if positions_all[m:].any() or labels_all[m:].any():
        problems.append(f"padded masked_lm_positions/masked_lm_ids (from index {m}) are not all 0")
    positions, labels = positions_all[:m], labels_all[:m]
    if m > 1 and not (np.diff(positions) > 0).all():
        k = int(np.flatnonzero(np.diff(positions) <= 0)[0]) + 1
        problems.append(
            f"masked_lm_positions not strictly ascending: position {int(positions[k])}"
            f" at index {k} follows {int(positions[k - 1])}"
        )
    outside = (positions < 1) | (positions >= n)
    for k in np.flatnonzero(outside)[:1]:
        p = int(positions[k])
        where = "on [CLS]" if p == 0 else "outside the real sequence"
        problems.append(f"masked_lm_positions[{k}] = {p} is {where} (real tokens: {n})")
    valid = ~outside
    for k in np.flatnonzero(
        isin_few(labels, (special.cls, special.sep, special.mask, special.pad))
    )[:1]:
        problems.append(
            f"masked_lm_ids[{k}] = {special.name(labels[k])} at position {int(positions[k])}:"
            " a special token was masked"
        )
    shown = np.full(m, -1, dtype=np.int64)
    shown[valid] = f["input_ids"][positions[valid]]
    on_special = isin_few(shown, (special.cls, special.sep, special.pad))
    for k in np.flatnonzero(on_special)[:1]:
        p, name = int(positions[k]), special.name(shown[k])
        if shown[k] == labels[k]:
            problems.append(f"masked_lm_positions[{k}] = {p} is on {name}")
        else:
            problems.append(
                f"masked_lm_positions[{k}] = {p} shows {name} in input_ids: a masked token"
                f" becomes [MASK], stays, or becomes a regular piece, never {name}"
            )
    return (positions[valid], labels[valid]), problems


def _check_structure(real: np.ndarray, special: SpecialTokens) -> list[str]:
    problems = []
    if real.size == 0:
        return problems
    if real[0] != special.cls:
        problems.append(f"input_ids[0] is {special.name(real[0])}, expected [CLS] ({special.cls})")
    extra_cls = np.flatnonzero(real[1:] == special.cls) + 1
    if extra_cls.size:
        problems.append(f"[CLS] also at position {int(extra_cls[0])}")
    seps = np.flatnonzero(real == special.sep)
    if seps.size != 2:
        problems.append(f"{seps.size} [SEP] among the {real.size} real tokens, expected 2")
    if real[-1] != special.sep:
        problems.append(
            f"the last real token (position {real.size - 1}) is {special.name(real[-1])}, expected [SEP]"
        )
    if seps.size == 2 and real[-1] == special.sep:
        if seps[0] == 1:
            problems.append("segment A is empty")
        if seps[1] == seps[0] + 1:
            problems.append("segment B is empty")
    pads = np.flatnonzero(real == special.pad)
    if pads.size:
        problems.append(f"[PAD] inside the real sequence at position {int(pads[0])}")
    return problems


def _check_segments(segment_ids: np.ndarray, real: np.ndarray, n: int, special: SpecialTokens):
    seps = np.flatnonzero(real == special.sep)
    first_sep = int(seps[0]) if seps.size else n - 1
    expected = np.zeros(segment_ids.size, dtype=np.int64)
    expected[first_sep + 1 : n] = 1
    bad = np.flatnonzero(segment_ids != expected)
    if not bad.size:
        return []
    k = int(bad[0])
    where = (
        "padding"
        if k >= n
        else ("up to the first [SEP]" if k <= first_sep else "after the first [SEP]")
    )
    return [
        f"segment_ids[{k}] = {int(segment_ids[k])} ({where}), expected {int(expected[k])}"
        + (f" ({bad.size} wrong)" if bad.size > 1 else "")
    ]


def _check_padding(f: dict, n: int, special: SpecialTokens) -> list[str]:
    pad = f["input_ids"][n:]
    bad = np.flatnonzero(pad != special.pad)
    if not bad.size:
        return []
    k = n + int(bad[0])
    return [f"input_ids[{k}] = {int(f['input_ids'][k])} on padding, expected [PAD] ({special.pad})"]


def _check_boundary(boundary: np.ndarray, real: np.ndarray, n: int, special: SpecialTokens):
    problems = []
    not_01 = np.flatnonzero(~isin_few(boundary, (0, 1)))
    if not_01.size:
        k = int(not_01[0])
        problems.append(f"token_boundary[{k}] = {int(boundary[k])}, expected 0 or 1")
    ctrl = np.flatnonzero(isin_few(real, (special.cls, special.sep)) & (boundary[:n] != 1))
    if ctrl.size:
        k = int(ctrl[0])
        problems.append(f"token_boundary[{k}] is 0 on {special.name(real[k])}, expected 1")
    on_pad = np.flatnonzero(boundary[n:] != 0)
    if on_pad.size:
        problems.append(f"token_boundary[{n + int(on_pad[0])}] is non-zero on padding")
    return problems


@dataclass
class RecordStats:
    """Aggregate statistics over decoded records (see :meth:`add`)."""

    records: int = 0
    tokens: int = 0
    predictions: int = 0
    replaced_by_mask: int = 0
    kept: int = 0
    replaced_by_random: int = 0
    unmasked_records: int = 0  # no masks: written for dynamic masking, or no word fitted
    sop_labels: Counter = field(default_factory=Counter)
    lengths: Counter = field(default_factory=Counter)
    max_seq_length: int = 0

    def add(self, features: dict[str, np.ndarray], *, mask_id: int) -> None:
        """Count one record (assumed structurally valid enough to index)."""
        ids = np.asarray(features["input_ids"])
        n = int(np.count_nonzero(features["input_mask"]))
        weights = np.asarray(features["masked_lm_weights"])
        m = int(np.count_nonzero(weights == 1.0))
        positions = np.asarray(features["masked_lm_positions"])[:m]
        labels = np.asarray(features["masked_lm_ids"])[:m]
        positions = positions[(positions >= 0) & (positions < ids.size)]
        shown = ids[positions]
        labels = labels[: positions.size]
        self.records += 1
        self.tokens += n
        self.max_seq_length = max(self.max_seq_length, ids.size)
        self.lengths[n] += 1
        self.sop_labels[int(np.asarray(features[LABEL_FEATURE])[0])] += 1
        self.predictions += positions.size
        is_mask = shown == mask_id
        is_kept = ~is_mask & (shown == labels)
        self.replaced_by_mask += int(is_mask.sum())
        self.kept += int(is_kept.sum())
        self.replaced_by_random += int((~is_mask & ~is_kept).sum())
        self.unmasked_records += m == 0

    def merge(self, other: RecordStats) -> RecordStats:
        """Add ``other``'s counts to these."""
        for name in ("records", "tokens", "predictions", "replaced_by_mask", "kept"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.replaced_by_random += other.replaced_by_random
        self.unmasked_records += other.unmasked_records
        self.sop_labels.update(other.sop_labels)
        self.lengths.update(other.lengths)
        self.max_seq_length = max(self.max_seq_length, other.max_seq_length)
        return self

    def replacement_mix(self) -> dict[str, float]:
        """Fractions of predictions shown as [MASK], kept, or replaced by a random piece."""
        total = max(self.predictions, 1)
        return {
            "mask": self.replaced_by_mask / total,
            "kept": self.kept / total,
            "random": self.replaced_by_random / total,
        }

    def implausibilities(self) -> list[str]:
        """Problems with the replacement mix, judged once there are enough predictions."""
        if self.predictions < MIN_PREDICTIONS_FOR_MIX:
            return []
        mix = self.replacement_mix()
        problems = []
        if abs(mix["mask"] - MASK_SHARE) > MASK_TOLERANCE:
            problems.append(_mix_problem("[MASK]", mix["mask"], MASK_SHARE, MASK_TOLERANCE))
        for key, name in (("kept", "kept"), ("random", "random")):
            if abs(mix[key] - OTHER_SHARE) > OTHER_TOLERANCE:
                problems.append(_mix_problem(name, mix[key], OTHER_SHARE, OTHER_TOLERANCE))
        if problems:
            return [
                f"implausible replacement mix over {self.predictions} predictions: "
                + "; ".join(problems)
            ]
        return []

    def length_histogram(self, bins: int = 8) -> list[tuple[int, int, int]]:
        """(low, high, count) of real sequence lengths in ``bins`` equal-width bins."""
        top = max(self.max_seq_length, max(self.lengths, default=1), 1)
        width = max(1, -(-top // bins))
        counts = Counter()
        for length, count in self.lengths.items():
            counts[min(length // width, bins - 1)] += count
        return [
            (b * width, min((b + 1) * width - 1, top), counts[b])
            for b in range(bins)
            if b * width <= top
        ]

    def summary(self) -> dict:
        """A JSON-ready summary."""
        records = max(self.records, 1)
        return {
            "records": self.records,
            "tokens": self.tokens,
            "mean_length": self.tokens / records,
            "predictions": self.predictions,
            "mask_rate": self.predictions / max(self.tokens, 1),
            "mean_predictions": self.predictions / records,
            "unmasked_records": self.unmasked_records,
            "replacement_mix": self.replacement_mix(),
            "sop_labels": {str(k): v for k, v in sorted(self.sop_labels.items())},
            "sop_swapped_fraction": self.sop_labels[1] / records,
            "length_histogram": [
                {"low": lo, "high": hi, "count": c} for lo, hi, c in self.length_histogram()
            ],
        }


def _mix_problem(name: str, share: float, expected: float, tolerance: float) -> str:
    return f"{name} {share:.1%}, expected {expected:.0%} ± {tolerance:.0%}"
