"""Uniform sampling of at most ``k`` items from a stream of unknown length.

Algorithm R (every item seen so far is in the sample with probability k / seen), with the
random draws made per chunk of items by a seeded ``numpy.random.Generator``. Items are
grouped into chunks by count only, so the sample depends on the seed and the order of
the items, never on file boundaries or timing. Memory: the ``k`` kept items plus one chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

CHUNK = 8192


def sample_key(seed: int, line: str) -> int:
    """A stable pseudo-random 64-bit key for ``line``: keeping the ``k`` smallest keys is a
    uniform sample that is the same whatever the order, runner or number of workers (the
    distributed sampler; equal lines share a key)."""
    digest = hashlib.blake2b(
        line.encode("utf-8"), digest_size=8, key=int(seed).to_bytes(8, "little", signed=True)
    )
    return int.from_bytes(digest.digest(), "little")


class Reservoir:
    def __init__(self, k: int, rng: np.random.Generator):
        if k < 1:
            raise ValueError(f"reservoir size must be at least 1, got {k}")
        self.k = k
        self._rng = rng
        self._items: list[str] = []
        self._pending: list[str] = []
        self._seen = 0

    @property
    def seen(self) -> int:
        """Items offered so far."""
        return self._seen + len(self._pending)

    def add(self, item: str) -> None:
        self._pending.append(item)
        if len(self._pending) >= CHUNK:
            self._flush()

    def extend(self, items: Iterable[str]) -> None:
        for item in items:
            self.add(item)

    def _flush(self) -> None:
        items, self._pending = self._pending, []
        take = min(self.k - len(self._items), len(items))
        if take > 0:
            self._items.extend(items[:take])
            self._seen += take
        rest = items[max(take, 0) :]
        if not rest:
            return
        position = self._seen + np.arange(len(rest), dtype=np.int64)  # 0-based stream index
        slot = self._rng.integers(0, position + 1)  # uniform in [0, position]
        for h in np.flatnonzero(slot < self.k):
            self._items[slot[h]] = rest[h]
        self._seen += len(rest)

    def sample(self, *, shuffle: bool = True) -> list[str]:
        """The sample (in a seeded random order when ``shuffle``)."""
        self._flush()
        if not shuffle:
            return list(self._items)
        order = self._rng.permutation(len(self._items))
        return [self._items[i] for i in order]
