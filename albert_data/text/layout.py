"""Hard-wrapped text, and telling an input's layout from its lines.

Wrapped text (books, manual pages, reStructuredText, Project Gutenberg) breaks its
paragraphs into lines of at most ~72-80 columns and separates paragraphs by blank lines.
:func:`wrapped_paragraphs` joins the lines of each paragraph back: with a space between
Latin words, with nothing between two CJK characters, and a word hyphenated at a line
end ("well-" / "known") keeps its hyphen without a space. A line that is only a ruler of
one repeated punctuation mark (``=====``, ``-----``, the underlines of reStructuredText
and Markdown headings) ends the paragraph and is not text; a line opening with a list
bullet or number (``- ``, ``* ``, ``1. ``, ``#. ``) starts a new paragraph.

:class:`LineProbe` counts what the lines of an input look like (how many end without
sentence punctuation, how wide they are in columns, a CJK character counting two), and
:func:`layout_hints` turns those counts into one line per mismatch between the layout
chosen and the one the input seems to have, naming the option that fixes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Characters two columns wide (East Asian Wide and Fullwidth), and the CJK ones that
# join without a space.
_WIDE_RE = re.compile(
    "[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
    "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
    "\U00020000-\U0003fffd]"
)
_RULER_RE = re.compile(r"\s*([=\-~^*#+_`])\1{2,}\s*")
_ITEM_RE = re.compile(r"\s*(?:[-*+•‣◦]\s|(?:\d{1,3}|#)[.)]\s|[a-z]\)\s|\(\d{1,3}\)\s)")
_HYPHEN_END_RE = re.compile(r"[^\W\d_]-$")

SENTENCE_END = ".!?:;…。！？；：｡"
CLOSERS = "\"')]}»”’」』）》〉】〕〗"

WIDTH_BUCKETS = 11  # 0-9, 10-19, ..., 90-99 columns, and 100 or more
WIDE_LINE = 100  # columns: a line at least this wide is no wrapped line
LARGE_DOCUMENT_BYTES = 1 << 20  # a whole file this large read as one document is named


def wide(ch: str) -> bool:
    return _WIDE_RE.match(ch) is not None


def is_ruler(line: str) -> bool:
    return _RULER_RE.fullmatch(line) is not None


def join_lines(lines: list[str]) -> str:
    """The lines of one paragraph as one line."""
    parts: list[str] = []
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if parts:
            last = parts[-1]
            glued = (wide(last[-1]) and wide(text[0])) or (
                text[0].islower() and _HYPHEN_END_RE.search(last[-2:]) is not None
            )
            if not glued:
                parts.append(" ")
        parts.append(text)
    return "".join(parts)


@dataclass
class RulerCount:
    rulers: int = 0


def wrapped_paragraphs(lines: list[str], counts: RulerCount | None = None) -> tuple[str, ...]:
    """Paragraphs of a wrapped document: blank lines and rulers end a paragraph, a list
    item starts one, the other lines continue the current one (see the module's doc)."""
    paragraphs: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            text = join_lines(current)
            if text:
                paragraphs.append(text)
            current.clear()

    for line in lines:
        if not line.strip():
            close()
        elif is_ruler(line):
            close()
            if counts is not None:
                counts.rulers += 1
        else:
            if _ITEM_RE.match(line):
                close()
            current.append(line)
    close()
    return tuple(paragraphs)


@dataclass
class LineProbe:
    """The shape of the lines seen: how many, how many end without punctuation, and a
    histogram of their widths in 10-column buckets."""

    lines: int = 0
    unpunctuated: int = 0
    widths: tuple[int, ...] = (0,) * WIDTH_BUCKETS

    def add(self, lines: list[str]) -> None:
        """Count the non-blank lines of ``lines``."""
        widths = list(self.widths)
        seen = unpunctuated = 0
        for line in lines:
            text = line.rstrip()
            if not text:
                continue
            seen += 1
            last = text.rstrip(CLOSERS)[-1:]
            if not last or last not in SENTENCE_END:
                unpunctuated += 1
            columns = len(text)
            if columns < WIDE_LINE and not text.isascii():
                columns += len(_WIDE_RE.findall(text))
            widths[min(columns // 10, WIDTH_BUCKETS - 1)] += 1
        self.lines += seen
        self.unpunctuated += unpunctuated
        self.widths = tuple(widths)

    def looks_wrapped(self) -> tuple[int, int] | None:
        """The column band most lines fill, if the lines look hard-wrapped: at least 20
        lines, most of them ending without punctuation, hardly any 100 columns or
        wider, and half of them within two adjacent 10-column buckets of 40-99."""
        total = self.lines
        if total < 20 or 2 * self.unpunctuated < total:
            return None
        if self.widths[-1] > 0.05 * total:
            return None
        best = max(range(4, WIDTH_BUCKETS - 2), key=lambda b: self.widths[b] + self.widths[b + 1])
        if 2 * (self.widths[best] + self.widths[best + 1]) < total:
            return None
        return best * 10, best * 10 + 19

    def looks_unwrapped(self) -> bool:
        """Whether many lines are too wide for wrapped text (a paragraph per line)."""
        return self.lines >= 20 and self.widths[-1] >= 0.3 * self.lines


def layout_hints(fmt: str, probe: LineProbe, whole_file_documents: int) -> list[str]:
    """One line per sign that the input has another layout than ``fmt`` (the
    ``--input-format`` name), naming the option that reads it right."""
    hints = []
    if fmt in ("blank-line", "line", "sentences"):
        band = probe.looks_wrapped()
        if band is not None:
            share = (probe.widths[band[0] // 10] + probe.widths[band[0] // 10 + 1]) / probe.lines
            hints.append(
                f"the input looks hard-wrapped ({probe.unpunctuated / probe.lines:.0%} of lines end "
                f"without sentence punctuation, {share:.0%} are {band[0]}-{band[1]} columns wide), "
                f"so sentences are cut at line ends; read it with --input-format wrapped (lines "
                f"joined into paragraphs, one document per file or per --document-separator)"
            )
    elif fmt == "wrapped" and probe.looks_unwrapped():
        hints.append(
            f"the input does not look hard-wrapped ({probe.widths[-1] / probe.lines:.0%} of lines "
            f"are {WIDE_LINE} columns or wider), yet --input-format wrapped joins consecutive lines "
            f"into one paragraph; use --input-format blank-line if each line is a paragraph"
        )
    if whole_file_documents:
        if fmt == "wrapped":
            fix = "check --document-separator, or use --input-format blank-line"
            what = "no document separator"
        else:
            fix = (
                "separate documents with blank lines, or use --input-format line if each line "
                "is a document"
            )
            what = "no blank line"
        hints.append(
            f"{whole_file_documents:,} file(s) of {LARGE_DOCUMENT_BYTES >> 20} MB or more have "
            f"{what} and were each read as one document; {fix}"
        )
    return hints
