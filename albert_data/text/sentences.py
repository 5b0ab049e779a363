"""Sentence splitting for English, Chinese and mixed text.

:func:`split_sentences` takes one cleaned paragraph (see :mod:`albert_data.text.normalize`;
whitespace collapsed, any length) and returns its sentences. It is pure Python with
``re`` only: one compiled regex finds every run of terminal punctuation, and a few
constant-time checks per candidate decide whether it ends a sentence, so the cost is
linear in the text and a 5 MB line is no harder than a short one.

English. A run of ``.``, ``!``, ``?`` or an ellipsis (``...``, ``…``), plus the
closing quotes and brackets that follow it, ends a sentence when a space and then an
uppercase letter, a digit, a CJK character or an opening quote/bracket come next
(directly followed by a CJK character also counts, for mixed text). A single ``.``
does not end a sentence after

* titles and reference abbreviations: Mr. Mrs. Ms. Dr. Prof. Sr. Jr. St. Mt. Rev.
  Gen. Gov. Sen., the months (Jan. ... Dec., not May), e.g. i.e. vs. v. cf. al.
  approx. ca. viz. esp. incl.;
* No. Nos. Fig. Vol. p. pp. Eq. Sec. Ch. Art. and the weekdays (Mon. ... Sun.) when a
  digit follows ("No. 5", "Sat. 14 March"), while "No. Then ..." splits (the word
  *no*);
* single capital letters and dotted capitals: initials (J. R. R. Tolkien) and
  acronyms (U.S., U.K., U.S.A.), which are far more often followed by a capitalised
  name ("the U.S. Senate") than they end a sentence.

Sentence-final abbreviations (etc. a.m. p.m. Inc. Ltd. Co. Corp. Ph.D.) split only
before a capitalised word: "... and so on, etc. The next day" splits, "at 9 a.m. 20
people came" and "Acme Inc. CEO" do not. The price of this choice is a wrong split in
"apples, pears, etc. Bob ate them"; the other choice (never split) would merge every
list-final "etc." with the next sentence, which is the commoner case.

A number of up to three digits, or a dotted section number made of such numbers, that
opens a sentence is a list marker or a heading number ("1. Mix the flour." and "10.1.
Overview" stay one sentence). The word before a period is what follows any CJK text
glued to it, so "他来了。Dr. Li" does not split after "Dr.". Decimals and versions (3.14, v2.0, 1.2.3), URLs and e-mail
addresses never split because they have no space after their dots. Closing quotes and
brackets after the stop stay with the sentence: ``He said "Stop." Then ...`` gives
``He said "Stop."``.

Chinese. The full-width stops 。！？；｡ always end a sentence, and so does an ellipsis
(……, …, or ``......`` after NFKC) after a CJK character. NFKC turns ！？； into
``! ? ;``, so these end a sentence after a CJK character or CJK closing bracket, or
before a CJK character ("你用Python吗?我用", "占比 57%;经营"). No space is needed, and
the closing quotes/brackets that follow (” 」 』 ） 》 ...) stay attached. A half-width
``.`` ends a sentence in Chinese text only when a CJK character follows it
("Python.它"); "Python 3.11" never splits.

Long sentences. A sentence longer than ``max_chars`` is cut at the last clause
punctuation (，,；;：:、) or else the last space in the second half of the ``max_chars``
window, else in the whole window, else hard at ``max_chars``; every piece is at most
``max_chars`` characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# CJK ideographs (with extensions and compatibility forms), kana, bopomofo, hangul.
_CJK = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_CLOSERS = "”’」』）》〉】〕〗"
_CLOSERS = "\"'»)\\]}" + _CJK_CLOSERS
_OPENERS = "\"'“‘«(\\[{「『（《〈【〔〖"
_FULL_STOPS = "。！？；｡"
_HALF_AFTER_CJK = "!?;…"

_STOPS = f".．!?;…{_FULL_STOPS}"
_CJK_RE = re.compile(rf"[{_CJK}{_CJK_CLOSERS}]")
_CJK_FIRST = min("\u2e80", *_CJK_CLOSERS)  # no character of _CJK_RE's class comes before it
# One pass finds every candidate and most of what it is judged on: the run of stops,
# the closers after it and (looking ahead, not consumed) the spaces, opening
# quotes/brackets and the two characters that follow.
# (``[s][s]*`` rather than ``[s]+``: a pattern that begins with one character class lets
# the regex engine skip to the next stop at C speed; twice as fast here.)
_CANDIDATE_RE = re.compile(
    rf"([{_STOPS}][{_STOPS}]*)([{_CLOSERS}]*)(?=(\s*)[{_OPENERS}]*(.?)(.?))", re.DOTALL
)
_INITIALS_RE = re.compile(r"[A-Z](?:\.[A-Z])*")
# A list or section number opening a sentence: "1." "10.1." "2.3.4." (up to three digits each).
_SECTION_NUMBER_RE = re.compile(r"\d{1,3}(?:\.\d{1,3})*")
# The Latin word at the end of a token that follows CJK text without a space ("。Dr").
_AFTER_CJK_RE = re.compile(rf"[{_CJK}{_CJK_CLOSERS}{_FULL_STOPS}，、：“‘「『（《〈【〔〖]")
_CLAUSE_PUNCT = "，,；;：:、"

# Case-sensitive: capitalised in running text ("Mar." the month, not "mar." the verb).
_TITLES = frozenset(
    """Mr Mrs Ms Mx Dr Prof Sr Jr St Mt Ft Rev Gen Col Capt Lt Sgt Gov Sen Rep Hon Messrs
    Mme Mlle Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Ave Blvd Rd Dept Univ
    MR MRS MS DR PROF ST""".split()
)
# Case-sensitive, abbreviations only before a number ("Sat. 14 March"; "the Sun. It" splits).
_DAYS = frozenset("Mon Tue Tues Wed Thu Thur Thurs Fri Sat Sun".split())
# Case-insensitive: Latin and reference abbreviations that never end a sentence here.
_LATIN = frozenset("e.g i.e eg ie cf al vs v approx ca viz esp incl resp ibid".split())
# Abbreviations only before a number ("No. 5", "Fig. 3", "p. 12").
_NUMBERED = frozenset("no nos fig figs vol vols p pp eq eqs sec ch art".split())
# May end a sentence: split only before a capitalised word.
_END_CAPABLE = frozenset("etc a.m p.m inc ltd co corp ph.d bros".split())


@dataclass(frozen=True)
class SplitterConfig:
    """Options of :func:`split_sentences`; ``max_chars`` bounds every sentence's length."""

    max_chars: int = 2000

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {self.max_chars}")

    def split(self, text: str) -> list[str]:
        return split_sentences(text, max_chars=self.max_chars)


