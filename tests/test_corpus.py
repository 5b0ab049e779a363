"""The bundled sample corpus and the seeded corpus generator."""

from __future__ import annotations

import pytest

from albert_data.errors import UserError
from albert_data.text.corpus import (
    LANGUAGES,
    generate_documents,
    sample_documents,
    sample_text,
    write_corpus,
)
from albert_data.text.normalize import CLEANING
from albert_data.text.sentences import split_sentences


def _sentence_count(document: str) -> int:
    return sum(len(split_sentences(CLEANING(p))) for p in document.split("\n"))


@pytest.mark.parametrize(("lang", "min_bytes"), [("en", 150_000), ("zh", 100_000)])
def test_sample_loads_with_enough_documents(lang: str, min_bytes: int) -> None:
    text = sample_text(lang)
    assert len(text.encode("utf-8")) >= min_bytes
    docs = sample_documents(lang)
    assert len(docs) >= 60
    assert all(4 <= _sentence_count(doc) <= 15 for doc in docs)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sample_file_format(lang: str) -> None:
    """One blank line between documents, no blank-only or indented lines, one final newline."""
    text = sample_text(lang)
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\n\n\n" not in text and "\r" not in text and "\t" not in text
    lines = text.split("\n")[:-1]
    assert all(line == line.strip() for line in lines)
    assert text.count("\n\n") == len(sample_documents(lang)) - 1


def test_chinese_sample_has_chinese_punctuation_and_mixed_text() -> None:
    text = sample_text("zh")
    for mark in "。！？；…「」“”（）":
        assert mark in text, mark
    assert "Python 3.11" in text


def test_english_sample_has_hard_cases() -> None:
    text = sample_text("en")
    for needle in [
        "Mr. ",
        "Dr. ",
        "e.g. ",
        "i.e. ",
        "U.S. ",
        "a.m. ",
        "No. ",
        "v2.0",
        "4.0.1",
        "7.5 seconds",
        "...",
        "http://",
        "@",
    ]:
        assert needle in text, needle


@pytest.mark.parametrize("lang", LANGUAGES)
def test_generator_is_deterministic(lang: str) -> None:
    first = list(generate_documents(lang, seed=7, num_documents=50))
    again = list(generate_documents(lang, seed=7, num_documents=50))
    other = list(generate_documents(lang, seed=8, num_documents=50))
    assert first == again
    assert first != other
    assert len(first) == 50 and len(set(first)) == 50


@pytest.mark.parametrize("lang", LANGUAGES)
def test_generated_documents_look_like_the_sample(lang: str) -> None:
    docs = list(generate_documents(lang, seed=3, num_documents=200))
    assert all(doc.strip() == doc and "\n\n" not in doc for doc in docs)
    counts = [_sentence_count(doc) for doc in docs]
    assert min(counts) >= 3 and max(counts) <= 17  # 4-15 sentences, give or take a merge
    assert any("\n" in doc for doc in docs)  # some documents have several paragraphs


def test_prefix_of_a_longer_run_is_the_same() -> None:
    short = list(generate_documents("en", seed=1, num_documents=5))
    long = list(generate_documents("en", seed=1, num_documents=20))
    assert long[:5] == short


@pytest.mark.parametrize("sentence_per_line", [False, True])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_write_corpus_meets_the_size_target(tmp_path, lang: str, sentence_per_line: bool) -> None:
    path = tmp_path / f"{lang}.txt"
    stats = write_corpus(
        path, lang, seed=0, target_bytes=300_000, sentence_per_line=sentence_per_line
    )
    data = path.read_bytes()
    assert stats.bytes == len(data)
    assert 300_000 <= len(data) < 300_000 + 10_000
    text = data.decode("utf-8")
    docs = text.rstrip("\n").split("\n\n")
    assert len(docs) == stats.documents
    assert text.endswith("\n") and not text.endswith("\n\n") and "\n\n\n" not in text
    if sentence_per_line:
        lines = [line for doc in docs for line in doc.split("\n")]
        assert len(lines) == stats.sentences
    assert not list(tmp_path.glob("*.tmp"))


def test_write_corpus_is_deterministic_and_matches_the_generator(tmp_path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    stats = write_corpus(a, "zh", seed=5, target_bytes=50_000, sentence_per_line=False)
    write_corpus(b, "zh", seed=5, target_bytes=50_000, sentence_per_line=False)
    assert a.read_bytes() == b.read_bytes()
    expected = list(generate_documents("zh", seed=5, num_documents=stats.documents))
    assert a.read_text(encoding="utf-8") == "\n\n".join(expected) + "\n"


def test_sentence_per_line_output_splits_the_raw_output(tmp_path) -> None:
    raw, spl = tmp_path / "raw.txt", tmp_path / "spl.txt"
    write_corpus(raw, "en", seed=2, target_bytes=20_000, sentence_per_line=False)
    write_corpus(spl, "en", seed=2, target_bytes=20_000, sentence_per_line=True)
    raw_docs = raw.read_text(encoding="utf-8").rstrip("\n").split("\n\n")
    spl_docs = spl.read_text(encoding="utf-8").rstrip("\n").split("\n\n")
    expected = [
        "\n".join(s for p in doc.split("\n") for s in split_sentences(p)) for doc in raw_docs
    ]
    assert spl_docs[: len(expected)] == expected[: len(spl_docs)]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: write_corpus(p, "fr", seed=0, target_bytes=10, sentence_per_line=False), "fr"),
        (
            lambda p: write_corpus(p, "en", seed=0, target_bytes=0, sentence_per_line=False),
            "target_bytes",
        ),
        (lambda p: list(generate_documents("de", seed=0, num_documents=1)), "de"),
        (lambda p: list(generate_documents("en", seed=0, num_documents=-1)), "num_documents"),
        (
            lambda p: write_corpus(
                p / "missing" / "x.txt", "en", seed=0, target_bytes=10, sentence_per_line=False
            ),
            "missing",
        ),
    ],
)
def test_bad_arguments_are_user_errors(tmp_path, call, message: str) -> None:
    with pytest.raises(UserError, match=message):
        call(tmp_path)
