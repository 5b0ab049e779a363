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


# --- line ends ------------------------------------------------------------------------


def _with_ends(text: str, end: bytes) -> bytes:
    return text.encode("utf-8").replace(b"\n", end)


def test_a_lone_cr_ends_a_line_and_every_range_reads_its_documents(tmp_path):
    """An old-Mac file reads as the same documents as its LF twin, whole or in ranges of
    any size (a range owns the documents starting in the LF-terminated line that starts
    in it); LF and CRLF lines are left whole."""
    from albert_data.files.docranges import ByteRange, plan_ranges, read_range, split_lone_cr

    assert split_lone_cr(b"a\r\n") == [b"a\r\n"]
    assert split_lone_cr(b"a\n") == [b"a\n"]
    assert split_lone_cr(b"a\rb\r\rc\r\n") == [b"a\r", b"b\r", b"\r", b"c\r\n"]
    assert split_lone_cr(b"a\r") == [b"a\r"]
    text = "".join(f"Doc {d} line one.\nDoc {d} line two.\n\n" for d in range(40))
    expected = None
    for name, end in [("lf", b"\n"), ("crlf", b"\r\n"), ("cr", b"\r"), ("mixed", None)]:
        path = tmp_path / f"{name}.txt"
        if end is None:  # a lone-CR file with some LF and CRLF ends among them
            data = _with_ends(text, b"\r").replace(b"Doc 7 line one.\r", b"Doc 7 line one.\n")
            data = data.replace(b"Doc 20 line two.\r\r", b"Doc 20 line two.\r\n\r")
        else:
            data = _with_ends(text, end)
        path.write_bytes(data)
        for fmt in ("sentences", "line"):
            whole = [
                [line.rstrip(b"\r\n") for line in lines]
                for _, lines in read_range(ByteRange(str(path), 0, -1), fmt=fmt)
            ]
            for size in (7, 50, 333):
                ranged = [
                    [line.rstrip(b"\r\n") for line in lines]
                    for byte_range in plan_ranges(str(path), len(data), range_bytes=size)
                    for _, lines in read_range(byte_range, fmt=fmt)
                ]
                assert ranged == whole, (name, fmt, size)
            if fmt == "sentences":
                assert len(whole) == 40, name
                expected = expected or whole
                assert whole == expected, name


def test_old_mac_line_ends_split_and_make_the_records_of_lf(sample_en, tmp_path):
    raw = sample_en["raw"].read_bytes()
    (tmp_path / "lf.txt").write_bytes(raw)
    (tmp_path / "cr.txt").write_bytes(raw.replace(b"\n", b"\r"))
    split = ["--no-progress"]
    invoke("split-sentences", tmp_path / "lf.txt", "-o", tmp_path / "lf.out", *split)
    invoke("split-sentences", tmp_path / "cr.txt", "-o", tmp_path / "cr.out", *split)
    invoke(
        "split-sentences", tmp_path / "cr.txt", "-o", tmp_path / "cr.beam", "--runner", "direct",
        "--num-workers", 1, "--range-bytes", 10_000, *split,
    )  # fmt: skip
    lf_out = (tmp_path / "lf.out").read_bytes()
    assert lf_out.count(b"\n\n") > 20  # many documents, not one merged
    assert (tmp_path / "cr.out").read_bytes() == lf_out
    assert (tmp_path / "cr.beam").read_bytes() == lf_out

    sentences = sample_en["sentences"].read_bytes()
    (tmp_path / "s-cr.txt").write_bytes(sentences.replace(b"\n", b"\r"))
    made = {}
    for name, path in [("lf", sample_en["sentences"]), ("cr", tmp_path / "s-cr.txt")]:
        invoke(
            "make-pretraining", path, "--spm-model", sample_en["spm"], "-o", tmp_path / name,
            "--dupe-factor", 1, "--max-seq-length", 32, "--num-workers", 1,
            "--range-bytes", 20_000, "--no-progress",
        )  # fmt: skip
        made[name] = (tmp_path / name / "pretraining-00000-of-00001.tfrecord").read_bytes()
    assert made["cr"] == made["lf"]