def split_sentences(text: str, *, max_chars: int = 2000) -> list[str]:
    """Split one cleaned paragraph into stripped, non-empty sentences of <= max_chars."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    sentences: list[str] = []
    start = 0
    for match in _CANDIDATE_RE.finditer(text):
        if _ends_sentence(text, match.start(), start, *match.groups()):
            end = match.end()
            _append(sentences, text, start, end, max_chars)
            start = end
    _append(sentences, text, start, len(text), max_chars)
    return sentences


def _append(out: list[str], text: str, start: int, end: int, max_chars: int) -> None:
    """Append text[start:end] stripped, cut into pieces of at most max_chars."""
    piece = text[start:end].strip()
    if len(piece) <= max_chars:
        if piece:
            out.append(piece)
        return
    out.extend(_cut_long(piece, max_chars))


def _cut_long(text: str, max_chars: int) -> list[str]:
    """Cut an over-long sentence at clause punctuation or spaces (hard cut if neither)."""
    pieces: list[str] = []
    start, n = 0, len(text)
    while n - start > max_chars:
        cut = _cut_point(text, start, start + max_chars)
        piece = text[start:cut].strip()
        if piece:
            pieces.append(piece)
        start = cut
        while start < n and text[start].isspace():
            start += 1
    piece = text[start:].strip()
    if piece:
        pieces.append(piece)
    return pieces


def _cut_point(text: str, start: int, limit: int) -> int:
    """Where to cut text[start:limit]: after the last clause punctuation, else at the last
    space, looking in the window's second half first; ``limit`` if there is neither."""
    for lowest in (start + (limit - start) // 2, start + 1):
        punct = max(text.rfind(p, lowest, limit) for p in _CLAUSE_PUNCT)
        if punct >= lowest:
            return punct + 1
        space = text.rfind(" ", lowest, limit + 1)
        if space >= lowest:
            return space
    return limit


def _ends_sentence(text, begin, sentence_start, stop, close, spaces, first, second) -> bool:
    """Whether the punctuation run ``stop`` at ``begin`` (with its ``close``-ers) ends a
    sentence that began at ``sentence_start``; ``spaces``, ``first`` and ``second`` are
    what follows (see ``_CANDIDATE_RE``)."""
    if stop != ".":
        after_cjk = (
            begin > 0
            and text[begin - 1] >= _CJK_FIRST
            and _CJK_RE.match(text, begin - 1) is not None
        )
        decided = _other_stop(stop, after_cjk)
        if decided is not None:
            return decided
    if not first:
        return False  # end of text: nothing to split from
    next_cjk = first >= _CJK_FIRST and _CJK_RE.match(first) is not None
    if not (next_cjk or (spaces and (first.isupper() or first.isdigit()))):
        return False
    if stop != ".":
        if "!" in stop or "?" in stop:
            return True
        if stop.strip(";") == "":
            return next_cjk  # a semicolon ends a sentence only in Chinese ("57%;经营")
        if len(stop.strip(";")) > 1:
            return True  # ellipsis
    if close:
        return True  # a stop inside quotes/brackets
    token = _token_before(text, begin)
    if (
        token[:1].isdigit()
        and _SECTION_NUMBER_RE.fullmatch(token)
        and not text[sentence_start : begin - len(token)].strip()
    ):
        return False  # a list or section number opening the sentence: "1. Mix", "10.1. Overview"
    capitalised = next_cjk or (first.isupper() and (second.islower() or first == "I"))
    return _period_ends_sentence(token, first, capitalised)


def _other_stop(stop: str, after_cjk: bool) -> bool | None:
    """The stops that decide alone: a full-width stop, or after a CJK character one of
    !?;… or an ellipsis. None: look at what follows."""
    if stop.strip(".．!?;…"):
        return True  # holds a full-width stop (。！？；｡)
    if after_cjk and (stop.strip(".．") or stop.startswith("...")):
        return True  # holds one of !?;… after a CJK character, or an ellipsis
    return None


def _token_before(text: str, end: int) -> str:
    """The word before position ``end`` (without leading quotes/brackets)."""
    if end == 0 or text[end - 1].isspace():
        return ""
    token = text[end - 40 if end > 40 else 0 : end].rsplit(None, 1)[-1]
    if not token.isascii():  # "他来了。Dr": the word is what follows the CJK text
        cjk = [m.end() for m in _AFTER_CJK_RE.finditer(token)]
        if cjk:
            token = token[cjk[-1] :]
    return token.lstrip(_OPENERS)


def _period_ends_sentence(token: str, first: str, capitalised: bool) -> bool:
    """Whether a single period after ``token`` ends the sentence (abbreviations, initials)."""
    if not token:
        return True
    lower = token.lower()
    if token in _TITLES or lower in _LATIN:
        return False
    if (
        "A" <= token[0] <= "Z"
        and (len(token) == 1 or token[1] == ".")
        and _INITIALS_RE.fullmatch(token)
    ):
        return False
    if lower in _NUMBERED or token in _DAYS:
        return not first.isdigit()
    if lower in _END_CAPABLE:
        return capitalised
    return True
