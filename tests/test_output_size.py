"""The output-size estimate that chooses the number of shards: made from the records of
the head of the inputs with the real tokenizer, close to what the run writes, and the
shard count a power of two from it."""

from __future__ import annotations

import bz2
import gzip
import json
import math

import pytest

from albert_data.jobs.make_pretraining import (
    TARGET_SHARD_BYTES,
    MakePretrainingRequest,
    choose_num_shards,
    pretraining_config,
)
from albert_data.pretraining.document_records import VocabIds
from albert_data.pretraining.output_size import estimate_output
from albert_data.text.tokenization import load_tokenizer
from tests.cli_helpers import make_pretraining

SETTINGS = {"max_seq_length": 64, "max_predictions_per_seq": 10, "dupe_factor": 3}


@pytest.fixture(scope="module")
def tokenizer(sample_en):
    return load_tokenizer(spm_model=str(sample_en["spm"]))


def estimate(paths, tokenizer, *, fmt="sentences", sample_bytes=256 * 1024, **settings):
    files = [str(p) for p in paths]
    return estimate_output(
        files,
        {f: p.stat().st_size for f, p in zip(files, paths)},
        fmt=fmt,
        text_field="text",
        tokenizer=tokenizer,
        config=pretraining_config(**{**SETTINGS, **settings}),
        vocab=VocabIds.of(tokenizer),
        sample_bytes=sample_bytes,
    )


@pytest.mark.parametrize(("seq", "dupe"), [(64, 3), (128, 1)])
def test_the_estimate_is_close_to_what_the_run_writes(sample_en, tmp_path, seq, dupe):
    out = tmp_path / "out"
    make_pretraining(
        sample_en,
        out,
        "--max-seq-length",
        seq,
        "--max-predictions-per-seq",
        10,
        "--dupe-factor",
        dupe,
        "--num-workers",
        1,
    )
    stats = json.loads((out / "stats.json").read_text())
    written = sum(p.stat().st_size for p in out.glob("*.tfrecord"))
    guess = stats["output_estimate"]
    # The whole input fits in the sample: the first duplicate's records are exact.
    assert guess["sampled_input_bytes"] == sample_en["sentences"].stat().st_size
    assert abs(guess["estimated_output_bytes"] - written) < 0.05 * written
    if dupe == 1:
        assert guess["estimated_output_bytes"] == written == guess["sampled_record_bytes"]


def test_a_small_sample_predicts_the_whole_input(sample_en, tokenizer):
    whole = estimate([sample_en["sentences"]], tokenizer)
    head = estimate([sample_en["sentences"]], tokenizer, sample_bytes=20_000)
    assert whole.sampled_bytes == sample_en["sentences"].stat().st_size
    assert 15_000 < head.sampled_bytes < 25_000  # documents starting in the first 20 kB
    assert head.input_bytes == whole.input_bytes == whole.sampled_bytes
    assert abs(head.total_bytes - whole.total_bytes) < 0.2 * whole.total_bytes


def test_the_estimate_scales_with_the_dupe_factor(sample_en, tokenizer):
    base = estimate([sample_en["sentences"]], tokenizer)
    double = estimate([sample_en["sentences"]], tokenizer, dupe_factor=6)
    assert double.sampled_record_bytes == base.sampled_record_bytes  # one duplicate made
    assert double.total_bytes == pytest.approx(2 * base.total_bytes)


@pytest.mark.parametrize(("suffix", "pack"), [(".gz", gzip.compress), (".bz2", bz2.compress)])
def test_compressed_inputs_are_measured_not_guessed(sample_en, tokenizer, tmp_path, suffix, pack):
    text = sample_en["sentences"].read_bytes()
    packed = tmp_path / f"sentences.txt{suffix}"
    packed.write_bytes(pack(text))
    plain = estimate([sample_en["sentences"]], tokenizer)
    whole = estimate([packed], tokenizer)
    assert whole.input_bytes == len(text)  # read to its end: its size is known
    assert whole.total_bytes == pytest.approx(plain.total_bytes)
    head = estimate([packed], tokenizer, sample_bytes=20_000)
    # Not read to the end: the compression ratio of its head scales its size.
    assert head.input_bytes == pytest.approx(len(text), rel=0.1)


def test_jsonl_inputs_are_sampled_as_the_run_reads_them(sample_en, tokenizer, tmp_path):
    docs = sample_en["sentences"].read_text(encoding="utf-8").strip("\n").split("\n\n")
    lines = tmp_path / "docs.jsonl"
    lines.write_text(
        "".join(json.dumps({"text": " ".join(d.split("\n"))}) + "\n" for d in docs),
        encoding="utf-8",
    )
    plain = estimate([sample_en["sentences"]], tokenizer)
    jsonl = estimate([lines], tokenizer, fmt="jsonl")
    assert jsonl.sampled_bytes == lines.stat().st_size
    assert abs(jsonl.total_bytes - plain.total_bytes) < 0.15 * plain.total_bytes


def test_an_unreadable_head_ends_the_sample_and_the_run_names_it(sample_en, tokenizer, tmp_path):
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"a sentence.\n\x00\x01\n")
    guess = estimate([binary, sample_en["sentences"]], tokenizer)
    assert guess.sampled_bytes == sample_en["sentences"].stat().st_size
    assert guess.input_bytes == guess.sampled_bytes + binary.stat().st_size
    result = make_pretraining(
        {"sentences": binary, "spm": sample_en["spm"]}, tmp_path / "out", check=False
    )
    assert result.returncode == 2 and "binary.txt: looks binary" in result.stderr


@pytest.mark.parametrize(
    ("estimate_mib", "shards"),
    [(0, 1), (1, 1), (64, 1), (65, 2), (128, 2), (129, 4), (140, 4), (300, 8), (64 * 1000, 1024)],
)
def test_automatic_shards_are_a_power_of_two_within_the_target(estimate_mib, shards):
    req = MakePretrainingRequest(inputs=("x",), output="o")
    estimate_bytes = estimate_mib * 2**20
    assert choose_num_shards(estimate_bytes, req) == shards
    assert estimate_bytes / shards <= TARGET_SHARD_BYTES
    assert shards == 1 or estimate_bytes / shards > TARGET_SHARD_BYTES / 2
    assert math.log2(shards).is_integer()


def test_a_document_larger_than_the_sample_is_cut_at_the_sample(sample_en, tokenizer, tmp_path):
    # No blank lines: the whole file is one document of many sentences.
    text = sample_en["sentences"].read_text(encoding="utf-8")
    one_doc = tmp_path / "one-document.txt"
    one_doc.write_text("\n".join(line for line in text.splitlines() if line.strip()) + "\n")
    guess = estimate([one_doc], tokenizer, sample_bytes=20_000)
    assert 15_000 < guess.sampled_bytes <= 20_000  # the sentences of the first 20 kB
    assert guess.input_bytes == one_doc.stat().st_size
    whole = estimate([one_doc], tokenizer)
    assert whole.sampled_bytes == one_doc.stat().st_size  # fits: read to its end
    assert abs(guess.total_bytes - whole.total_bytes) < 0.2 * whole.total_bytes
