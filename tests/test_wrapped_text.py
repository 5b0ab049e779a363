"""Hard-wrapped text (books, man pages, .rst): lines joined into paragraphs, documents
separated as the user chooses, golden sentences for English, Chinese and mixed text,
and the summary naming the layout an input seems to have."""

from __future__ import annotations

import gzip
import json
import textwrap

import pytest

from albert_data.jobs.split_sentences import SplitSentencesRequest, run
from albert_data.text.documents import SplitConfig
from albert_data.text.layout import LineProbe, join_lines, wrapped_paragraphs
from albert_data.text.rawtext import ReadConfig
from tests.cli_helpers import error_line, invoke

ENGLISH = [
    "10.1. Overview",
    "-" * 14,
    "",
    textwrap.fill(
        "It was a cold morning in the valley, and the river had frozen along its "
        "edges. Dr. Okafor walked to the station before dawn, carrying two bags, "
        "a notebook and a flask of tea. The train was late again.",
        72,
    ),
    "",
    textwrap.fill(
        "Nobody on the platform seemed surprised; the timetable had been a polite "
        "fiction for years, e.g. Since the strike. A well-",
        72,
    ),
    "known porter sold coffee from a cart.",
    "",
    "- The first item of a list, long enough to wrap across two lines when it",
    "  is filled at seventy-two columns.",
    "- A second item.",
]
ENGLISH_SENTENCES = [
    "10.1. Overview",
    "It was a cold morning in the valley, and the river had frozen along its edges.",
    "Dr. Okafor walked to the station before dawn, carrying two bags, a notebook and a flask of tea.",
    "The train was late again.",
    "Nobody on the platform seemed surprised; the timetable had been a polite fiction for years, e.g. Since the strike.",
    "A well-known porter sold coffee from a cart.",
    "- The first item of a list, long enough to wrap across two lines when it is filled at seventy-two columns.",
    "- A second item.",
]
# Chinese wraps anywhere, inside words too (人身 / 攻击): no space may come back.
CHINESE = [
    "第一章",
    "======",
    "",
    "我们不应该把这种批评当作人身",
    "攻击的借口。他说这个模型很好用，",
    "但是训练数据还不够多。",
    "",
    "第二段从这里开始。李老师来了",
    "以后，大家都很高兴！",
]
CHINESE_SENTENCES = [
    "第一章",
    "我们不应该把这种批评当作人身攻击的借口。",
    "他说这个模型很好用,但是训练数据还不够多。",
    "第二段从这里开始。",
    "李老师来了以后,大家都很高兴!",
]
MIXED = [
    "我们用 Python 3.11 训练了 ALBERT",
    "模型。Dr. Li 认为效果不错。The results are",
    "described below. 下一步是扩大",
    "语料。U.S. 市场的数据也会加入。",
]
MIXED_SENTENCES = [
    "我们用 Python 3.11 训练了 ALBERT 模型。",
    "Dr. Li 认为效果不错。",
    "The results are described below.",
    "下一步是扩大语料。",
    "U.S. 市场的数据也会加入。",
]


def split(inputs, out, fmt="wrapped", **read) -> tuple[list[list[str]], object]:
    """split-sentences in this process: the documents written (as lists of sentences)
    and the summary."""
    config = SplitConfig(read=ReadConfig(format=fmt, **read), dedup=False)
    result = run(
        SplitSentencesRequest(
            inputs=tuple(map(str, inputs)), output=str(out), config=config, progress=False
        ),
        say=lambda line: None,
    )
    text = out.read_text(encoding="utf-8")
    return [doc.split("\n") for doc in text.rstrip("\n").split("\n\n")], result


def write(path, lines, *, compress=False):
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if compress:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("lines", "golden"),
    [(ENGLISH, ENGLISH_SENTENCES), (CHINESE, CHINESE_SENTENCES), (MIXED, MIXED_SENTENCES)],
    ids=["english", "chinese", "mixed"],
)
def test_wrapped_text_splits_into_the_golden_sentences(tmp_path, lines, golden):
    docs, result = split([write(tmp_path / "doc.rst.gz", lines, compress=True)], tmp_path / "o")
    assert docs == [golden]
    assert result.summary.documents_in == 1


