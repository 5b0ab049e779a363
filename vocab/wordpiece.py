"""WordPiece from a BERT-style ``vocab.txt`` (e.g. Google's 21 128-entry Chinese vocabulary).

BERT's semantics, exactly:

1. basic tokenisation — text cleaned (NUL, U+FFFD and control/format characters removed,
   whitespace made a space), every CJK ideograph made its own token, whitespace split,
   and when uncased lower-cased and accent-stripped (NFD, non-spacing marks dropped),
   then split at every punctuation character;
2. greedy longest-match-first over each word with ``##`` continuations; a word that
   cannot be covered, or longer than 100 characters, becomes ``[UNK]``.

Step 2 and the cleaning/CJK/punctuation parts of step 1 run in the ``tokenizers``
library (Rust). Lower-casing and accent stripping are done here with Python's
``str.lower`` and ``unicodedata`` as BERT does, because ``tokenizers`` lower-cases per
character and so misses the Greek final sigma (``ΟΔΟΣ`` → ``οδος``). The only remaining
difference: BERT lower-cases after removing control characters, here before, which only
matters for a capital sigma directly followed by a format character.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from vocab.base import (
    FlatEncoding,
    Normalizer,
    Tokenizer,
    VocabError,
    WordRule,
    as_id_list,
    check_word_segmenter,
    flatten_ids,
    is_special_name,
    normalization_dict,
    resolve_special,
)
from vocab.chars import bert_lower_strip_accents, has_cjk
from vocab.jieba_words import JiebaSegmenter, align_batch

MAX_INPUT_CHARS_PER_WORD = 100


def parse_vocab_text(text: str) -> list[str]:
    """One token per line, stripped (BERT's ``load_vocab``); the line number is the id."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.strip() for line in lines]


def read_vocab_file(path: str | Path) -> list[str]:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return parse_vocab_text(f.read())
    except OSError as err:
        raise VocabError(f"{path}: cannot read the vocabulary ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise VocabError(
            f"{path}: not a UTF-8 vocab.txt ({err.reason} at byte {err.start})"
        ) from None


def wordpiece_word_rule(pieces: Sequence[str]) -> WordRule:
    cont = np.array([p.startswith("##") and len(p) > 2 for p in pieces], dtype=bool)
    none = np.zeros(len(pieces), dtype=bool)
    return WordRule(starts=~cont, isolated=none, joins_next=none)


def cjk_share(pieces: Sequence[str]) -> float:
    """Fraction of the entries that are a single CJK ideograph (or ``##`` + one)."""
    if not pieces:
        return 0.0
    single = sum(1 for p in pieces if len(p.removeprefix("##")) == 1 and has_cjk(p))
    return single / len(pieces)


class WordPieceTokenizer(Tokenizer):
    """BERT's tokenisation over ``vocab``; ``normalizer`` (optional) runs before it.

    ``num_threads=1`` encodes text by text on the calling thread (what a Beam worker
    wants); more hands the batch to the ``tokenizers`` thread pool, which uses every core
    unless ``RAYON_NUM_THREADS`` says otherwise.
    """

    kind = "wordpiece"

    def __init__(
        self,
        vocab: Sequence[str],
        *,
        do_lower_case: bool = True,
        normalizer: Normalizer | None = None,
        word_segmenter: str = "none",
        num_threads: int = 1,
        path: str | None = None,
    ):
        self._pieces = list(vocab)
        if not self._pieces:
            raise VocabError(f"{path or 'vocabulary'}: the vocabulary is empty")
        self.path = path
        self.do_lower_case = bool(do_lower_case)
        self.normalizer = normalizer
        self.word_segmenter = check_word_segmenter(word_segmenter)
        self.num_threads = int(num_threads)
        self.vocab_size = len(self._pieces)
        self._index = {p: i for i, p in enumerate(self._pieces)}  # last duplicate wins, as BERT
        self.special = resolve_special(self._index, path or "WordPiece vocabulary")
        self._rule = wordpiece_word_rule(self._pieces)
        self._segmenter = JiebaSegmenter() if word_segmenter == "jieba" else None
        self._tk = None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> WordPieceTokenizer:
        return cls(read_vocab_file(path), path=str(path), **kwargs)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_tk"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _tokenizer(self):
        if self._tk is None:
            from tokenizers import Tokenizer as HfTokenizer
            from tokenizers import models, normalizers, pre_tokenizers

            tk = HfTokenizer(
                models.WordPiece(
                    vocab={p: i for p, i in self._index.items() if p},
                    unk_token=self._pieces[self.special.unk],
                    max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD,
                    continuing_subword_prefix="##",
                )
            )
            tk.normalizer = normalizers.BertNormalizer(
                clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
            )
            tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            self._tk = tk
        return self._tk

    # -- encoding -----------------------------------------------------------------------

    def prepare(self, text: str) -> str:
        """The string handed to the Rust tokenizer (offsets refer to it)."""
        if self.normalizer is not None:
            text = self.normalizer(text)
        if self.do_lower_case:
            text = bert_lower_strip_accents(text)
        return text

    def encode_flat(self, texts: Sequence[str]) -> FlatEncoding:
        strings = [self.prepare(t) for t in texts]
        tk = self._tokenizer()
        if self.num_threads == 1:
            encoded = [tk.encode(s, add_special_tokens=False) for s in strings]
        else:
            encoded = tk.encode_batch(strings, add_special_tokens=False)
        flat, lengths = flatten_ids([e.ids for e in encoded])
        starts = self._rule.apply_flat(flat, lengths)
        if self._segmenter is not None:
            spans = [self._segmenter.cjk_spans(t) for t in strings]
            starts = align_batch(strings, [e.offsets for e in encoded], lengths, starts, spans)
        return FlatEncoding(flat, starts, lengths)

    # -- vocabulary ---------------------------------------------------------------------

    def id_to_piece(self, ids: int | Iterable[int] | np.ndarray) -> list[str]:
        return [self._pieces[i] for i in as_id_list(ids)]

    def piece_to_id(self, piece: str) -> int:
        return self._index.get(piece, self.special.unk)

    def regular_ids(self) -> np.ndarray:
        regular = np.array([bool(p) and not is_special_name(p) for p in self._pieces], dtype=bool)
        regular[self.special.as_array()] = False
        return np.flatnonzero(regular).astype(np.int32)

    def settings(self) -> dict:
        return {
            "do_lower_case": self.do_lower_case,
            "normalization": normalization_dict(self.normalizer),
            "word_segmenter": self.word_segmenter,
        }

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(b"wordpiece\0")
        digest.update("\n".join(self._pieces).encode("utf-8"))
        digest.update(json.dumps(self.settings(), sort_keys=True).encode())
        return digest.hexdigest()

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "path": self.path,
            "vocab_size": self.vocab_size,
            **self.settings(),
            "special": self.special.__dict__.copy(),
            "fingerprint": self.fingerprint(),
        }
