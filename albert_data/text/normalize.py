"""Text normalisation shared by every command.

``split-sentences`` cleans raw text with it, ``spm-train`` normalises the SentencePiece
training sample with it and every tokenizer applies it before encoding, so the same
text always becomes the same ids. The options are recorded in the vocabulary's JSON
sidecar (:meth:`Normalization.to_dict`) and restored from it (:meth:`from_dict`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, fields

# Format characters (Unicode category Cf: zero-width space/joiners, BOM, bidi marks, soft
# hyphen) and control characters (Cc) other than whitespace are removed.
_WHITESPACE_CONTROLS = frozenset("\t\n\r\x0b\x0c")


# Unicode places control (Cc) and format (Cf) characters only in planes 0, 1 and 14;
# scanning just those (~200k code points instead of 1.1M) keeps import fast in every worker.
_SCAN = (range(0x0000, 0x20000), range(0xE0000, 0xE1000))


def _build_removal_table() -> dict[int, None]:
    if unicodedata.unidata_version == _KNOWN_UNICODE:
        return {cp: None for lo, hi in _KNOWN_RUNS for cp in range(lo, hi + 1)}
    table: dict[int, None] = {}
    for cp in (cp for block in _SCAN for cp in block):
        ch = chr(cp)
        if ch in _WHITESPACE_CONTROLS:
            continue
        if unicodedata.category(ch) in ("Cc", "Cf"):
            table[cp] = None
    return table


# The scan's result for Python 3.11's Unicode, as runs of code points (the scan would
# run at every start of the CLI and of each Beam worker); another Unicode version
# scans. tests/test_normalize.py checks the table against all of Unicode.
_KNOWN_UNICODE = "14.0.0"
_KNOWN_RUNS = (
    (0x0000, 0x0008), (0x000E, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD),
    (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F),
    (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip
_REMOVE = _build_removal_table()
REMOVED_CHARACTERS = frozenset(_REMOVE)  # code points clean_text deletes
# What str.split() splits on (and clean_text collapses to one space) among the rest.
WHITESPACE = "".join(
    ch for ch in map(chr, range(0x3001)) if ch.isspace() and ord(ch) not in _REMOVE
)


def codepoint_runs(codepoints) -> list[tuple[int, int]]:
    """Sorted code points as runs of consecutive ones: ``[(first, last), ...]``."""
    runs: list[list[int]] = []
    for cp in sorted(codepoints):
        if runs and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return [(lo, hi) for lo, hi in runs]


def _ranges_re(codepoints: list[int]) -> re.Pattern[str]:
    runs = codepoint_runs(codepoints)
    body = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in runs)
    return re.compile(f"[{body}]")


# Most text has nothing to remove: a regex search finds that far faster than translate().
_REMOVE_RE = _ranges_re(list(_REMOVE))


def clean_text(text: str) -> str:
    """Remove control and zero-width characters and collapse runs of whitespace to one space."""
    # Printable text holds no control or format character and no whitespace but the
    # space (Python's non-printables are Unicode's Other and Separator categories, the
    # space excepted); isprintable() is a much cheaper scan than the regex or split().
    if text.isprintable():
        if "  " not in text and text[:1] != " " and text[-1:] != " ":
            return text  # already one space between words
    elif _REMOVE_RE.search(text):
        text = text.translate(_REMOVE)
    # str.split() splits on exactly the characters regex \s matches (checked over all of Unicode).
    return " ".join(text.split())


def strip_accents(text: str) -> str:
    """Drop combining marks after canonical decomposition (``café`` → ``cafe``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def rewrite_quotes(text: str) -> str:
    """ALBERT's ``preprocess_text`` quote rewriting: ````` and ``''`` become ``"``."""
    return text.replace("``", '"').replace("''", '"')


@dataclass(frozen=True)
class Normalization:
    """How text is normalised before sentence splitting, vocabulary training and encoding.

    Defaults are those of ALBERT's uncased English models (lower-casing on); accents and
    quote rewriting follow ALBERT's ``preprocess_text`` when switched on.
    """

    nfkc: bool = True
    lower_case: bool = True
    strip_accents: bool = False
    rewrite_quotes: bool = False

    def __call__(self, text: str) -> str:
        if self.nfkc and not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = clean_text(text)
        if self.rewrite_quotes:
            text = rewrite_quotes(text)
        if self.strip_accents:
            text = strip_accents(text)
        if self.lower_case:
            text = text.lower()
        return text

    def to_dict(self) -> dict[str, bool]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Normalization:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown normalisation option(s) {unknown}; known: {sorted(known)}")
        return cls(**{k: bool(v) for k, v in data.items()})

    def describe(self) -> str:
        on = [name for name, value in self.to_dict().items() if value]
        return "+".join(on) if on else "none"


# What split-sentences applies: cleaning only, case and accents kept for later stages.
CLEANING = Normalization(nfkc=True, lower_case=False, strip_accents=False, rewrite_quotes=False)
