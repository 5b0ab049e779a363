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

All randomness comes from the ``numpy.random.Generator`` passed in (or, for a batch,
from each sequence's generator, see :func:`mask_batch`); masking never sets a
generator's state.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from albert_data.pretraining.config_errors import require_albert


@dataclass(frozen=True)
class MaskingConfig:
    """The masking knobs, with Google's defaults."""

    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    max_n: int = 3
    favor_shorter_ngram: bool = True
    do_whole_word_mask: bool = True

    def __post_init__(self) -> None:
        require_albert(
            self, 0.0 < self.masked_lm_prob <= 1.0, "masked_lm_prob", "is outside (0, 1]"
        )
        require_albert(
            self, self.max_predictions_per_seq >= 1, "max_predictions_per_seq", "must be >= 1"
        )
        require_albert(self, self.max_n >= 1, "max_n", "must be >= 1")

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


@dataclass(frozen=True)
class Sequences:
    """Unpadded sequences concatenated: sequence i is ``[offsets[i], offsets[i+1])`` of
    each token array (:class:`albert_data.pretraining.instances.InstanceBatch` has these
    fields too and can be passed where a :class:`Sequences` is expected)."""

    ids: np.ndarray  # int32 [total]
    token_boundary: np.ndarray  # [total], non-zero where a word starts
    special: np.ndarray  # bool [total]: [CLS]/[SEP]
    offsets: np.ndarray  # int64 [num_sequences + 1]

    @classmethod
    def one(cls, ids, token_boundary, special) -> Sequences:
        ids = np.asarray(ids, dtype=np.int32)
        return cls(ids, token_boundary, special, np.array([0, ids.size], dtype=np.int64))


@dataclass(frozen=True)
class WordSpans:
    """The candidate words of a token array: word w is the tokens ``[starts[w],
    ends[w])``; ``left[w]`` counts the words from w to the end of its segment (itself
    included), so that an n-gram can be kept inside its segment."""

    starts: np.ndarray  # int64 [num_words], ascending
    ends: np.ndarray  # int64 [num_words]
    left: np.ndarray  # int64 [num_words]


def word_spans(token_boundary: np.ndarray, special: np.ndarray, *, whole_word: bool) -> WordSpans:
    """The candidate words of a token array.

    ``special`` marks [CLS]/[SEP] (and padding); words never contain special tokens and
    a token right after one starts a word. With ``whole_word`` off every other token is
    a word of its own.
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
        return WordSpans(empty, empty, empty)
    following = np.empty_like(cuts)
    following[:-1] = cuts[1:]
    following[-1] = n
    special_idx = np.flatnonzero(~is_start)
    if special_idx.size == 0 or special_idx[-1] < start_idx[-1]:
        special_idx = np.append(special_idx, cuts.size)  # words run to the end
    next_special = special_idx[np.searchsorted(special_idx, start_idx)]
    return WordSpans(cuts[start_idx], following[start_idx], next_special - start_idx)


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
    masks = _mask(
        Sequences.one(ids, token_boundary, special), config, mask_id, regular_ids, [(0, rng)]
    )
    return MaskResult(
        masks.input_ids,
        masks.positions,
        masks.labels,
        np.asarray(masks.ngram_lengths[0], dtype=np.int32),
    )


@dataclass(frozen=True)
class BatchMasks:
    """The masks of several sequences concatenated (see :func:`mask_batch`)."""

    input_ids: np.ndarray  # int32 [total], with replacements applied
    positions: np.ndarray  # int32 [sum m_i], sequence i's positions (relative to its start)
    labels: np.ndarray  # int32 [sum m_i], the original ids at those positions
    position_offsets: np.ndarray  # int64 [num_sequences + 1]
    ngram_lengths: list[tuple[int, ...]]  # per sequence, the length in words of each n-gram


def mask_batch(
    sequences: Sequences,
    *,
    config: MaskingConfig,
    mask_id: int,
    regular_ids: np.ndarray,
    rng: np.random.Generator | None = None,
    streams: Sequence[tuple[int, np.random.Generator]] | None = None,
) -> BatchMasks:
    """:func:`mask_sequence` on each of ``sequences`` in turn: the same draws and the same
    masks, but the word spans and the replacements are computed for all sequences at
    once.

    The draws come from ``rng`` for every sequence, or from ``streams``: (first sequence,
    generator) pairs, in order, the first at sequence 0; from its first sequence on, a
    generator draws for every sequence until the next pair's first. Masking only draws
    from the generators, so a caller can give each document's duplicate its own stream
    (the generator that planned its instances, continuing where planning left it).
    Every sequence must begin and end with a special token ([CLS] ... [SEP]), so that
    no word or n-gram can run from one into the next.
    """
    if (rng is None) == (streams is None):
        raise ValueError("mask_batch: give either rng or streams")
    streams = [(0, rng)] if streams is None else list(streams)
    if not streams or streams[0][0] != 0:
        raise ValueError("mask_batch: the first stream must start at sequence 0")
    offsets = np.asarray(sequences.offsets, dtype=np.int64)
    special = np.asarray(sequences.special, dtype=bool)
    if offsets.size > 1 and not (special[offsets[:-1]].all() and special[offsets[1:] - 1].all()):
        raise ValueError("mask_batch: every sequence must begin and end with a special token")
    return _mask(sequences, config, mask_id, regular_ids, streams)


def _mask(sequences, config, mask_id, regular_ids, streams) -> BatchMasks:
    ids = np.asarray(sequences.ids, dtype=np.int32)
    offsets = np.asarray(sequences.offsets, dtype=np.int64)
    spans = word_spans(
        sequences.token_boundary, sequences.special, whole_word=config.do_whole_word_mask
    )
    words = _Words(
        spans.starts.tolist(),
        spans.ends.tolist(),
        np.minimum(spans.left, config.max_n).tolist(),
        [None, *config.ngram_cdfs().tolist()],
    )
    chosen = _Chosen(bytearray(ids.size))
    _select_all(
        offsets.tolist(),
        np.searchsorted(spans.starts, offsets).tolist(),
        words,
        chosen,
        config,
        regular_ids.size,
        dict(streams),
    )
    positions = np.flatnonzero(np.frombuffer(chosen.covered, dtype=np.uint8))
    out = ids.copy()
    labels = ids[positions]
    position_offsets = np.zeros(len(chosen.counts) + 1, dtype=np.int64)
    np.cumsum(chosen.counts, out=position_offsets[1:])
    if positions.size:
        roll = np.concatenate(chosen.rolls)
        out[positions[roll < 0.8]] = mask_id
        if chosen.draws:
            out[positions[roll >= 0.9]] = regular_ids[np.concatenate(chosen.draws)]
        positions = positions - np.repeat(offsets[:-1], chosen.counts)
    return BatchMasks(out, positions.astype(np.int32), labels, position_offsets, chosen.ngrams)


@dataclass(frozen=True)
class _Words:
    """The candidate words as lists (fast to index one at a time): word w is the tokens
    ``[starts[w], ends[w])``, with ``room[w]`` n-gram lengths possible from it (at most
    ``max_n``); ``cdf_rows[r]`` is the CDF of the n-gram length with r words of room."""

    starts: list[int]
    ends: list[int]
    room: list[int]
    cdf_rows: list


@dataclass
class _Chosen:
    """What masking has chosen so far: the tokens (``covered``, one byte per token of
    the batch), per sequence the number of tokens and the n-gram lengths, and the
    80/10/10 rolls and the random replacements drawn, in order."""

    covered: bytearray
    counts: list[int] = field(default_factory=list)
    ngrams: list[tuple[int, ...]] = field(default_factory=list)
    rolls: list[np.ndarray] = field(default_factory=list)
    draws: list[np.ndarray] = field(default_factory=list)


def _select_all(bounds, word_bounds, words: _Words, chosen: _Chosen, config, num_regular, streams):
    """Per sequence, in order, drawing from its stream: the candidate order, the n-gram
    lengths and greedy choice (:func:`_greedy_select`), then the 80/10/10 roll and the
    random replacements."""
    # Shuffling a slice of this in place draws what rng.permutation(w1 - w0) draws (which
    # is arange + shuffle) and gives the word indices directly, for less numpy overhead.
    order_of = np.arange(len(words.starts), dtype=np.int64)
    rng = None
    for i in range(len(bounds) - 1):
        rng = streams.get(i, rng)
        w0, w1 = word_bounds[i], word_bounds[i + 1]
        if w1 == w0:
            chosen.counts.append(0)
            chosen.ngrams.append(())
            continue
        budget = prediction_budget(bounds[i + 1] - bounds[i], config)
        order = order_of[w0:w1]
        rng.shuffle(order)
        count, taken = _greedy_select(order, budget, words, chosen.covered, rng)
        chosen.counts.append(count)
        chosen.ngrams.append(tuple(taken))
        if count:
            roll = rng.random(count)
            chosen.rolls.append(roll)
            to_random = int(np.count_nonzero(roll >= 0.9))
            if to_random:
                chosen.draws.append(rng.integers(0, num_regular, size=to_random))


def _greedy_select(order, budget, words: _Words, covered: bytearray, rng):
    """Visit candidate words in ``order``; draw each one's n-gram length (p(n) ∝ 1/n
    over the ``room[w]`` lengths possible from it); take each n-gram that fits the
    budget (shortened if need be) and overlaps nothing.

    Marks the tokens taken in ``covered``; returns their number and the length in words
    of each n-gram taken. Lengths are drawn a chunk of candidates at a time: twice the
    budget is nearly always enough, so the ~k-word arrays are never processed whole.
    """
    starts, ends, room, cdf_rows = words.starts, words.ends, words.room, words.cdf_rows
    count = 0
    taken: list[int] = []
    chunk = 2 * budget + 4
    for first in range(0, order.size, chunk):
        cand = order[first : first + chunk].tolist()
        for w, u in zip(cand, rng.random(len(cand)).tolist()):
            row = cdf_rows[room[w]]
            n = 1
            while u >= row[n - 1]:
                n += 1
            s = starts[w]
            # Shorten the n-gram until it fits the remaining budget.
            while n > 0 and count + (ends[w + n - 1] - s) > budget:
                n -= 1
            if n == 0:
                continue
            e = ends[w + n - 1]
            if covered.find(1, s, e) != -1:
                continue
            covered[s:e] = b"\x01" * (e - s)
            count += e - s
            taken.append(n)
            if count >= budget:
                return count, taken
    return count, taken


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
