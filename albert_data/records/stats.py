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
    long_sentences: int = 0  # longer than max_seq_length - 3 tokens: truncated into instances
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

    def add_record(self, num_tokens: int, num_masked: int, swapped: bool, ngram_lengths) -> None:
        self.instances += 1
        self.tokens += num_tokens
        self.masked_tokens += num_masked
        self.swapped += int(swapped)
        self.length_hist[num_tokens] += 1
        for n in ngram_lengths:
            self.ngram_hist[n] += 1

    def merge(self, other: PretrainingStats) -> PretrainingStats:
        """Add ``other``'s counts to these; every field but the shape is summed, so a new
        counter cannot be forgotten here."""
        for f in fields(self):
            if f.name in ("max_seq_length", "max_n"):
                continue
            mine = getattr(self, f.name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, f.name))
            else:
                setattr(self, f.name, mine + getattr(other, f.name))
        return self

    def to_json(self) -> dict:
        lengths = {int(i): int(c) for i, c in enumerate(self.length_hist) if c}
        ngrams = {int(i): int(c) for i, c in enumerate(self.ngram_hist) if c}
        total = max(1, self.instances)
        return {
            "documents_read": self.documents,
            "documents_skipped": dict(sorted(self.skipped.items())),
            "one_sentence_documents": self.one_sentence_documents,
            "sentences": self.sentences,
            "sentences_longer_than_sequence": self.long_sentences,
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
