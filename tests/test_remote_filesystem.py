"""The whole chain on a non-local file system: inputs and outputs on ``mem://`` (a real
Beam FileSystem registered by tests/memfs.py), the commands run in this process so the
in-memory runner's workers see it. Any os.path call on a remote path fails here."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from albert_data.cli import main
from albert_data.files.tfrecord import read_records
from tests import memfs


def cli(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def remote_sample(sample_en):
    memfs.clear()
    with open(sample_en["raw"], "rb") as fh:
        memfs._FILES["mem://bucket/raw/sample.txt"] = fh.read()
    yield "mem://bucket"
    memfs.clear()


def test_split_sentences_beam_and_local_on_a_remote_file_system(remote_sample, sample_en):
    cli(
        "split-sentences",
        f"{remote_sample}/raw/sample.txt",
        "-o",
        f"{remote_sample}/local/docs.txt",
        "--no-progress",
    )
    cli(
        "split-sentences",
        f"{remote_sample}/raw/*.txt",
        "-o",
        f"{remote_sample}/beam/docs.txt",
        "--runner",
        "DirectRunner",
        "--num-workers",
        1,
        "--num-shards",
        2,
        "--range-bytes",
        20000,
    )
    local = memfs.listing(f"{remote_sample}/local/")
    assert list(local) == [f"{remote_sample}/local/docs.txt"]
    assert local[f"{remote_sample}/local/docs.txt"] == sample_en["sentences"].read_bytes()
    beam = memfs.listing(f"{remote_sample}/beam/")
    assert sorted(beam) == [f"{remote_sample}/beam/docs-0000{i}-of-00002.txt" for i in range(2)]


@pytest.mark.parametrize("shuffle", ["files", "engine"])
def test_make_pretraining_on_a_remote_file_system(remote_sample, sample_en, shuffle):
    memfs._FILES[f"{remote_sample}/sentences.txt"] = sample_en["sentences"].read_bytes()
    cli(
        "make-pretraining",
        f"{remote_sample}/sentences.txt",
        "-o",
        f"{remote_sample}/records",
        "--spm-model",
        sample_en["spm"],
        "--num-workers",
        1,
        "--max-seq-length",
        64,
        "--dupe-factor",
        2,
        "--num-shards",
        2,
        "--shuffle",
        shuffle,
    )
    written = memfs.listing(f"{remote_sample}/records/")
    names = sorted(p.rsplit("/", 1)[1] for p in written)
    assert names == [
        "pretraining-00000-of-00002.tfrecord",
        "pretraining-00001-of-00002.tfrecord",
        "stats.json",
    ]
    stats = json.loads(written[f"{remote_sample}/records/stats.json"])
    records = sum(1 for p in written if p.endswith(".tfrecord") for _ in read_records(p))
    assert records == stats["counts"]["instances"] > 100