def test_read_line_by_line_the_same_text_breaks_mid_sentence(tmp_path):
    """What the wrapped layout fixes: read as one paragraph per line, sentences break at
    every line end (人身 / 攻击)."""
    docs, _ = split([write(tmp_path / "zh.txt", CHINESE)], tmp_path / "o", fmt="blank-line")
    assert "我们不应该把这种批评当作人身" in [s for doc in docs for s in doc]


def test_joining_lines():
    assert join_lines(["It was", "  the season of Light."]) == "It was the season of Light."
    assert join_lines(["人身", "攻击"]) == "人身攻击"
    assert join_lines(["用 Python", "训练"]) == "用 Python 训练"
    assert join_lines(["训练了", "ALBERT"]) == "训练了 ALBERT"
    assert join_lines(["a well-", "known fact"]) == "a well-known fact"
    assert join_lines(["see page 12-", "14"]) == "see page 12- 14"  # no letter before "-"
    assert join_lines(["全角，", "逗号"]) == "全角，逗号"
    assert wrapped_paragraphs(["Title", "=====", "text", "", "", "more", "1. one", "2. two"]) == (
        "Title",
        "text",
        "more",
        "1. one",
        "2. two",
    )


def make_documents():
    return [
        ["First document opens here.", "", "Its second paragraph."],
        ["Second document.", "", "Also two paragraphs."],
        ["Third document, one paragraph."],
    ]


@pytest.mark.parametrize(
    ("separator", "between"),
    [("file", None), ("two-blank-lines", ["", ""]), ("%%", ["", "%%", ""]), ("%%", ["%%"])],
)
def test_documents_are_what_the_user_asked_for(tmp_path, separator, between):
    docs = make_documents()
    if between is None:
        inputs = [write(tmp_path / f"d{i}.txt", d) for i, d in enumerate(docs)]
    else:
        lines = [line for d in docs for line in [*between, *d]]
        inputs = [write(tmp_path / "all.txt", lines)]
    got, result = split(inputs, tmp_path / "o", document_separator=separator)
    assert got == [[line for line in d if line] for d in docs]
    assert result.summary.documents_in == 3


def test_document_separator_needs_the_wrapped_layout(tmp_path):
    src = write(tmp_path / "a.txt", ["One.", "", "Two."])
    proc = invoke(
        "split-sentences", src, "-o", tmp_path / "o", "--document-separator", "%%", check=False
    )
    assert proc.returncode == 2
    assert "--document-separator '%%' applies to --input-format wrapped" in error_line(proc)


def kernel_like(tmp_path, files=12):
    """Wrapped .rst-like files (72 columns, blank lines between paragraphs)."""
    from albert_data.text.corpus import generate_documents

    paths = []
    for i, doc in enumerate(generate_documents("en", seed=3, num_documents=files)):
        body = "\n\n".join(textwrap.fill(p, 72) for p in doc.split("\n"))
        paths.append(write(tmp_path / f"d{i}.rst", [f"Section {i}", "=" * 10, "", body]))
    return paths


def test_summary_names_the_wrapped_layout_when_lines_look_wrapped(tmp_path):
    inputs = kernel_like(tmp_path)
    _, result = split(inputs, tmp_path / "a", fmt="blank-line")
    notes = [line for line in result.summary.lines() if line.startswith("note:")]
    assert len(notes) == 1 and "looks hard-wrapped" in notes[0]
    assert "--input-format wrapped" in notes[0]
    docs, result = split(inputs, tmp_path / "b")
    assert not [line for line in result.summary.lines() if line.startswith("note:")]
    assert len(docs) == len(inputs) and result.summary.read.ruler_lines == len(inputs)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_unwrapped_inputs_get_no_note_and_wrapped_reading_of_them_does(tmp_path, lang):
    from albert_data.text.corpus import write_corpus

    raw = tmp_path / "raw.txt"
    write_corpus(raw, lang, seed=1, target_bytes=60_000, sentence_per_line=False)
    sentences = tmp_path / "sentences.txt"
    write_corpus(sentences, lang, seed=1, target_bytes=60_000, sentence_per_line=True)
    for src in (raw, sentences):
        _, result = split([src], tmp_path / f"o-{src.name}", fmt="blank-line")
        assert result.summary.read.hints("blank-line") == []
        assert result.summary.read.hints("sentences") == []
    _, result = split([raw], tmp_path / "w")
    (note,) = result.summary.read.hints("wrapped")
    assert "does not look hard-wrapped" in note and "--input-format blank-line" in note


