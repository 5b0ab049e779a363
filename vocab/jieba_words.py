"""Chinese word boundaries from jieba, aligned to tokens by character offsets.

Two uses:

* word starts for whole-word masking (:func:`align_word_starts`): a token whose text holds
  a CJK ideograph begins a word iff no earlier token overlaps the jieba word that holds
  the token's first ideograph — i.e. it is the first token of that word. Tokens without
  ideographs (Latin words, digits, punctuation) keep the tokenizer's own rule, so
  ``BERT模型`` gives ``bert`` its own word and ``模型`` another.
* pre-segmentation for SentencePiece (:meth:`JiebaSegmenter.presegment`): a space is
  inserted at every jieba word boundary that touches an ideograph, so ``▁`` marks Chinese
  words exactly as it marks English ones. Latin text is left as it is.

Segmentation uses jieba's default dictionary with HMM new-word discovery on
(``jieba.Tokenizer().tokenize(text)``), the same at training and at encoding time.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np

from vocab.chars import CJK_RE, cjk_mask, has_cjk, is_cjk


def _import_jieba():
    """jieba 0.42 imports ``pkg_resources`` where setuptools (< 82) still has it, which
    warns on every start (and about other packages' namespaces); those warnings are
    setuptools' to jieba's authors, not ours to the user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pkg_resources")
        import jieba
    return jieba


@lru_cache(maxsize=1)
def _shared_jieba():
    """One initialised jieba tokenizer per process (loading the dictionary is slow);
    never modified after creation."""
    jieba = _import_jieba()
    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    return tk


def jieba_version() -> str:
    jieba = _import_jieba()
    return str(getattr(jieba, "__version__", "unknown"))


class JiebaSegmenter:
    """A lazily initialised jieba tokenizer; pickles to nothing and reloads on first use."""

    def __init__(self, hmm: bool = True):
        self.hmm = hmm
        self._tk: Any = None

    def __getstate__(self) -> dict:
        return {"hmm": self.hmm}

    def __setstate__(self, state: dict) -> None:
        self.hmm = state["hmm"]
        self._tk = None

    def _tokenizer(self):
        if self._tk is None:
            self._tk = _shared_jieba()
        return self._tk

    def words(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) for every jieba word of ``text``, in order, covering it."""
        if not text:
            return []
        return list(self._tokenizer().tokenize(text, HMM=self.hmm))

    def cjk_spans(self, text: str) -> np.ndarray:
        """int64 [k, 2]: the (start, end) character spans of the jieba words holding an ideograph."""
        if not has_cjk(text):
            return np.zeros((0, 2), dtype=np.int64)
        spans = [(s, e) for w, s, e in self.words(text) if CJK_RE.search(w)]
        return np.asarray(spans, dtype=np.int64).reshape(-1, 2)

    def presegment(self, text: str) -> tuple[str, np.ndarray]:
        """``text`` with a space at each jieba boundary touching an ideograph (unless there is
        whitespace already), and the CJK word spans in the new text's coordinates."""
        if not has_cjk(text):
            return text, np.zeros((0, 2), dtype=np.int64)
        out: list[str] = []
        spans: list[tuple[int, int]] = []
        pos = 0
        prev = ""
        for word, _, _ in self.words(text):
            if prev and _needs_space(prev[-1], word[0]):
                out.append(" ")
                pos += 1
            out.append(word)
            if CJK_RE.search(word):
                spans.append((pos, pos + len(word)))
            pos += len(word)
            prev = word
        return "".join(out), np.asarray(spans, dtype=np.int64).reshape(-1, 2)


def _needs_space(left: str, right: str) -> bool:
    if left.isspace() or right.isspace():
        return False
    return is_cjk(left) or is_cjk(right)


def align_word_starts(
    text: str,
    begins: np.ndarray,
    ends: np.ndarray,
    base_starts: np.ndarray,
    word_spans: np.ndarray,
) -> np.ndarray:
    """Word starts with jieba words for the tokens holding ideographs.

    ``begins``/``ends`` are the tokens' character offsets into ``text``; ``base_starts``
    the tokenizer's own word starts (kept for every token without an ideograph);
    ``word_spans`` the jieba words holding an ideograph (:meth:`JiebaSegmenter.cjk_spans`).
    A CJK token begins a word iff every earlier token ends at or before the start of the
    jieba word that holds the token's first ideograph.
    """
    starts = np.array(base_starts, dtype=bool, copy=True)
    if starts.size == 0 or len(word_spans) == 0:
        return starts
    begins = np.asarray(begins, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    n_chars = len(text)
    positions = np.arange(n_chars + 1, dtype=np.int64)
    is_cjk_char = np.append(cjk_mask(text), True)  # sentinel at n_chars
    # next_cjk[p]: first ideograph at or after p (n_chars if none).
    next_cjk = np.minimum.accumulate(np.where(is_cjk_char, positions, n_chars)[::-1])[::-1]
    first = next_cjk[np.clip(begins, 0, n_chars)]
    word_begin = word_spans[:, 0]
    k = np.searchsorted(word_begin, first, side="right") - 1
    k_safe = np.maximum(k, 0)
    in_word = (first < ends) & (k >= 0) & (first < word_spans[k_safe, 1])
    prev_end = np.concatenate(([-1], np.maximum.accumulate(ends)[:-1]))
    starts[in_word] = prev_end[in_word] <= word_begin[k_safe[in_word]]
    return starts


def align_batch(
    texts: Sequence[str],
    offsets: Sequence[Sequence[tuple[int, int]]],
    lengths: np.ndarray,
    base_starts: np.ndarray,
    word_spans: Sequence[np.ndarray],
) -> np.ndarray:
    """:func:`align_word_starts` for a batch in one pass: texts, token offsets and jieba
    spans are shifted into the coordinates of the concatenated texts. No word or token
    crosses a text boundary, so each text's first token still begins a word."""
    shifts = np.cumsum([0, *map(len, texts)])[:-1]
    pairs = np.fromiter(
        chain.from_iterable(chain.from_iterable(offsets)),
        dtype=np.int64,
        count=2 * int(lengths.sum()),
    ).reshape(-1, 2)
    pairs += np.repeat(shifts, lengths)[:, None]
    spans = [s + shift for s, shift in zip(word_spans, shifts, strict=True) if len(s)]
    if not spans:
        return base_starts
    return align_word_starts(
        "".join(texts), pairs[:, 0], pairs[:, 1], base_starts, np.concatenate(spans)
    )
