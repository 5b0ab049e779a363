"""Values within 64 bits that no run can use are refused in one line before any work,
instead of a traceback, a hang or running out of memory: more output shards than names
have digits (given, or chosen for an output estimated too large), more predictions per
record than it has tokens, more SentencePiece threads than its 32-bit field holds."""

from __future__ import annotations

import pytest

from tests.cli_helpers import error_line, invoke

HUGE = 2**62


def cases(sample, tmp):
    sentences, spm = sample["sentences"], sample["spm"]
    mp = ["make-pretraining", sentences, "-o", tmp / "rec", "--spm-model", spm, "--num-workers", 1]
    shards = "must be from 1 to 99,999 (shard names number them in five digits)"
    return {
        "make-pretraining-shards": ([*mp, "--num-shards", HUGE], f"--num-shards {HUGE} {shards}"),
        "make-pretraining-100000-shards": ([*mp, "--num-shards", 100_000], f"--num-shards 100000 {shards}"),
        "split-sentences-shards": (
            ["split-sentences", sample["raw"], "-o", tmp / "o.txt", "--num-shards", HUGE],
            f"--num-shards {HUGE} {shards}",
        ),
        "estimate-over-the-shards": (
            [*mp, "--dupe-factor", HUGE],
            "the output is estimated at ",
        ),
        "predictions-over-length": (
            [*mp, "--max-predictions-per-seq", HUGE],
            f"--max-predictions-per-seq {HUGE} is more than --max-seq-length 512: a record "
            "cannot predict more tokens than it holds",
        ),
        "predictions-default-over-short-length": (
            [*mp, "--max-seq-length", 16],
            "--max-predictions-per-seq 20 is more than --max-seq-length 16: a record cannot "
            "predict more tokens than it holds",
        ),
        "spm-threads": (
            ["spm-train", sentences, "--model-prefix", tmp / "sp", "--num-threads", HUGE],
            f"--num-threads {HUGE} must be from 1 to 2,147,483,647 (SentencePiece's limit)",
        ),
    }  # fmt: skip


NAMES = [
    "make-pretraining-shards",
    "make-pretraining-100000-shards",
    "split-sentences-shards",
    "estimate-over-the-shards",
    "predictions-over-length",
    "predictions-default-over-short-length",
    "spm-threads",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_huge_value_is_one_line_before_any_work(sample_en, tmp_path, name):
    table = cases(sample_en, tmp_path)
    assert sorted(table) == sorted(NAMES)
    args, expected = table[name]
    proc = invoke(*args, "--no-progress", check=False)
    assert proc.returncode == 2, proc.stderr
    line = error_line(proc)
    assert line.startswith(f"error: {expected}")
    if name == "estimate-over-the-shards":
        assert line.endswith(
            f"(--dupe-factor {HUGE}), more than 99,999 shards of 64 MB; lower --dupe-factor or "
            "split the input into several runs"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == []
