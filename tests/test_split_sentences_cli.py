"""split-sentences through its Click command (in this process; the first test and the
last start the real entry point): formats, both paths, every bad input."""

from __future__ import annotations

import bz2
import gzip
import json

import pytest

from albert_data.text.documents import SplitConfig, clean_document
from albert_data.text.rawtext import RawDocument
from tests.cli_helpers import error_line, invoke, run_cli

RAW = (
    'Dr. Smith arrived at 3 p.m. on Monday. He said "It works." Then he left!\n'
    "Version 2.0 costs $3.50, i.e. less than before.\n"
    "\n"
    "我们用 Python 3.11 训练了模型。效果很好！你觉得呢？\n"
    "\n"
    "\n"
    'Dr. Smith arrived at 3 p.m. on Monday. He said "It works." Then he left!\n'
    "Version 2.0 costs $3.50, i.e. less than before.\n"
    "\n"
    "A lone line without a stop\n"
)

EXPECTED = (
    "Dr. Smith arrived at 3 p.m. on Monday.\n"
    'He said "It works."\n'
    "Then he left!\n"
    "Version 2.0 costs $3.50, i.e. less than before.\n"
    "\n"
    "我们用 Python 3.11 训练了模型。\n"
    "效果很好!\n"
    "你觉得呢?\n"
    "\n"
    "A lone line without a stop\n"
)


def documents(text: str) -> list[list[str]]:
    return [block.split("\n") for block in text.strip("\n").split("\n\n")]


@pytest.fixture
def raw(tmp_path):
    path = tmp_path / "raw.txt"
    path.write_text(RAW, encoding="utf-8")
    return path


def test_local_output_format_dedup_and_summary(raw, tmp_path):
    out = tmp_path / "out.txt"
    proc = run_cli("split-sentences", raw, "-o", out, "--no-progress")
    assert out.read_text(encoding="utf-8") == EXPECTED
    assert "documents in        4" in proc.stderr
    assert "documents out       3" in proc.stderr
    assert "duplicates removed  1" in proc.stderr
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("shards,gz", [(1, False), (3, True)])
def test_beam_path_writes_the_same_files_as_local(raw, tmp_path, shards, gz):
    flags = ["--num-shards", shards] + (["--gzip"] if gz else [])
    invoke("split-sentences", raw, "-o", tmp_path / "local" / "docs.txt", "--no-progress", *flags)
    invoke(
        "split-sentences",
        raw,
        "-o",
        tmp_path / "beam" / "docs.txt",
        "--runner",
        "DirectRunner",
        "--num-workers",
        2,
        *flags,
    )
    local = sorted(p.name for p in (tmp_path / "local").iterdir())
    beam = sorted(p.name for p in (tmp_path / "beam").iterdir())
    assert local == beam and len(local) == shards
    for name in local:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "beam" / name).read_bytes()
    texts = []
    for name in local:
        data = (tmp_path / "local" / name).read_bytes()
        texts.append((gzip.decompress(data) if gz else data).decode())
    got = sorted(doc for t in texts if t for doc in map(tuple, documents(t)))
    assert got == sorted(map(tuple, documents(EXPECTED)))


