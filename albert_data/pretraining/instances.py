"""Sentence-order-prediction (SOP) instances from one tokenised document.

Google's semantics (``create_instances_from_document`` of ALBERT) with one change: a
chunk holding a single sentence is split at a random word boundary instead of
borrowing text from another document, so that every document is processed on its
own (no cross-document state in the pipeline).

Per document and duplicate: the target length is ``max_seq_length - 3``, shortened to
a random length in [2, target] with probability ``short_seq_prob``; sentences are
accumulated into a chunk until the target is reached (or the document ends);
segment A is the first 1..k-1 sentences, B the rest; with probability 0.5 A and B are
swapped (label 1); the pair is truncated from a random end of the longer side.

A sentence longer than ``max_seq_length - 3`` tokens is first cut at word boundaries
into pieces that each fit (:func:`cut_long_sentences`), so no text is lost beyond the
pair truncation (Google's code truncated such a sentence to one instance).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from albert_data.pretraining.config_errors import require_albert


@dataclass(frozen=True)
class InstanceConfig:
    """How instances are cut from documents (Google's defaults)."""

    max_seq_length: int = 512
    short_seq_prob: float = 0.1

    def __post_init__(self) -> None:
        require_albert(
            self,
            self.max_seq_length >= 5,
            "max_seq_length",
            "is too small for [CLS] A [SEP] B [SEP]; use at least 5",
        )
        require_albert(
            self, 0.0 <= self.short_seq_prob <= 1.0, "short_seq_prob", "is outside [0, 1]"
        )

    @property
    def max_num_tokens(self) -> int:
        return self.max_seq_length - 3


@dataclass(frozen=True)
class TokenizedDocument:
    """A document's sentences as one flat token array plus sentence offsets."""

    ids: np.ndarray  # int32 [total]
    word_starts: np.ndarray  # bool [total]
    offsets: np.ndarray  # int64 [num_sentences + 1], sentence i is ids[offsets[i]:offsets[i+1]]
    # bool [num_sentences] or None: the pieces of a cut long sentence, each a chunk alone
    alone: np.ndarray | None = None

    @classmethod
    def from_sentences(
        cls, ids: list[np.ndarray], word_starts: list[np.ndarray]
    ) -> TokenizedDocument:
        lengths = np.fromiter((a.size for a in ids), dtype=np.int64, count=len(ids))
        keep = lengths > 0
        ids = [a for a, k in zip(ids, keep) if k]
        word_starts = [w for w, k in zip(word_starts, keep) if k]
        offsets = np.concatenate(([0], np.cumsum(lengths[keep])))
        if not ids:
            return cls(np.zeros(0, np.int32), np.zeros(0, bool), offsets)
        return cls(
            np.concatenate(ids).astype(np.int32, copy=False),
            np.concatenate(word_starts).astype(bool, copy=False),
            offsets,
        )

    @classmethod
    def from_flat(
        cls, ids: np.ndarray, word_starts: np.ndarray, lengths: np.ndarray
    ) -> TokenizedDocument:
        """From a tokenizer's concatenated encoding of the sentences (empty ones dropped)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(lengths[lengths > 0])))
        return cls(np.asarray(ids, dtype=np.int32), np.asarray(word_starts, dtype=bool), offsets)

    @classmethod
    def split_flat(
        cls, ids: np.ndarray, word_starts: np.ndarray, lengths: np.ndarray, counts: list[int]
    ) -> list[TokenizedDocument]:
        """Several documents from one tokenizer call over all their sentences: document j
        has the next ``counts[j]`` sentences; each is what :meth:`from_flat` gives for
        that document's encoding alone (tokenizers mark each text's first token as a word
        start, so the concatenated encoding is the concatenation of the single ones)."""
        ids = np.asarray(ids, dtype=np.int32)
        word_starts = np.asarray(word_starts, dtype=bool)
        sizes = np.asarray(lengths, dtype=np.int64).tolist()
        docs, sentence, start = [], 0, 0
        for count in counts:
            offsets, end = [0], start
            for size in sizes[sentence : sentence + count]:
                if size:
                    end += size
                    offsets.append(end - start)
            docs.append(
                cls(ids[start:end], word_starts[start:end], np.array(offsets, dtype=np.int64))
            )
            sentence, start = sentence + count, end
        return docs

    @functools.cached_property
    def sentence_lengths(self) -> list[int]:
        """Tokens per sentence (computed once: every duplicate's planning needs them)."""
        return np.diff(self.offsets).tolist()

    @property
    def num_sentences(self) -> int:
        return self.offsets.size - 1

    @property
    def num_tokens(self) -> int:
        return int(self.ids.size)


@dataclass(frozen=True)
class LongSentenceCuts:
    """A document with its over-long sentences cut, and how many were cut into how many
    pieces."""

    doc: TokenizedDocument
    sentences: int = 0
    pieces: int = 0


def cut_long_sentences(doc: TokenizedDocument, max_tokens: int) -> LongSentenceCuts:
    """Cut every sentence longer than ``max_tokens`` into pieces of at most ``max_tokens``,
    each marked to form a chunk alone (see :func:`create_instances`).

    Greedy from the start: each piece ends just before the last word start that keeps it
    within ``max_tokens`` and at least two tokens long (mid-word only where no word start
    does); a last piece of a single token borrows one from the piece before, so every
    piece can form a pair.
    """
    if max_tokens < 2:
        raise ValueError(f"max_tokens must be at least 2, got {max_tokens}")
    if max(doc.sentence_lengths, default=0) <= max_tokens:
        return LongSentenceCuts(doc)
    long = np.flatnonzero(np.diff(doc.offsets) > max_tokens)
    cuts: list[int] = []
    for i in long.tolist():
        start, end = int(doc.offsets[i]), int(doc.offsets[i + 1])
        word_starts = np.flatnonzero(doc.word_starts[start + 1 : end]) + start + 1
        pos = start
        while end - pos > max_tokens:
            j = int(np.searchsorted(word_starts, pos + max_tokens, side="right")) - 1
            pos = int(word_starts[j]) if j >= 0 and word_starts[j] > pos + 1 else pos + max_tokens
            cuts.append(pos)
        if end - cuts[-1] < 2:
            cuts[-1] -= 1
    offsets = np.union1d(doc.offsets, np.asarray(cuts, dtype=np.int64)).astype(np.int64)
    # A sentence is a piece when it lies inside one of the long sentences.
    owner = np.searchsorted(doc.offsets, offsets[:-1], side="right") - 1
    alone = np.zeros(doc.num_sentences, dtype=bool)
    alone[long] = True
    cut = TokenizedDocument(doc.ids, doc.word_starts, offsets, alone[owner])
    return LongSentenceCuts(cut, int(long.size), int(long.size) + len(cuts))


@dataclass(frozen=True)
class Instance:
    """[CLS] A [SEP] B [SEP] before masking."""

    ids: np.ndarray  # int32 [n]
    segment_ids: np.ndarray  # int8 [n]
    token_boundary: np.ndarray  # bool [n]; [CLS]/[SEP] are boundaries, as in Google's records
    special: np.ndarray  # bool [n]; [CLS]/[SEP]
    swapped: bool  # the SOP label: True when B precedes A in the document


@dataclass
class DocumentOutcome:
    """What became of one document: its instances, or why it gave none."""

    instances: list[Instance] = field(default_factory=list)
    skipped: str | None = None  # "empty", "one_token"
    truncated_tokens: int = 0


@dataclass(frozen=True)
class InstanceBatch:
    """The instances of every (document, duplicate) plan given to :func:`build_instances`,
    in order and concatenated: instance i is ``[offsets[i], offsets[i+1])`` of each token
    array (built in one vectorised pass, so that masking and serialisation can work on
    the whole batch too)."""

    ids: np.ndarray  # int32 [total]
    segment_ids: np.ndarray  # int8 [total]
    token_boundary: np.ndarray  # bool [total]
    special: np.ndarray  # bool [total]
    offsets: np.ndarray  # int64 [num_instances + 1]
    swapped: list[bool]

    def __len__(self) -> int:
        return len(self.swapped)

    def instances(self) -> list[Instance]:
        """The instances as :class:`Instance` objects (views of the batch arrays)."""
        bounds = self.offsets.tolist()
        return [
            Instance(
                self.ids[s:e], self.segment_ids[s:e], self.token_boundary[s:e], self.special[s:e], w
            )
            for s, e, w in zip(bounds[:-1], bounds[1:], self.swapped)
        ]


@dataclass
class InstancePlan:
    """One document's instances for one duplicate, before the token arrays are built:
    the document ranges [a0, a1) and [b0, b1) of segments 1 and 2 of each instance."""

    pairs: list[tuple[int, int, int, int]] = field(default_factory=list)
    swapped: list[bool] = field(default_factory=list)
    skipped: str | None = None  # "empty", "one_token"
    truncated_tokens: int = 0

    def part(self, start: int, stop: int) -> InstancePlan:
        """The plan of instances ``[start, stop)`` only (for :func:`build_instances`)."""
        return InstancePlan(self.pairs[start:stop], self.swapped[start:stop])

    def sizes(self) -> list[int]:
        """Tokens of each planned instance, [CLS] and [SEP]s included."""
        return [a1 - a0 + b1 - b0 + 3 for a0, a1, b0, b1 in self.pairs]


def create_instances(
    doc: TokenizedDocument,
    *,
    config: InstanceConfig,
    cls_id: int,
    sep_id: int,
    rng: np.random.Generator,
) -> DocumentOutcome:
    """All instances of one document for one duplicate, drawing from ``rng``."""
    plan = plan_instances(doc, config=config, rng=rng)
    instances = build_instances([(doc, plan)], cls_id, sep_id).instances() if plan.pairs else []
    return DocumentOutcome(instances, plan.skipped, plan.truncated_tokens)


def plan_instances(
    doc: TokenizedDocument, *, config: InstanceConfig, rng: np.random.Generator
) -> InstancePlan:
    """Every random choice of :func:`create_instances` (the same draws, in the same
    order), without building the instances (:func:`build_instances` does)."""
    if doc.num_tokens == 0:
        return InstancePlan(skipped="empty")
    if doc.num_tokens == 1:
        return InstancePlan(skipped="one_token")
    max_tokens = config.max_num_tokens
    target = max_tokens
    if rng.random() < config.short_seq_prob:
        target = int(rng.integers(2, max_tokens + 1))

    plan = InstancePlan()
    for first, last in _chunks(doc.sentence_lengths, target, doc.alone):
        pair = _split_chunk(doc, first, last, rng)
        if pair is not None:
            _plan_instance(pair, max_tokens, rng, plan)
    return plan


def _chunks(lengths: list[int], target: int, alone: np.ndarray | None) -> list[tuple[int, int]]:
    """Sentence ranges [first, last) accumulated until ``target`` tokens (or the end);
    a sentence marked ``alone`` (a piece of a cut long sentence) is a chunk by itself,
    so that pieces are never truncated against each other."""
    chunks = []
    last = len(lengths) - 1
    alone_list = alone.tolist() if alone is not None else None
    chunk_start = 0  # sentence index
    chunk_len = 0
    for i, length in enumerate(lengths):
        if alone_list is not None and alone_list[i]:
            if i > chunk_start:
                chunks.append((chunk_start, i))
            chunks.append((i, i + 1))
            chunk_start, chunk_len = i + 1, 0
            continue
        chunk_len += length
        if i == last or chunk_len >= target:
            chunks.append((chunk_start, i + 1))
            chunk_start, chunk_len = i + 1, 0
    return chunks


def _split_chunk(doc: TokenizedDocument, first: int, last: int, rng) -> tuple[int, int, int] | None:
    """Token offsets (a_start, split, b_end) of segments A and B for sentences [first, last)."""
    start, end = int(doc.offsets[first]), int(doc.offsets[last])
    if last - first >= 2:
        a_end = int(rng.integers(1, last - first))  # sentences in A: 1..k-1
        return start, int(doc.offsets[first + a_end]), end
    if end - start < 2:
        return None
    # One sentence: cut at a random word boundary strictly inside it, else anywhere.
    inner = np.flatnonzero(doc.word_starts[start + 1 : end]) + start + 1
    if inner.size:
        return start, int(inner[rng.integers(inner.size)]), end
    return start, int(rng.integers(start + 1, end)), end


def truncation_counts(len_a: int, len_b: int, max_tokens: int) -> tuple[int, int]:
    """Tokens to drop from A and from B, as Google's loop does: one at a time from the
    longer side, from B when they are equal."""
    excess = len_a + len_b - max_tokens
    if excess <= 0:
        return 0, 0
    diff = abs(len_a - len_b)
    if excess <= diff:
        return (excess, 0) if len_a > len_b else (0, excess)
    rest = excess - diff  # removed alternately once equal, B first
    if len_a > len_b:
        return diff + rest // 2, (rest + 1) // 2
    return rest // 2, diff + (rest + 1) // 2


def _truncate(start: int, end: int, drop: int, rng) -> slice:
    front = int(rng.binomial(drop, 0.5)) if drop else 0
    return slice(start + front, end - (drop - front))


def _plan_instance(pair, max_tokens, rng, plan: InstancePlan) -> None:
    """Swap and truncate one pair, adding its segment ranges to ``plan``."""
    a_start, split, b_end = pair
    # As in Google's code the segments are swapped first and the swapped pair truncated
    # (which side loses a token when both are equally long depends on the order).
    swapped = bool(rng.random() < 0.5)
    spans = [(split, b_end), (a_start, split)] if swapped else [(a_start, split), (split, b_end)]
    drops = truncation_counts(spans[0][1] - spans[0][0], spans[1][1] - spans[1][0], max_tokens)
    plan.truncated_tokens += sum(drops)
    # Each dropped token comes from the front or the back with probability 1/2.
    first, second = (_truncate(start, end, drop, rng) for (start, end), drop in zip(spans, drops))
    plan.pairs.append((first.start, first.stop, second.start, second.stop))
    plan.swapped.append(swapped)


_SEGMENT_OF_PIECE = np.array([0, 0, 0, 1, 1], dtype=np.int8)


def build_instances(
    plans: list[tuple[TokenizedDocument, InstancePlan]], cls_id: int, sep_id: int
) -> InstanceBatch:
    """[CLS] A [SEP] B [SEP] for every planned pair of every document, in order, as one
    gather from the documents' concatenated tokens (with [CLS] and [SEP] appended).
    A plan may hold any part of a duplicate's pairs (see :meth:`InstancePlan.part`)."""
    pieces, pairs, swapped = [], [], []
    base = 0
    for doc, plan in plans:
        if not plan.pairs:
            continue
        # Only the tokens the pairs use (a few of a long document's, when the plan is a
        # slice of its instances), so the gather's size never depends on the document's.
        lo = min(min(a0, b0) for a0, _, b0, _ in plan.pairs)
        hi = max(max(a1, b1) for _, a1, _, b1 in plan.pairs)
        pieces.append((doc, lo, hi))
        shift = base - lo
        pairs.extend(
            (a0 + shift, a1 + shift, b0 + shift, b1 + shift) for a0, a1, b0, b1 in plan.pairs
        )
        swapped.extend(plan.swapped)
        base += hi - lo
    if not pairs:
        raise ValueError("build_instances: no instance planned")
    d = base
    ids = np.concatenate(
        [doc.ids[lo:hi] for doc, lo, hi in pieces] + [np.array([cls_id, sep_id], np.int32)]
    )
    word_starts = np.concatenate(
        [doc.word_starts[lo:hi] for doc, lo, hi in pieces] + [np.ones(2, bool)]
    )
    plan = np.asarray(pairs, dtype=np.int64)
    count = plan.shape[0]
    # Five pieces per instance: [CLS], A, [SEP], B, [SEP]: source start and length of each.
    src = np.empty((count, 5), dtype=np.int64)
    src[:, 0] = d
    src[:, 1] = plan[:, 0]
    src[:, 2] = d + 1
    src[:, 3] = plan[:, 2]
    src[:, 4] = d + 1
    length = np.ones((count, 5), dtype=np.int64)
    length[:, 1] = plan[:, 1] - plan[:, 0]
    length[:, 3] = plan[:, 3] - plan[:, 2]
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(length.sum(axis=1), out=offsets[1:])
    length = length.ravel()
    out_start = np.cumsum(length) - length
    idx = np.arange(offsets[-1], dtype=np.int64) + np.repeat(src.ravel() - out_start, length)
    segment_ids = np.repeat(np.tile(_SEGMENT_OF_PIECE, count), length)
    return InstanceBatch(ids[idx], segment_ids, word_starts[idx], idx >= d, offsets, swapped)
