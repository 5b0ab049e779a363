"""The bundled sample corpus and a seeded generator that expands it for benchmarks.

``albert_data/sample/{en,zh}.txt`` hold original English and Chinese prose written for
this project: documents separated by one blank line, one paragraph per line. They are
package data, so the demo works from an installed copy.

:func:`generate_documents` recombines the sample into any number of new documents:
each one is 4-15 sentences in one to three paragraphs, every paragraph a contiguous run
of sentences from a random sample document, sometimes with one sentence swapped in
from another document, and with some numbers redrawn so that a large corpus has few
exact duplicates. Every choice comes from ``numpy.random.default_rng(seed)``: the same
seed gives the same text. :func:`write_corpus` writes such documents up to a byte
target, as raw text or as sentence-per-line documents.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from albert_data.errors import UserError
from albert_data.text.sentences import split_sentences

LANGUAGES = ("en", "zh")
# Sentences are joined with a space in English and directly in Chinese.
_JOINERS = {"en": " ", "zh": ""}
_MIN_SENTENCES, _MAX_SENTENCES = 4, 15
_PARAGRAPH_COUNTS, _PARAGRAPH_PROBS = (1, 2, 3), (0.5, 0.35, 0.15)
_SWAP_PROB = 0.3  # chance that a paragraph borrows one sentence from another document
_REDRAW_PROB = 0.3  # chance that a number is redrawn (same number of digits)
_NUMBER_RE = re.compile(r"\d+")


@dataclass(frozen=True)
class CorpusStats:
    """What :func:`write_corpus` wrote."""

    path: str
    documents: int
    sentences: int
    bytes: int


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise UserError(f"unknown sample corpus language {lang!r}; use one of {list(LANGUAGES)}")


def sample_text(lang: str) -> str:
    """The raw text of the bundled sample corpus for ``lang`` ("en" or "zh")."""
    _check_lang(lang)
    path = resources.files("albert_data") / "sample" / f"{lang}.txt"
    return path.read_text(encoding="utf-8")


def sample_documents(lang: str) -> list[str]:
    """The sample corpus as documents (paragraphs separated by newlines)."""
    text = sample_text(lang).replace("\r\n", "\n")
    return [doc.strip() for doc in re.split(r"\n\s*\n", text) if doc.strip()]


@lru_cache(maxsize=len(LANGUAGES))
def _sample_sentences(lang: str) -> tuple[tuple[str, ...], ...]:
    """Each sample document as one flat tuple of sentences."""
    return tuple(
        tuple(s for paragraph in doc.split("\n") for s in split_sentences(paragraph))
        for doc in sample_documents(lang)
    )


def generate_documents(lang: str, *, seed: int, num_documents: int) -> Iterator[str]:
    """Yield ``num_documents`` raw-text documents recombined from the sample corpus.

    A document is one or more paragraphs separated by single newlines. The first ``n``
    documents for a seed are the same whatever ``num_documents`` is.
    """
    _check_lang(lang)
    if num_documents < 0:
        raise UserError(f"num_documents must be >= 0, got {num_documents}")
    return itertools.islice(_endless_documents(lang, seed), num_documents)


def _endless_documents(lang: str, seed: int) -> Iterator[str]:
    pool = _sample_sentences(lang)
    joiner = _JOINERS[lang]
    rng = np.random.default_rng(seed)
    while True:
        paragraphs = _compose_document(pool, rng)
        yield "\n".join(joiner.join(_redraw_numbers(s, rng) for s in p) for p in paragraphs)


def _compose_document(
    pool: tuple[tuple[str, ...], ...], rng: np.random.Generator
) -> list[list[str]]:
    """Sentences of one new document, grouped into paragraphs."""
    total = int(rng.integers(_MIN_SENTENCES, _MAX_SENTENCES + 1))
    count = int(rng.choice(_PARAGRAPH_COUNTS, p=_PARAGRAPH_PROBS))
    count = min(count, total // 2)
    cuts = np.sort(rng.choice(np.arange(2, total - 1), size=count - 1, replace=False))
    sizes = np.diff(np.concatenate(([0], cuts, [total]))) if count > 1 else [total]
    return [_compose_paragraph(pool, int(size), rng) for size in sizes]


def _compose_paragraph(
    pool: tuple[tuple[str, ...], ...], size: int, rng: np.random.Generator
) -> list[str]:
    """``size`` consecutive sentences of random sample documents, maybe with one swapped."""
    sentences: list[str] = []
    while len(sentences) < size:
        source = pool[int(rng.integers(len(pool)))]
        need = min(size - len(sentences), len(source))
        start = int(rng.integers(len(source) - need + 1))
        sentences.extend(source[start : start + need])
    if size > 2 and rng.random() < _SWAP_PROB:
        other = pool[int(rng.integers(len(pool)))]
        sentences[int(rng.integers(1, size))] = other[int(rng.integers(len(other)))]
    return sentences


def _redraw_numbers(sentence: str, rng: np.random.Generator) -> str:
    """Replace some digit runs by random numbers of the same length."""
    if not _NUMBER_RE.search(sentence):
        return sentence

    def redraw(match: re.Match[str]) -> str:
        digits = match.group()
        if rng.random() >= _REDRAW_PROB:
            return digits
        low = 10 ** (len(digits) - 1) if len(digits) > 1 else 0
        return str(int(rng.integers(low, 10 ** len(digits))))

    return _NUMBER_RE.sub(redraw, sentence)


def write_corpus(
    path: str | os.PathLike[str],
    lang: str,
    *,
    seed: int,
    target_bytes: int,
    sentence_per_line: bool,
) -> CorpusStats:
    """Write generated documents to ``path`` until at least ``target_bytes`` (UTF-8).

    Raw text has one paragraph per line; sentence-per-line output has one sentence per
    line (split with :func:`~albert_data.text.sentences.split_sentences`). Either way one
    blank line separates documents. The file is written under a temporary name and
    renamed at the end, so a partial file never looks complete.
    """
    _check_lang(lang)
    if target_bytes <= 0:
        raise UserError(f"target_bytes must be > 0, got {target_bytes}")
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp")
    documents = sentences = written = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            for doc in _endless_documents(lang, seed):
                paragraphs = doc.split("\n")
                split = [split_sentences(paragraph) for paragraph in paragraphs]
                lines = [s for group in split for s in group] if sentence_per_line else paragraphs
                chunk = ("\n" if documents else "") + "\n".join(lines) + "\n"
                handle.write(chunk)
                written += len(chunk.encode("utf-8"))
                documents += 1
                sentences += sum(map(len, split))
                if written >= target_bytes:
                    break
        os.replace(tmp, out)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        from albert_data.files.fileio import public_name

        raise UserError(
            f"cannot write corpus {public_name(str(out))!r}: {err.strerror}; check the path"
        ) from err
    return CorpusStats(path=str(out), documents=documents, sentences=sentences, bytes=written)
