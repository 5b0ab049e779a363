"""Values, checked one way across the commands before any work: seeds (negative, over 64
bits), floats that are not finite (through Click's ranges too), integers too large for
what receives them, and output names (a path in --name, names over the file system's
limit)."""

from __future__ import annotations

import pytest

from tests.cli_helpers import error_line, invoke

SEED = "is not a seed: give an integer from 0 to 9223372036854775807 (2**63 - 1)"
LONG = "n" * 300


def cases(sample, tmp):
    raw, sentences, spm = sample["raw"], sample["sentences"], sample["spm"]
    mp = ["make-pretraining", sentences, "-o", tmp / "rec", "--spm-model", spm]
    spm_train = ["spm-train", sentences, "--model-prefix", tmp / "sp"]
    train = ["train", "--records", tmp / "x", "--model-dir", tmp / "m", "--preset", "tiny"]
    return [
        (["sample", "-o", tmp / "s.txt", "--size", "10KB", "--seed", -1], f"--seed -1 {SEED}"),
        ([*spm_train, "--seed", -5], f"--seed -5 {SEED}"),
        ([*mp, "--random-seed", -3], f"--random-seed -3 {SEED}"),
        ([*mp, "--random-seed", 2**64 + 5], f"--random-seed {2**64 + 5} {SEED}"),
        ([*train, "--seed", -1], f"--seed -1 {SEED}"),
        (
            ["sample", "-o", tmp / "s.txt", "--size", "inf"],
            "--size 'inf' is not a size; write e.g. 500KB, 20MB or 1GB",
        ),
        (
            ["sample", "-o", tmp / "s.txt", "--size", "nan"],
            "--size 'nan' is not a size; write e.g. 500KB, 20MB or 1GB",
        ),
        (
            [*spm_train, "--vocab-size", "99999999999999999999"],
            "--vocab-size 99999999999999999999 is too large: at most 9223372036854775807 (2**63 - 1)",
        ),
        (
            [*spm_train, "--vocab-size", "9999999999"],
            "--vocab-size 9999999999 is too large for SentencePiece: at most 2,147,483,647",
        ),
        (
            [*train, "--masked-lm-prob", "nan"],
            "--masked-lm-prob nan is not a finite number; give a number",
        ),
        (
            [*mp, "--short-seq-prob", "inf"],
            "--short-seq-prob inf is not a finite number; give a number",
        ),
        (
            [*train, "--learning-rate", "-inf"],
            "--learning-rate -inf is not a finite number; give a number",
        ),
        (
            [*mp, "--name", "sub/part"],
            "--name 'sub/part' is the stem of the file names, not a path; give a name without '/' (the files go in --output)",
        ),
        (
            [*mp, "--name", LONG],
            "--name 'nnnnnnnnnnnnnnnnnnnn...999.tfrecord': a file name of 324 bytes, over the 255 this file system allows; choose a shorter name",
        ),
        (
            ["spm-train", sentences, "--model-prefix", tmp / LONG],
            "--model-prefix 'nnnnnnnnnnnnnnnnnnnn...nnnnnn.model': a file name of 306 bytes, over the 255 this file system allows; choose a shorter name",
        ),
        (
            ["split-sentences", raw, "-o", tmp / f"{LONG}.txt"],
            "--output 'nnnnnnnnnnnnnnnnnnnn...nnnnnnnn.txt': a file name of 304 bytes, over the 255 this file system allows; choose a shorter name",
        ),
    ]


IDS = [
    "sample-negative-seed",
    "spm-train-negative-seed",
    "make-pretraining-negative-seed",
    "make-pretraining-65-bit-seed",
    "train-negative-seed",
    "sample-size-inf",
    "sample-size-nan",
    "spm-train-vocab-size-huge",
    "spm-train-vocab-size-over-int32",
    "train-nan-in-a-click-range",
    "make-pretraining-inf",
    "train-minus-inf",
    "make-pretraining-name-with-a-slash",
    "make-pretraining-name-too-long",
    "spm-train-prefix-too-long",
    "split-sentences-output-too-long",
]


@pytest.mark.parametrize("index", range(len(IDS)), ids=IDS)
def test_a_bad_value_is_one_line_before_any_work(sample_en, tmp_path, index):
    args, expected = cases(sample_en, tmp_path)[index]
    proc = invoke(*args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert error_line(proc) == f"error: {expected}"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, nothing made
