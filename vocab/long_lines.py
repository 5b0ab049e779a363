"""Lines longer than SentencePiece's ``max_sentence_length``, cut instead of lost.

SentencePiece's trainer skips every input line longer than ``max_sentence_length``
bytes (UTF-8; 4 192 by default) with only a log message. :func:`cut_long_line` cuts such
a line into pieces of at most that many bytes, at the best boundary found in the last
three quarters of each window, in this order of preference: after sentence-final
punctuation (``. ! ? ; 。 ！ ？ ； …``), at whitespace, after a CJK comma or colon, next to
a CJK character (Chinese has no spaces: every ideograph boundary is a possible word
boundary), and only then between any two characters. Whitespace at a cut is dropped;
no other character is lost.
"""

from __future__ import annotations

import re

from vocab.chars import is_cjk

SPM_MAX_SENTENCE_LENGTH = 4192

_SENTENCE_END = re.compile(r"[.!?;。！？；…][\"'”’）)\]」』]*(?=\s|$)|[。！？；…][\"'”’）)\]」』]*")
_WHITESPACE = re.compile(r"\s+")
_CJK_CLAUSE = re.compile(r"[，、：,:]")


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def _fitting_chars(text: str, max_bytes: int) -> int:
    """How many leading characters of ``text`` fit in ``max_bytes`` UTF-8 bytes."""
    return len(text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore"))


def _last_end(pattern: re.Pattern, window: str, lowest: int, limit: int) -> int | None:
    ends = [m.end() for m in pattern.finditer(window) if lowest < m.end() <= limit]
    return ends[-1] if ends else None


def _cut_position(text: str, limit: int) -> int:
    """Where to cut ``text`` so that ``text[:cut]`` holds at most ``limit`` characters."""
    lowest = limit // 4
    window = text[: limit + 1]  # the character after the last fitting one decides too
    if (cut := _last_end(_SENTENCE_END, window, lowest, limit)) is not None:
        return cut
    spaces = [m.start() for m in _WHITESPACE.finditer(window) if lowest < m.start() <= limit]
    if spaces:
        return spaces[-1]
    if (cut := _last_end(_CJK_CLAUSE, window, lowest, limit)) is not None:
        return cut
    for i in range(limit, lowest, -1):
        if is_cjk(window[i - 1]) or (i < len(window) and is_cjk(window[i])):
            return i
    return limit


def cut_long_line(text: str, max_bytes: int = SPM_MAX_SENTENCE_LENGTH) -> list[str]:
    """``text`` as pieces of at most ``max_bytes`` UTF-8 bytes each (``[text]`` when it
    fits). Each cut looks at a window of ``max_bytes + 1`` characters only, so a line of
    any length is cut in time proportional to its length."""
    if max_bytes < 4:
        raise ValueError(f"max_bytes must be at least 4 (one UTF-8 character), got {max_bytes}")
    pieces: list[str] = []
    pos, end = 0, len(text)
    while pos < end:
        window = text[pos : pos + max_bytes + 1]
        limit = _fitting_chars(window, max_bytes)
        cut = len(window) if limit >= len(window) else _cut_position(window, limit)
        if head := window[:cut].rstrip():
            pieces.append(head)
        pos += cut
        while pos < end and text[pos].isspace():
            pos += 1
    return pieces
