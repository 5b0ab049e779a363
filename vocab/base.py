"""The one interface every vocabulary implements: text → ids, pieces and word starts.

Word starts (``Encoding.word_starts``) are the basis of whole-word and n-gram masking.
The rule, the same in spirit for both vocabulary styles:

* The first token of every encoded text begins a word.
* SentencePiece: a piece beginning with ``▁`` begins a word. A piece that is a word of
  its own — a control, unused or user-defined symbol, a piece made only of
  punctuation and symbols (Unicode P*/S*: ``,`` ``(`` ``£`` ``€`` ``–``), or a piece
  containing a CJK ideograph — begins a word, and so does the piece after it. A bare
  ``▁`` piece joins the piece after it (``▁`` + ``(``, ``▁`` + ``19`` + ``84``,
  ``▁`` + ``我们``), as if they were one ``▁``-piece.
* WordPiece: a piece beginning with ``##`` continues a word, every other piece begins one
  (BERT's basic tokenisation already makes punctuation and each CJK character a word).
* Digits and letters of any script are word characters: ``▁19`` + ``84``, ``▁caf`` + ``é``
  and ``▁covid`` + ``19`` are one word each (Google's rule, which starts a word at every
  piece that is not pure ASCII letters, would split them). A piece mixing digits or
  letters with punctuation (``,000``, ``'s``) continues the word before it. ``<unk>``
  stands for unknown characters, usually inside a word (``caf`` + ``<unk>``), so it is
  treated like letters.
* With the ``jieba`` word segmenter, a token whose text contains a CJK ideograph begins a
  word iff it is the first token overlapping the jieba word that holds its first
  ideograph, by character offsets (:mod:`vocab.jieba_words`); all other tokens (Latin
  words, digits, punctuation inside Chinese text) keep the rule above.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

Normalizer = Callable[[str], str]

WORD_SEGMENTERS = ("none", "jieba")

# Names under which each special symbol is looked up, in order of preference.
SPECIAL_SYMBOLS: dict[str, tuple[str, ...]] = {
    "pad": ("<pad>", "[PAD]"),
    "unk": ("<unk>", "[UNK]"),
    "cls": ("[CLS]",),
    "sep": ("[SEP]",),
    "mask": ("[MASK]",),
}

# Bracketed names ([CLS], [unused7], <pad>, <S>, <0x41>) are symbols, never text to learn.
_SPECIAL_NAME_RE = re.compile(r"^(\[[^\[\]\s]+\]|<[^<>\s]+>)$")


class VocabError(ValueError):
    """A vocabulary, model or sidecar that cannot be used; the message names the file and
    what is wrong. ``albert_data`` turns it into a ``UserError``."""


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    unk: int
    cls: int
    sep: int
    mask: int

    def as_array(self) -> np.ndarray:
        return np.array([self.pad, self.unk, self.cls, self.sep, self.mask], dtype=np.int32)


@dataclass(frozen=True)
class Encoding:
    ids: np.ndarray  # int32 [n]
    word_starts: np.ndarray  # bool [n], True where the token begins a word

    def __len__(self) -> int:
        return int(self.ids.size)


@dataclass(frozen=True)
class FlatEncoding:
    """Several texts encoded at once, concatenated: text i is ``ids[offsets[i]:offsets[i+1]]``."""

    ids: np.ndarray  # int32 [total]
    word_starts: np.ndarray  # bool [total]
    lengths: np.ndarray  # int64 [num_texts]

    def split(self) -> list[Encoding]:
        return split_encodings(self.ids, self.word_starts, self.lengths)


def is_special_name(piece: str) -> bool:
    """``[CLS]``, ``[unused3]``, ``<pad>``, ``<S>``, ``<0x41>``: symbol names, not text."""
    return _SPECIAL_NAME_RE.match(piece) is not None


def resolve_special(index: Mapping[str, int], source: str) -> SpecialIds:
    """Look up the special symbols by name in either vocabulary style; a missing one is a
    :class:`VocabError` naming it."""
    found: dict[str, int] = {}
    for field, names in SPECIAL_SYMBOLS.items():
        for name in names:
            if name in index:
                found[field] = index[name]
                break
        else:
            wanted = " or ".join(names)
            raise VocabError(
                f"{source}: the vocabulary has no {wanted} symbol; ALBERT pretraining needs "
                f"{', '.join(n[0] for n in SPECIAL_SYMBOLS.values())}; train it with "
                f"`albert-data spm-train` or add the symbol to the vocabulary"
            )
    return SpecialIds(**found)


def check_word_segmenter(word_segmenter: str) -> str:
    if word_segmenter not in WORD_SEGMENTERS:
        raise VocabError(
            f"unknown word segmenter {word_segmenter!r}; choose one of {', '.join(WORD_SEGMENTERS)}"
        )
    return word_segmenter


def normalization_dict(normalizer: Normalizer | None) -> dict:
    """A plain description of a normaliser: its ``to_dict()`` if it has one."""
    if normalizer is None:
        return {}
    to_dict = getattr(normalizer, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    return {"callable": f"{type(normalizer).__module__}.{type(normalizer).__qualname__}"}


@dataclass(frozen=True)
class WordRule:
    """Per-id tables from which word starts follow by a few lookups (no per-token Python).

    ``starts[i]``: token ``i`` begins a word wherever it occurs; ``isolated[i]``: token
    ``i`` is a word by itself, so the token after it begins a word too; ``joins_next[i]``:
    token ``i`` (a bare ``▁``) carries the start of the word formed with the next token,
    which therefore never begins one.
    """

    starts: np.ndarray
    isolated: np.ndarray
    joins_next: np.ndarray

    def apply(self, ids: np.ndarray) -> np.ndarray:
        return self.apply_flat(ids, np.array([ids.size], dtype=np.int64))

    def apply_flat(self, flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Word starts of several texts' ids concatenated (``lengths`` tokens each), with a
        fixed number of numpy calls; the first token of every text begins a word."""
        starts = self.starts[flat]
        if flat.size > 1:
            starts[1:] |= self.isolated[flat[:-1]]
        return self.join_flat(flat, lengths, starts)

    def join_flat(self, flat: np.ndarray, lengths: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Clear the start of every token after a joining token, then mark each text's first
        token (in place)."""
        if flat.size > 1:
            starts[1:] &= ~self.joins_next[flat[:-1]]
        starts[first_positions(lengths)] = True
        return starts


def first_positions(lengths: np.ndarray) -> np.ndarray:
    """Index of each non-empty text's first token in the concatenation."""
    return (np.cumsum(lengths) - lengths)[lengths > 0]


def flatten_ids(lists: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(int32 ids of all texts concatenated, int64 token count of each text)."""
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(chain.from_iterable(lists), dtype=np.int32, count=int(lengths.sum()))
    return flat, lengths


def split_encodings(flat: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> list[Encoding]:
    """Per-text :class:`Encoding` views of the concatenated ids and word starts."""
    bounds = np.cumsum(lengths)[:-1]
    return [
        Encoding(ids, s)
        for ids, s in zip(np.split(flat, bounds), np.split(starts, bounds), strict=True)
    ]


def encodings_from_lists(lists: Sequence[Sequence[int]], rule: WordRule) -> list[Encoding]:
    """Encodings for a batch of id lists with the tokenizer's own word-start rule."""
    flat, lengths = flatten_ids(lists)
    return split_encodings(flat, rule.apply_flat(flat, lengths), lengths)


def as_id_list(ids: int | Iterable[int] | np.ndarray) -> list[int]:
    if isinstance(ids, int | np.integer):
        return [int(ids)]
    return [int(i) for i in np.asarray(ids).reshape(-1)]


class Tokenizer(ABC):
    """Text → :class:`Encoding`; the normaliser is applied first, always.

    Implementations are picklable (Beam ships them to workers): heavy native objects are
    rebuilt lazily from bytes held in the instance, never from a local path (unless
    asked for with :meth:`reading_model_file`, for workers on the same machine).
    """

    vocab_size: int
    special: SpecialIds

    def reading_model_file(self) -> Tokenizer:
        """This tokenizer, pickled more cheaply for processes on this machine where the
        implementation can (see :class:`SentencePieceTokenizer`); ``self`` otherwise."""
        return self

    def encode(self, text: str) -> Encoding:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> list[Encoding]:
        """Encode many texts at once, one :class:`Encoding` each."""
        return self.encode_flat(texts).split()

    @abstractmethod
    def encode_flat(self, texts: Sequence[str]) -> FlatEncoding:
        """Encode many texts at once into one concatenation (the fast path: no per-text
        arrays, which is what a document's sentences need)."""

    @abstractmethod
    def id_to_piece(self, ids: int | Iterable[int] | np.ndarray) -> list[str]:
        """The pieces of ``ids`` (one id or many), as a list."""

    @abstractmethod
    def piece_to_id(self, piece: str) -> int:
        """The id of ``piece``; the unknown symbol's id for a piece not in the vocabulary."""

    @abstractmethod
    def regular_ids(self) -> np.ndarray:
        """int32 ids allowed as the 10% random replacement: never control, unknown, unused or
        special symbols ([CLS], [SEP], [MASK], <pad>, <unk>, [unusedN], ...)."""

    @abstractmethod
    def fingerprint(self) -> str:
        """sha256 of the model/vocabulary bytes, the normalisation and the segmenter settings."""

    @abstractmethod
    def describe(self) -> dict:
        """kind, path, vocab_size, normalisation, word segmenter (for stats.json)."""
