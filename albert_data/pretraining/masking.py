"""N-gram whole-word masking for the masked-LM objective (ALBERT's recipe, made safe).

Used twice: by ``make-pretraining`` for static masks and by the trainer for records
written with ``--masking dynamic``; both call :func:`mask_record` so the two paths
mask identically for the same generator.

The algorithm, per sequence:

* budget = min(max_predictions_per_seq, max(1, round(len(tokens) × masked_lm_prob)));
* candidates are words: a word is a token whose ``token_boundary`` is 1 (or that
  follows [CLS]/[SEP]) plus the continuation tokens after it; with whole-word masking
  off every token is its own candidate. [CLS], [SEP] and padding are never candidates;
* candidate start words are visited in a random order; at each, an n-gram length
  n ≤ max_n is drawn with p(n) ∝ 1/n (uniform with ``favor_shorter_ngram`` off),
  restricted to the words left before the end of the segment, so an n-gram never
  crosses [SEP]; if the n-gram would overflow the budget it is shortened, and it is
  skipped if it overlaps tokens already chosen;
* each chosen token becomes [MASK] with probability 0.8, keeps its id with 0.1 and
  becomes a uniformly drawn regular piece with 0.1 (never a control or special symbol).

All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from albert_data.pretraining.config_errors import require


@dataclass(frozen=True)
class MaskingConfig:
    """The masking knobs, with Google's defaults."""

    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    max_n: int = 3
    favor_shorter_ngram: bool = True
    do_whole_word_mask: bool = True

    def __post_init__(self) -> None:
        require(
            0.0 < self.masked_lm_prob <= 1.0,
            "masked_lm_prob",
            self.masked_lm_prob,
            "is outside (0, 1]",
            0.15,
        )
        require(
            self.max_predictions_per_seq >= 1,
            "max_predictions_per_seq",
            self.max_predictions_per_seq,
            "must be >= 1",
            20,
        )
        require(self.max_n >= 1, "max_n", self.max_n, "must be >= 1", 3)

    def ngram_cdfs(self) -> np.ndarray:
        """Row k-1 is the CDF of n over 1..k (the lengths possible with k words left)."""
        return _ngram_cdfs(self.max_n, self.favor_shorter_ngram)


@functools.lru_cache(maxsize=64)
def _ngram_cdfs(max_n: int, favor_shorter: bool) -> np.ndarray:
    weights = 1.0 / np.arange(1, max_n + 1) if favor_shorter else np.ones(max_n)
    table = np.ones((max_n, max_n))
    for k in range(1, max_n + 1):
        p = weights[:k] / weights[:k].sum()
        table[k - 1, :k] = np.cumsum(p)
        table[k - 1, k - 1] = 1.0
    table.setflags(write=False)
    return table


@dataclass(frozen=True)
class MaskResult:
    """The masked sequence and its predictions (unpadded, positions ascending)."""

    input_ids: np.ndarray  # int32 [n], with replacements applied
    positions: np.ndarray  # int32 [m], ascending
    labels: np.ndarray  # int32 [m], the original ids at ``positions``
    ngram_lengths: np.ndarray  # int32 [k], the length (in words) of every n-gram chosen


def prediction_budget(num_tokens: int, config: MaskingConfig) -> int:
    """How many tokens a sequence of ``num_tokens`` (incl. [CLS]/[SEP]) gets masked."""
    return min(
        config.max_predictions_per_seq,
        max(1, int(round(num_tokens * config.masked_lm_prob))),
    )


