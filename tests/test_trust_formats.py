"""Formats met in the wild, on the real CLI: JSONL lines no parser or file can take (a lone
surrogate, nesting past the parser's recursion, a value that is not an object), JSONL
whose text is under another field, and old-Mac line ends (a lone CR)."""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import error_line, invoke

GOOD = [
    '{"text": "The first document is here. It has two sentences."}',
    '{"text": "A second document follows. It is short too."}',
]
BAD = {
    "surrogate": (
        '{"text": "A lone \\ud800 surrogate. It ends here."}',
        "has a lone surrogate \\ud800 in its text, which is not Unicode",
    ),
    "nested": ("[" * 200_000, "is nested too deeply to parse (thousands of [ or {)"),
    "not-an-object": ('["text", "in a list"]', "has no string field 'text'"),
    "number-field": ('{"text": 12}', "has no string field 'text' (it holds int)"),
}


def _jsonl(tmp_path, bad: str):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([GOOD[0], BAD[bad][0], GOOD[1]]) + "\n", encoding="utf-8")
    return path


def _summary_count(stderr: str, label: str) -> int:
    line = next(line for line in stderr.splitlines() if line.strip().startswith(label))
    return int(line.split()[-1])


@pytest.mark.parametrize("bad", sorted(BAD))
def test_split_sentences_counts_a_bad_jsonl_line_as_malformed(tmp_path, bad):
    path, out = _jsonl(tmp_path, bad), tmp_path / "out.txt"
    proc = invoke("split-sentences", path, "-o", out, "--input-format", "jsonl", "--no-progress")
    assert _summary_count(proc.stderr, "malformed lines") == 1
    assert out.read_text(encoding="utf-8").split("\n\n")[0].startswith("The first document")
    assert out.read_text(encoding="utf-8").count("\n\n") == 1  # the two good documents

    strict = invoke(
        "split-sentences", path, "-o", tmp_path / "s.txt", "--input-format", "jsonl",
        "--strict", "--no-progress", check=False,
    )  # fmt: skip
    assert strict.returncode == 2
    assert error_line(strict).startswith(f"error: {path}: line 2 (byte {len(GOOD[0]) + 1}) ")
    assert BAD[bad][1] in error_line(strict)
    assert not (tmp_path / "s.txt").exists()


@pytest.mark.parametrize("bad", ["surrogate", "nested"])
def test_make_pretraining_counts_a_bad_jsonl_line_in_a_worker(sample_en, tmp_path, bad):
    """Two DirectRunner workers (separate processes) read the file: the bad line is
    counted in stats.json and the summary, not a worker's traceback."""
    path, out = _jsonl(tmp_path, bad), tmp_path / "rec"
    proc = invoke(
        "make-pretraining", path, "--input-format", "jsonl", "--spm-model", sample_en["spm"],
        "-o", out, "--num-workers", 2, "--dupe-factor", 1, "--max-seq-length", 32,
        "--no-progress",
    )  # fmt: skip
    assert "malformed JSONL lines skipped: 1" in proc.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["counts"]["malformed_lines"] == 1
    assert stats["counts"]["documents_read"] == 2

    strict = invoke(
        "make-pretraining", path, "--input-format", "jsonl", "--spm-model", sample_en["spm"],
        "-o", tmp_path / "strict", "--num-workers", 1, "--strict", "--no-progress", check=False,
    )  # fmt: skip
    assert strict.returncode == 2
    assert error_line(strict) == (
        f"error: {path}: line 2 (byte {len(GOOD[0]) + 1}) {BAD[bad][1]}; fix the line, "
        "choose the field with --text-field, or drop --strict to skip such lines"
    )
    assert not (tmp_path / "strict").exists()


def test_jsonl_without_the_text_field_names_text_field(sample_en, tmp_path):
    path = tmp_path / "wiki.jsonl"
    path.write_text(
        '{"id": 1, "title": "A", "body": "Text one. More."}\n'
        '{"id": 2, "title": "B", "body": "Text two. More."}\n'
    )
    expected = (
        "error: no documents found in 1 input file(s): all 2 JSONL line(s) are malformed or "
        f"have no string field 'text'; {path}'s first line has the fields 'id', 'title', "
        "'body'; choose the text's field with --text-field (--strict names the first bad line)"
    )
    runs = [
        ["split-sentences", path, "-o", tmp_path / "o.txt", "--no-progress"],
        ["make-pretraining", path, "--spm-model", sample_en["spm"], "-o", tmp_path / "rec",
         "--num-workers", 1, "--no-progress"],
        ["spm-train", path, "--model-prefix", tmp_path / "sp", "--vocab-size", 40],
    ]  # fmt: skip
    for args in runs:
        proc = invoke(*args, "--input-format", "jsonl", check=False)
        assert proc.returncode == 2, args
        assert error_line(proc) == expected, args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wiki.jsonl"]
    # the field named, the same input is read
    fixed = invoke(
        "split-sentences", path, "-o", tmp_path / "o.txt", "--input-format", "jsonl",
        "--text-field", "body", "--no-progress",
    )  # fmt: skip
    assert "malformed lines     0" in fixed.stderr