def test_inputs_dirs_globs_compression_bom_crlf(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_bytes(
        b"\xef\xbb\xbfFirst doc. Two sentences.\r\n\r\nSecond doc here.\r\n"
    )
    (src / "b.txt.gz").write_bytes(gzip.compress(b"Gzipped doc. It reads.\n"))
    (src / "c.txt.bz2").write_bytes(bz2.compress(b"Bzipped doc.\n"))
    out = tmp_path / "out.txt"
    invoke("split-sentences", src, "-o", out, "--no-progress")
    assert documents(out.read_text()) == [
        ["First doc.", "Two sentences."],
        ["Second doc here."],
        ["Gzipped doc.", "It reads."],
        ["Bzipped doc."],
    ]
    out2 = tmp_path / "out2.txt"
    invoke("split-sentences", str(src / "*.txt*"), "-o", out2, "--no-progress")
    assert out2.read_text() == out.read_text()


def test_jsonl_and_line_formats(tmp_path):
    jl = tmp_path / "d.jsonl"
    jl.write_text(
        json.dumps({"body": "One. Two?\n\nThree!"})
        + "\n"
        + json.dumps({"body": "Four."})
        + "\n{broken\n",
        encoding="utf-8",
    )
    out = tmp_path / "j.txt"
    proc = invoke(
        "split-sentences",
        jl,
        "-o",
        out,
        "--input-format",
        "jsonl",
        "--text-field",
        "body",
        "--no-progress",
    )
    assert documents(out.read_text()) == [["One.", "Two?", "Three!"], ["Four."]]
    assert "malformed lines     1" in proc.stderr
    strict = invoke(
        "split-sentences",
        jl,
        "-o",
        tmp_path / "s.txt",
        "--input-format",
        "jsonl",
        "--text-field",
        "body",
        "--strict",
        check=False,
    )
    assert strict.returncode != 0
    assert "line 3" in error_line(strict) and "d.jsonl" in error_line(strict)
    lines = tmp_path / "l.txt"
    lines.write_text("Doc one. Still one.\nDoc two.\n", encoding="utf-8")
    out = tmp_path / "lo.txt"
    invoke("split-sentences", lines, "-o", out, "--input-format", "line", "--no-progress")
    assert documents(out.read_text()) == [["Doc one.", "Still one."], ["Doc two."]]


def test_filters_min_sentences_and_chars(raw, tmp_path):
    out = tmp_path / "o.txt"
    proc = invoke("split-sentences", raw, "-o", out, "--min-sentences", 3, "--no-progress")
    assert documents(out.read_text()) == documents(EXPECTED)[:2]
    assert "dropped too short   1" in proc.stderr


def test_long_sentence_is_cut():
    doc = clean_document(
        RawDocument("x", 0, ("word " * 5000,)), SplitConfig(max_sentence_chars=100)
    )
    assert len(doc.sentences) > 40
    assert all(len(s) <= 100 for s in doc.sentences)


def test_undecodable_bytes_replaced_and_counted_or_strict(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Good start.\nBad \xff\xfe bytes here.\n")
    out = tmp_path / "o.txt"
    proc = invoke("split-sentences", bad, "-o", out, "--no-progress")
    assert "undecodable bytes   2" in proc.stderr
    assert "\ufffd" in out.read_text()
    strict = invoke("split-sentences", bad, "-o", tmp_path / "s.txt", "--strict", check=False)
    assert strict.returncode != 0
    line = error_line(strict)
    assert "bad.txt" in line and "byte 16" in line
    assert not (tmp_path / "s.txt").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("runner", [[], ["--runner", "DirectRunner", "--num-workers", "1"]])
def test_bad_inputs(tmp_path, runner):
    missing = invoke(
        "split-sentences", tmp_path / "nope.txt", "-o", tmp_path / "o.txt", *runner, check=False
    )
    assert missing.returncode == 2 and "nope.txt" in error_line(missing)

    binary = tmp_path / "bin.dat"
    binary.write_bytes(b"text\x00\x01\x02")
    proc = invoke("split-sentences", binary, "-o", tmp_path / "o.txt", *runner, check=False)
    assert proc.returncode == 2 and "bin.dat" in error_line(proc) and "binary" in error_line(proc)

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n")
    proc = invoke("split-sentences", empty, "-o", tmp_path / "o.txt", *runner, check=False)
    assert proc.returncode == 2 and "no documents" in error_line(proc)
    assert not (tmp_path / "o.txt").exists()

    good = tmp_path / "good.txt"
    good.write_text("A sentence.\n")
    exists = tmp_path / "exists.txt"
    exists.write_text("keep me")
    proc = invoke("split-sentences", good, "-o", exists, *runner, check=False)
    assert (
        proc.returncode == 2
        and "exists.txt" in error_line(proc)
        and "--overwrite" in error_line(proc)
    )
    assert exists.read_text() == "keep me"
    invoke("split-sentences", good, "-o", exists, "--overwrite", *runner)
    assert exists.read_text() == "A sentence.\n"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_help_is_light_and_lists_commands():
    import subprocess
    import sys

    code = (
        "import sys; from albert_data.cli import main; "
        "heavy = ('tensorflow', 'apache_beam', 'sentencepiece', 'jieba', 'numpy', 'pyarrow'); "
        "print(any(m in sys.modules for m in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    proc = run_cli("--help")
    for name in ("split-sentences", "spm-train", "make-pretraining", "inspect"):
        assert name in proc.stdout
    assert run_cli("--version").stdout.startswith("albert-data, version ")