def word_spans(
    token_boundary: np.ndarray, special: np.ndarray, *, whole_word: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, end, words left in the segment) of every candidate word.

    ``special`` marks [CLS]/[SEP] (and padding); words never contain special tokens, a
    token right after one starts a word, and ``left[i]`` counts the words from word i to
    the end of its segment (itself included), so n-grams can be kept inside a segment.
    """
    special = np.asarray(special, dtype=bool)
    n = special.size
    if whole_word:
        starts_mask = np.asarray(token_boundary) != 0
        starts_mask[1:] |= special[:-1]
        starts_mask &= ~special
    else:
        starts_mask = ~special
    # Word starts and special tokens, in order: a word ends where the next cut begins,
    # and a segment's words run up to its next special token.
    cuts = np.flatnonzero(starts_mask | special)
    is_start = starts_mask[cuts]
    start_idx = np.flatnonzero(is_start)
    if start_idx.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    following = np.empty_like(cuts)
    following[:-1] = cuts[1:]
    following[-1] = n
    special_idx = np.flatnonzero(~is_start)
    if special_idx.size == 0 or special_idx[-1] < start_idx[-1]:
        special_idx = np.append(special_idx, cuts.size)  # words run to the end
    next_special = special_idx[np.searchsorted(special_idx, start_idx)]
    starts = cuts[start_idx]
    ends = following[start_idx]
    left = next_special - start_idx
    return starts, ends, left


def mask_sequence(
    ids: np.ndarray,
    token_boundary: np.ndarray,
    special: np.ndarray,
    *,
    config: MaskingConfig,
    mask_id: int,
    regular_ids: np.ndarray,
    rng: np.random.Generator,
) -> MaskResult:
    """Choose n-gram spans and apply the 80/10/10 replacement to one unpadded sequence.

    ``ids`` is [CLS] A [SEP] B [SEP] (no padding); ``special`` marks [CLS]/[SEP].
    """
    ids = np.asarray(ids, dtype=np.int32)
    starts, ends, left = word_spans(token_boundary, special, whole_word=config.do_whole_word_mask)
    budget = prediction_budget(ids.size, config)
    k = starts.size
    if k == 0:
        empty = np.zeros(0, dtype=np.int32)
        return MaskResult(ids.copy(), empty, empty, empty)

    order = rng.permutation(k)
    covered, chosen_n = _greedy_select(
        order, np.minimum(left, config.max_n), starts, ends, budget, ids.size, config, rng
    )
    if not chosen_n:
        empty = np.zeros(0, dtype=np.int32)
        return MaskResult(ids.copy(), empty, empty, empty)
    positions = np.flatnonzero(np.frombuffer(covered, dtype=np.uint8)).astype(np.int32)
    labels = ids[positions]
    out = ids.copy()
    roll = rng.random(positions.size)
    out[positions[roll < 0.8]] = mask_id
    to_random = positions[roll >= 0.9]
    if to_random.size:
        out[to_random] = regular_ids[rng.integers(0, regular_ids.size, size=to_random.size)]
    return MaskResult(out, positions, labels, np.asarray(chosen_n, dtype=np.int32))


def _greedy_select(order, left, starts, ends, budget, seq_len, config: MaskingConfig, rng):
    """Visit candidate words in ``order``; draw each one's n-gram length (p(n) ∝ 1/n over
    the ``left[w]`` lengths possible from it); take each n-gram that fits the budget
    (shortened if need be) and overlaps nothing.

    Returns the covered-token mask (a bytearray) and the length in words of each n-gram
    taken. Work is done a chunk of candidates at a time: twice the budget is
    nearly always enough, so the ~k-word arrays are never processed whole.
    """
    covered = bytearray(seq_len)
    count = 0
    taken: list[int] = []
    k = order.size
    chunk = 2 * budget + 4
    cdfs = config.ngram_cdfs()
    offsets = np.arange(config.max_n)
    for first in range(0, k, chunk):
        cand = order[first : first + chunk]
        room = left[cand]
        lengths = (rng.random(cand.size)[:, None] >= cdfs[room - 1]).sum(axis=1) + 1
        span_ends = ends[np.minimum(cand[:, None] + offsets, k - 1)].tolist()
        for n, s, e_by_n in zip(
            np.minimum(lengths, room).tolist(), starts[cand].tolist(), span_ends
        ):
            # Shorten the n-gram until it fits the remaining budget.
            while n > 0 and count + (e_by_n[n - 1] - s) > budget:
                n -= 1
            if n == 0:
                continue
            e = e_by_n[n - 1]
            if covered.find(1, s, e) != -1:
                continue
            covered[s:e] = b"\x01" * (e - s)
            count += e - s
            taken.append(n)
            if count >= budget:
                return covered, taken
    return covered, taken


def mask_record(
    input_ids: np.ndarray,
    token_boundary: np.ndarray,
    input_mask: np.ndarray,
    *,
    config: MaskingConfig,
    mask_id: int,
    cls_id: int,
    sep_id: int,
    regular_ids: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mask one padded record (the dynamic-masking entry point used by the trainer).

    Returns (masked input_ids [L], masked_lm_positions [P], masked_lm_ids [P],
    masked_lm_weights [P]) padded with zeros, as in the TFRecord schema.
    """
    input_ids = np.asarray(input_ids)
    n = int(np.count_nonzero(input_mask))  # real tokens form a prefix of the record
    real = input_ids[:n]
    special = (real == cls_id) | (real == sep_id)
    result = mask_sequence(
        real,
        np.asarray(token_boundary)[:n],
        special,
        config=config,
        mask_id=mask_id,
        regular_ids=regular_ids,
        rng=rng,
    )
    return pad_predictions(result, input_ids.size, config.max_predictions_per_seq)


def pad_predictions(result: MaskResult, seq_len: int, max_predictions: int):
    """Pad a :class:`MaskResult` to the fixed record shapes."""
    m = result.positions.size
    positions = np.zeros(max_predictions, dtype=np.int64)
    labels = np.zeros(max_predictions, dtype=np.int64)
    weights = np.zeros(max_predictions, dtype=np.float32)
    positions[:m] = result.positions
    labels[:m] = result.labels
    weights[:m] = 1.0
    ids = np.zeros(seq_len, dtype=np.int64)
    ids[: result.input_ids.size] = result.input_ids
    return ids, positions, labels, weights
