"""Values within 64 bits that no run can use are refused in one line before any work,
instead of a traceback, a hang or running out of memory: more output shards than names
have digits (given, or chosen for an output estimated too large), more predictions per
record than it has tokens, more SentencePiece threads than its 32-bit field holds."""

from __future__ import annotations

import json

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


def test_train_vocab_size_over_32_bits_is_one_line(made, tmp_path):
    """By --vocab-size or by the albert_config.json given with --config (TensorFlow's
    'Shape [...] would have more than 2**63 - 1 elements' traceback before)."""
    from albert_data.model import preset

    config = preset("tiny").to_dict() | {"vocab_size": HUGE}
    (tmp_path / "albert_config.json").write_text(json.dumps(config))
    base = ["train", "--records", made["records"], "--model-dir", tmp_path / "m", "--no-jit"]
    runs = {
        f"--vocab-size {HUGE} must be from 1 to 2,147,483,647 (the trainer reads token ids as "
        "32-bit integers)": ["--preset", "tiny", "--vocab-size", HUGE],
        f"{tmp_path / 'albert_config.json'}: vocab_size={HUGE} is over 2,147,483,647: the "
        "trainer reads token ids as 32-bit integers": ["--config", tmp_path / "albert_config.json"],
    }
    for expected, extra in runs.items():
        proc = invoke(*base, *extra, check=False)
        assert proc.returncode == 2
        assert error_line(proc) == f"error: {expected}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["albert_config.json"]


def test_train_batch_or_shuffle_buffer_beyond_memory_is_one_line(made, tmp_path):
    """Before: TensorFlow's 'Shape [...] is too large' traceback for the batch, a
    segmentation fault for the shuffle buffer."""
    from albert_data.training.checks import physical_memory

    memory = physical_memory()
    base = ["train", "--records", made["records"], "--model-dir", tmp_path / "m"]
    base += ["--preset", "tiny", "--vocab", made["vocab"], "--no-jit"]
    for flag, each in (
        ("--train-batch-size", 4 * (4 * 64 + 3 * 10 + 1)),
        ("--shuffle-buffer", 24 + 4 * 64 + 3 * 10),
    ):
        proc = invoke(*base, flag, HUGE, check=False)
        assert proc.returncode == 2
        assert error_line(proc) == (
            f"error: {flag} {HUGE} needs at least {HUGE * each / 2**30:,.0f} GB for its records "
            f"({each} bytes each at --max-seq-length 64), more than this machine's "
            f"{memory / 2**30:,.0f} GB of memory; use at most {memory // each:,}"
        )
    assert not (tmp_path / "m").exists()


def test_memory_check_passes_what_fits():
    from albert_data.training.checks import check_memory
    from albert_data.training.config import DataConfig

    data = DataConfig(patterns=("x",), max_seq_length=512, max_predictions_per_seq=20)
    check_memory(data, memory=2**30)  # ALBERT's batch of 4096 at 512: ~34 MB of inputs
    with pytest.raises(Exception, match="--train-batch-size 4096 needs at least"):
        check_memory(data, memory=2**20)
