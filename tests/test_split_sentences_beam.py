"""The Beam path of split-sentences: byte ranges read in parallel, the file-based
shuffle, de-duplication and reordering with bounded memory, and worker errors — always
the same bytes and counts as the local runner."""

from __future__ import annotations

import dataclasses
import gzip
import json

import numpy as np
import pytest

from albert_data.files import partfiles
from albert_data.jobs.beam_job import BeamSettings
from albert_data.jobs.split_sentences import SplitSentencesRequest, run
from albert_data.text.documents import SplitConfig
from albert_data.text.rawtext import ReadConfig
from tests.cli_helpers import error_line, invoke

SENTENCES = [
    "Dr. Smith arrived at 3 p.m. on Monday.",
    "Version 2.0 costs $3.50, i.e. less than before!",
    "我们用 Python 3.11 训练了模型。效果很好！",
    "Ｆｕｌｌ－ｗｉｄｔｈ text is normalised.",
    "He said “yes.” Then he left?",
    "短句。",
]
BLANKS = ["", " ", "\u3000", "\t\u00a0", "\r"]


def write_corpus(tmp_path, seed: int, fmt: str) -> list[str]:
    """Several files with shared documents (duplicates within and across files), BOM,
    CRLF, Unicode-blank lines, a bad byte, a gzip member and, for JSONL, broken lines."""
    rng = np.random.default_rng(seed)
    pool = [
        [str(rng.choice(SENTENCES)) + f" n{int(rng.integers(0, 9))}." for _ in range(k)]
        for k in rng.integers(1, 5, size=25)
    ]
    paths = []
    for f in range(4):
        docs = [pool[int(i)] for i in rng.integers(0, len(pool), size=30)]
        nl = "\r\n" if f == 1 else "\n"
        if fmt == "blank-line":
            sep = nl + str(rng.choice(BLANKS)).replace("\r", "") + nl
            text = sep.join(nl.join(d) for d in docs) + nl
        elif fmt == "line":
            text = nl.join(" ".join(d) for d in docs) + nl
        else:
            rows = [json.dumps({"text": "\n".join(d)}, ensure_ascii=f % 2 == 0) for d in docs]
            rows.insert(7, "{broken")
            rows.insert(9, json.dumps({"title": "no text field"}))
            text = nl.join(rows) + nl
        data = ("\ufeff" if f == 0 else "").encode() + text.encode()
        if f == 2:
            data = data.replace(b"Version", b"Vers\xffion", 1)
        name = tmp_path / f"raw-{f}.txt"
        if f == 3:
            name = tmp_path / f"raw-{f}.txt.gz"
            data = gzip.compress(data)
        name.write_bytes(data)
        paths.append(str(name))
    return paths


def run_local(inputs, output, **kw):
    return run(
        SplitSentencesRequest(inputs=tuple(inputs), output=output, progress=False, **kw)
    ).summary


def run_beam(inputs, output, *, num_workers=None, range_bytes=None, shuffle="auto", **kw):
    beam = BeamSettings(num_workers=num_workers, range_bytes=range_bytes, shuffle=shuffle)
    return run(SplitSentencesRequest(inputs=tuple(inputs), output=output, beam=beam, **kw)).summary


def outputs_of(summary) -> list[bytes]:
    return [open(p, "rb").read() for p in summary.outputs]


def counts_of(summary) -> dict:
    return {k: v for k, v in dataclasses.asdict(summary).items() if k != "outputs"}


@pytest.mark.parametrize(
    "fmt,dedup,shards,range_bytes",
    [
        ("blank-line", True, 3, 61),
        ("blank-line", False, 1, 1),
        ("line", True, 2, 7),
        ("jsonl", True, 1, 100),
    ],
)
def test_beam_matches_local_bytes_and_counts(
    tmp_path, monkeypatch, fmt, dedup, shards, range_bytes
):
    # Tiny runs and fan-in force the external sort and multi-pass merges to do real work.
    monkeypatch.setattr(partfiles, "RUN_BYTES", 300)
    monkeypatch.setattr(partfiles, "MERGE_FAN_IN", 2)
    inputs = write_corpus(tmp_path, seed=range_bytes, fmt=fmt)
    config = SplitConfig(read=ReadConfig(format=fmt), dedup=dedup, min_chars=12)
    local = run_local(
        inputs, str(tmp_path / "local" / "docs.txt"), config=config, num_shards=shards
    )
    beam = run_beam(
        inputs,
        str(tmp_path / "beam" / "docs.txt"),
        config=config,
        num_shards=shards,
        num_workers=1,  # in-process, so the monkeypatched sizes apply
        range_bytes=range_bytes,
    )
    assert outputs_of(beam) == outputs_of(local)
    assert counts_of(beam) == counts_of(local)
    assert (local.duplicates > 20) == dedup and local.documents_out > 10
    assert local.replaced_bytes == 1 and local.dropped_short > 0
    assert local.malformed_lines == (8 if fmt == "jsonl" else 0)
    # Only the outputs are left: no part file, run file or work directory.
    assert sorted(p.name for p in (tmp_path / "beam").iterdir()) == sorted(
        p.rsplit("/", 1)[1] for p in beam.outputs
    )


def test_worker_error_is_one_line_and_leaves_nothing(tmp_path):
    good = tmp_path / "a.txt"
    good.write_text("A fine document.\n\nAnother one.\n" * 200)
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"Clean start.\n\n" * 300 + b"A bad \xff byte.\n\nMore.\n" + b"x.\n" * 50)
    out = tmp_path / "out" / "docs.txt"
    proc = invoke(
        "split-sentences",
        good,
        bad,
        "-o",
        out,
        "--strict",
        "--runner",
        "DirectRunner",
        "--num-workers",
        2,
        "--range-bytes",
        512,
        check=False,
    )
    assert proc.returncode == 2
    line = error_line(proc)  # also asserts there is no traceback
    assert "b.txt" in line and f"byte {14 * 300 + 6}" in line and "--strict" in line
    assert len([x for x in proc.stderr.splitlines() if x.strip()]) == 1, proc.stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_first_error_in_input_order_as_locally(tmp_path):
    from albert_data.errors import UserError

    inputs = []
    for name, bad in (("b.txt", b"\xff"), ("a.txt", b"\xfe")):
        path = tmp_path / name
        path.write_bytes(b"Fine text here.\n\nBroken " + bad + b" text.\n")
        inputs.append(str(path))  # b.txt first: not alphabetical
    config = SplitConfig(read=ReadConfig(strict=True))
    with pytest.raises(UserError) as local:
        run_local(inputs, str(tmp_path / "l.txt"), config=config)
    with pytest.raises(UserError) as beam:
        run_beam(inputs, str(tmp_path / "b.txt.out"), config=config, num_workers=1, range_bytes=5)
    assert str(beam.value) == str(local.value)
    assert "b.txt: byte 24" in str(local.value)
