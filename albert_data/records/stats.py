"""What ``make-pretraining`` counts: summed per worker bundle, merged once, written to
``stats.json``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class PretrainingStats:
    """Mergeable counters and histograms of one run (or one bundle of it)."""

    max_seq_length: int
    max_n: int
    documents: int = 0
    sentences: int = 0
    input_tokens: int = 0
    replaced_bytes: int = 0
    malformed_lines: int = 0
    skipped: Counter = field(default_factory=Counter)
    one_sentence_documents: int = 0  # kept: their sentence is split at a word boundary
    long_sentences: int = 0  # longer than max_seq_length - 3 tokens: cut into pieces that fit
    long_sentence_pieces: int = 0  # the pieces those sentences were cut into
    instances: int = 0
    tokens: int = 0
    masked_tokens: int = 0
    swapped: int = 0
    truncated_tokens: int = 0
    length_hist: np.ndarray = None  # type: ignore[assignment]
    ngram_hist: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.length_hist is None:
            self.length_hist = np.zeros(self.max_seq_length + 1, dtype=np.int64)
        if self.ngram_hist is None:
            self.ngram_hist = np.zeros(self.max_n + 1, dtype=np.int64)

    # --- the calls made while records are produced ---------------------------------
    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def truncated(self, n: int) -> None:
        self.truncated_tokens += n

    def long_sentences_cut(self, sentences: int, pieces: int) -> None:
        self.long_sentences += sentences
        self.long_sentence_pieces += pieces

    def add_record(self, num_tokens: int, num_masked: int, swapped: bool, ngram_lengths) -> None:
        self.instances += 1
        self.tokens += num_tokens
        self.masked_tokens += num_masked
        self.swapped += int(swapped)
        self.length_hist[num_tokens] += 1
        for n in ngram_lengths:
            self.ngram_hist[n] += 1

    def merge(self, other: PretrainingStats) -> PretrainingStats:
        """Add ``other``'s counts to this one's (every field: counters, histograms and
        ints are summed; the two shape fields must agree)."""
        for f in fields(self):
            name, mine, theirs = f.name, getattr(self, f.name), getattr(other, f.name)
            if name in _SHAPE_FIELDS:
                if mine != theirs:
                    raise ValueError(f"cannot merge statistics of {name} {mine} and {theirs}")
            elif isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, name, mine + theirs)
        return self

    def to_json(self) -> dict:
        """The ``counts`` of ``stats.json``; :meth:`from_json` reads it back exactly."""
        lengths = {int(i): int(c) for i, c in enumerate(self.length_hist) if c}
        ngrams = {int(i): int(c) for i, c in enumerate(self.ngram_hist) if c}
        total = max(1, self.instances)
        return {
            "max_seq_length": self.max_seq_length,
            "max_n": self.max_n,
            "documents_read": self.documents,
            "documents_skipped": dict(sorted(self.skipped.items())),
            "one_sentence_documents": self.one_sentence_documents,
            "sentences": self.sentences,
            "sentences_longer_than_sequence": self.long_sentences,
            "long_sentence_pieces": self.long_sentence_pieces,
            "input_tokens": self.input_tokens,
            "undecodable_bytes_replaced": self.replaced_bytes,
            "malformed_lines": self.malformed_lines,
            "instances": self.instances,
            "tokens": self.tokens,
            "padding_tokens": self.instances * self.max_seq_length - self.tokens,
            "masked_tokens": self.masked_tokens,
            "masked_fraction": self.masked_tokens / max(1, self.tokens),
            "truncated_tokens": self.truncated_tokens,
            "sop": {
                "swapped": self.swapped,
                "in_order": self.instances - self.swapped,
                "swapped_fraction": self.swapped / total,
            },
            "mean_sequence_length": self.tokens / total,
            "sequence_length_histogram": lengths,
            "ngram_length_histogram": ngrams,
        }

    @classmethod
    def from_json(cls, d: dict) -> PretrainingStats:
        """The statistics :meth:`to_json` wrote (histogram keys may be strings, as after
        a trip through JSON text)."""
        stats = cls(int(d["max_seq_length"]), int(d["max_n"]))
        for name, key in _JSON_KEYS.items():
            setattr(stats, name, int(d[key]))
        stats.swapped = int(d["sop"]["swapped"])
        stats.skipped = Counter({str(k): int(v) for k, v in d["documents_skipped"].items()})
        for hist, key in (
            (stats.length_hist, "sequence_length_histogram"),
            (stats.ngram_hist, "ngram_length_histogram"),
        ):
            for i, c in d[key].items():
                hist[int(i)] = int(c)
        return stats


_SHAPE_FIELDS = ("max_seq_length", "max_n")
# Plain integer fields and their names in ``stats.json`` (the rest: skipped, swapped and
# the histograms, which :meth:`PretrainingStats.from_json` reads on their own).
_JSON_KEYS = {
    "documents": "documents_read",
    "sentences": "sentences",
    "input_tokens": "input_tokens",
    "replaced_bytes": "undecodable_bytes_replaced",
    "malformed_lines": "malformed_lines",
    "one_sentence_documents": "one_sentence_documents",
    "long_sentences": "sentences_longer_than_sequence",
    "long_sentence_pieces": "long_sentence_pieces",
    "instances": "instances",
    "tokens": "tokens",
    "masked_tokens": "masked_tokens",
    "truncated_tokens": "truncated_tokens",
}