def test_wrapped_chinese_is_detected(tmp_path):
    from albert_data.text.corpus import generate_documents

    text = "".join(generate_documents("zh", seed=2, num_documents=30)).replace("\n", "")
    lines = [text[i : i + 36] for i in range(0, len(text), 36)]  # 72 columns
    probe = LineProbe()
    probe.add(lines)
    assert probe.looks_wrapped() == (60, 79)


def test_a_large_file_without_blank_lines_read_as_one_document_is_named(tmp_path):
    line = "A sentence of a corpus with one sentence per line and no blank lines at all."
    big = write(tmp_path / "big.txt", [line] * (1_100_000 // len(line)))
    docs, result = split([big], tmp_path / "o", fmt="blank-line")
    assert len(docs) == 1
    (note,) = result.summary.read.hints("blank-line")
    assert "1 file(s) of 1 MB or more have no blank line" in note
    assert "--input-format line" in note


def test_beam_split_of_wrapped_files_equals_the_local_one(tmp_path):
    from albert_data.jobs.beam_job import BeamSettings

    inputs = kernel_like(tmp_path)
    local, local_result = split(inputs, tmp_path / "local.txt")
    config = SplitConfig(read=ReadConfig(format="wrapped"), dedup=False)
    beam = run(
        SplitSentencesRequest(
            inputs=tuple(map(str, inputs)),
            output=str(tmp_path / "beam.txt"),
            config=config,
            beam=BeamSettings(num_workers=1),
        ),
        say=lambda line: None,
    )
    assert (tmp_path / "beam.txt").read_bytes() == (tmp_path / "local.txt").read_bytes()
    assert beam.summary.read == local_result.summary.read
    assert beam.summary.lines() == local_result.summary.lines()


@pytest.mark.parametrize("fmt", ["wrapped", "blank-line"])
def test_make_pretraining_reads_a_layout_as_split_sentences_writes_it(sample_en, tmp_path, fmt):
    """make-pretraining --input-format wrapped (or blank-line) gives the records of
    split-sentences' documents, and stats.json says what the lines looked like."""
    inputs = kernel_like(tmp_path) if fmt == "wrapped" else [sample_en["raw"]]
    split(inputs, tmp_path / "sentences.txt", fmt=fmt)
    common = ["--spm-model", sample_en["spm"], "--max-seq-length", 64, "--dupe-factor", 2]
    common += ["--num-shards", 1, "--num-workers", 1, "--no-progress"]
    invoke("make-pretraining", *inputs, "-o", tmp_path / "w", "--input-format", fmt, *common)
    invoke("make-pretraining", tmp_path / "sentences.txt", "-o", tmp_path / "s", *common)
    name = "pretraining-00000-of-00001.tfrecord"
    assert (tmp_path / "w" / name).read_bytes() == (tmp_path / "s" / name).read_bytes()
    stats = json.loads((tmp_path / "w" / "stats.json").read_text())
    assert stats["counts"]["input_layout"]["hints"] == []
    if fmt == "blank-line":
        return
    assert stats["counts"]["documents_read"] == len(inputs)
    assert stats["counts"]["ruler_lines"] == len(inputs)
    proc = invoke("make-pretraining", *inputs, "-o", tmp_path / "b", *common)
    stats = json.loads((tmp_path / "b" / "stats.json").read_text())
    (hint,) = stats["counts"]["input_layout"]["hints"]
    assert "--input-format wrapped" in hint and f"note: {hint}" in proc.stderr


def test_blank_separator_is_refused():
    with pytest.raises(ValueError, match="must not be blank"):
        ReadConfig(format="wrapped", document_separator="  ")
