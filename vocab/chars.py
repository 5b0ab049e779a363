"""Character classes shared by the tokenizers: CJK ideographs, punctuation, symbols.

The CJK ranges are those of BERT's ``_is_chinese_char`` (the CJK Unified Ideographs
blocks and their extensions, plus the compatibility ideographs): Hiragana, Katakana and
Hangul are not included, exactly as in BERT.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np

CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)

CJK_RE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in CJK_RANGES) + "]")


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph (one character)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def has_cjk(text: str) -> bool:
    return CJK_RE.search(text) is not None


def cjk_mask(text: str) -> np.ndarray:
    """bool[len(text)]: which characters of ``text`` are CJK ideographs (vectorised)."""
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    mask = np.zeros(cps.shape, dtype=bool)
    for lo, hi in CJK_RANGES:
        mask |= (cps >= lo) & (cps <= hi)
    return mask


def is_punctuation(ch: str) -> bool:
    """BERT's ``_is_punctuation``: every non-alphanumeric printable ASCII character, and
    every Unicode punctuation character (category P*)."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_symbolic(text: str) -> bool:
    """True when ``text`` is non-empty and made only of punctuation and symbols (P*, S*):
    such a piece is a word of its own. Digits and letters of any script are word characters."""
    return bool(text) and all(
        is_punctuation(ch) or unicodedata.category(ch).startswith("S") for ch in text
    )


@lru_cache(maxsize=1)
def _nonspacing_marks_re() -> re.Pattern[str]:
    ranges: list[tuple[int, int]] = []
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)) == "Mn":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    body = "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )
    return re.compile(f"[{body}]+")


def bert_lower_strip_accents(text: str) -> str:
    """BERT's uncased text: lower-case, canonical decomposition (NFD), non-spacing marks
    (category Mn) dropped. ASCII text only needs lower-casing."""
    text = text.lower()
    if text.isascii():
        return text
    return _nonspacing_marks_re().sub("", unicodedata.normalize("NFD", text))
