"""spm-train reads the layouts split-sentences and make-pretraining read, by the same
options: its sample is the sentences split-sentences would write, on the local sampler
and the Beam one (Parquet row groups as ranges), and the summary names the layout an
input seems to have."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from albert_data.cli import main
from tests.test_parquet_input import texts, write_jsonl, write_parquet
from tests.test_wrapped_text import kernel_like, split

COMMON = ["--vocab-size", 300, "--no-hard-vocab-limit", "--num-threads", 1, "--no-progress"]


def spm(*args) -> str:
    result = CliRunner().invoke(main, ["spm-train", *map(str, args)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stderr


def test_wrapped_input_trains_on_the_sentences_split_sentences_writes(tmp_path):
    inputs = kernel_like(tmp_path)
    split(inputs, tmp_path / "sentences.txt")
    out = spm(*inputs, "--input-format", "wrapped", "--model-prefix", tmp_path / "w", *COMMON)
    spm(tmp_path / "sentences.txt", "--model-prefix", tmp_path / "s", *COMMON)
    assert (tmp_path / "w.model").read_bytes() == (tmp_path / "s.model").read_bytes()
    sidecar = json.loads((tmp_path / "w.json").read_text())
    assert sidecar["sample"]["input_format"] == "wrapped"
    lines = (tmp_path / "sentences.txt").read_text().splitlines()
    assert f"read {sum(1 for line in lines if line)} sentences from" in out
    assert "note:" not in out


def test_wrapped_input_read_a_line_a_sentence_gets_a_note(tmp_path):
    out = spm(*kernel_like(tmp_path), "--model-prefix", tmp_path / "m", *COMMON)
    (note,) = [line for line in out.splitlines() if line.startswith("note:")]
    assert "looks hard-wrapped" in note and "--input-format wrapped" in note


@pytest.mark.parametrize("runner", [[], ["--runner", "DirectRunner"]], ids=["local", "beam"])
def test_parquet_trains_the_model_of_the_same_rows_as_jsonl(tmp_path, runner):
    column = texts()
    parquet = write_parquet(tmp_path / "t.parquet", column)
    jsonl = write_jsonl(tmp_path / "t.jsonl", column)
    out = spm(
        parquet, "--input-format", "parquet", "--model-prefix", tmp_path / "p", *COMMON, *runner
    )
    spm(jsonl, "--input-format", "jsonl", "--model-prefix", tmp_path / "j", *COMMON, *runner)
    assert (tmp_path / "p.model").read_bytes() == (tmp_path / "j.model").read_bytes()
    if not runner:
        assert "null rows skipped   3" in out
