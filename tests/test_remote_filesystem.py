"""The whole chain on a non-local file system: inputs and outputs on ``mem://`` (a real
Beam FileSystem registered by tests/memfs.py), the commands run in this process so the
in-memory runner's workers see it.

While a command runs, the local file calls (``os.path.exists``/``isfile``/``isdir``/
``getsize``, ``os.listdir``, ``os.stat``, ``open``...) refuse a ``mem://`` path: such a
call would silently see "no such file" on a real bucket, so here it fails the test
instead of a job."""

from __future__ import annotations

import builtins
import io
import json
import os
import shutil

import pytest
from click.testing import CliRunner

from albert_data.cli import main
from albert_data.files.tfrecord import read_records
from tests import memfs


def cli(*args) -> str:
    """The command's standard output (its progress lines go to stderr, and a slow
    machine prints some)."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def remote_records(remote_sample: str, spm_model, *extra) -> str:
    """make-pretraining from ``remote_sample``'s sentences.txt into its records/, one worker, seq 64."""
    return cli(
        "make-pretraining",
        f"{remote_sample}/sentences.txt",
        "-o",
        f"{remote_sample}/records",
        "--spm-model",
        spm_model,
        "--num-workers",
        1,
        "--max-seq-length",
        64,
        *extra,
    )


_LOCAL_CALLS = {
    os.path: ("exists", "isfile", "isdir", "getsize", "lexists"),
    os: ("listdir", "stat", "remove", "replace", "rename", "makedirs", "scandir", "open"),
    builtins: ("open",),
    io: ("open",),  # pathlib opens through io.open
    shutil: ("rmtree", "disk_usage"),
}


@pytest.fixture
def no_local_calls_on_remote_paths(monkeypatch):
    """Every local file call given a ``mem://`` path fails the test, naming the call."""

    def guard(module, name):
        real = getattr(module, name)

        def checked(path, *args, **kwargs):
            if str(path).startswith("mem:/"):
                raise AssertionError(f"{module.__name__}.{name}({path!r}) on a remote path")
            return real(path, *args, **kwargs)

        monkeypatch.setattr(module, name, checked)

    for module, names in _LOCAL_CALLS.items():
        for name in names:
            guard(module, name)


@pytest.fixture
def remote_sample(sample_en, no_local_calls_on_remote_paths):
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
    remote_records(
        remote_sample, sample_en["spm"], "--dupe-factor", 2, "--num-shards", 2, "--shuffle", shuffle
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


def _chain(root: str, raw: bytes) -> dict:
    """split-sentences → spm-train → make-pretraining → inspect under ``root`` (a local
    directory or a ``mem://`` prefix), every input and output there; returns what each
    step wrote, read back through Beam's FileSystems, and inspect's report."""
    from apache_beam.io.filesystems import FileSystems

    def read(path: str) -> bytes:
        with FileSystems.open(path) as fh:
            return fh.read()

    with FileSystems.create(f"{root}/raw/sample.txt") as fh:
        fh.write(raw)
    cli("split-sentences", f"{root}/raw/sample.txt", "-o", f"{root}/docs/docs.txt", "--no-progress")
    cli(
        "spm-train",
        f"{root}/docs/docs.txt",
        "--model-prefix",
        f"{root}/vocab/spm",
        "--vocab-size",
        800,
        "--no-hard-vocab-limit",
        "--num-threads",
        1,
        "--no-progress",
    )
    cli(
        "make-pretraining",
        f"{root}/docs/docs.txt",
        "-o",
        f"{root}/records",
        "--spm-model",
        f"{root}/vocab/spm.model",
        "--num-workers",
        1,
        "--max-seq-length",
        64,
        "--dupe-factor",
        2,
        "--num-shards",
        2,
        "--no-progress",
    )
    report = cli(
        "inspect", f"{root}/records", "--vocab", f"{root}/vocab/spm.model", "--json", "--show", 2
    )
    shards = [f"{root}/records/pretraining-0000{i}-of-00002.tfrecord" for i in range(2)]
    return {
        "docs": read(f"{root}/docs/docs.txt"),
        "model": read(f"{root}/vocab/spm.model"),
        "vocab": read(f"{root}/vocab/spm.vocab"),
        "sidecar": json.loads(read(f"{root}/vocab/spm.json")),
        "shards": [read(s) for s in shards],
        "stats": json.loads(read(f"{root}/records/stats.json").decode().replace(root, "ROOT")),
        "inspect": json.loads(report.replace(root, "ROOT")),
    }


def test_the_whole_chain_on_a_remote_file_system_equals_the_local_run(
    remote_sample, sample_en, tmp_path
):
    """The four commands with every input and output on ``mem://`` write the same bytes
    as the same commands on local paths (same seeds), and nothing else on either side."""
    raw = sample_en["raw"].read_bytes()
    remote = _chain(f"{remote_sample}/chain", raw)
    local = _chain(str(tmp_path / "chain"), raw)

    assert remote["docs"] == local["docs"] == sample_en["sentences"].read_bytes()
    assert remote["model"] == local["model"]
    assert remote["vocab"] == local["vocab"] and len(remote["vocab"].splitlines()) == 800
    for sidecar in (remote["sidecar"], local["sidecar"]):
        sidecar.pop("created")
        sidecar["sample"].pop("input_files")
    assert remote["sidecar"] == local["sidecar"]
    assert remote["shards"] == local["shards"] and all(remote["shards"])
    for key in ("counts", "config", "record_shape", "vocabulary", "inputs", "outputs"):
        assert remote["stats"][key] == local["stats"][key]
    assert remote["stats"]["vocabulary"]["path"] == "ROOT/vocab/spm.model"
    assert remote["inspect"] == local["inspect"]
    assert remote["inspect"]["valid"] and remote["inspect"]["invalid_records"] == 0
    assert sum(remote["inspect"]["files"].values()) == remote["stats"]["counts"]["instances"]
    names = sorted(
        p.removeprefix(f"{remote_sample}/chain/") for p in memfs.listing(f"{remote_sample}/chain/")
    )
    assert names == [
        "docs/docs.txt",
        "raw/sample.txt",
        "records/pretraining-00000-of-00002.tfrecord",
        "records/pretraining-00001-of-00002.tfrecord",
        "records/stats.json",
        "vocab/spm.json",
        "vocab/spm.model",
        "vocab/spm.vocab",
    ]


def test_inspect_reads_a_remote_vocabulary_by_its_bytes_and_names_a_missing_one(
    remote_sample, sample_en
):
    """A vocabulary whose name does not say ``.model`` is recognised by its first byte,
    read through Beam's FileSystems; a missing one is one line, exit 2."""
    memfs._FILES[f"{remote_sample}/sentences.txt"] = sample_en["sentences"].read_bytes()
    memfs._FILES[f"{remote_sample}/v/spm"] = sample_en["spm"].read_bytes()
    memfs._FILES[f"{remote_sample}/v/spm.json"] = sample_en["spm"].with_suffix(".json").read_bytes()
    remote_records(remote_sample, sample_en["spm"], "--num-shards", 1)
    report = json.loads(
        cli("inspect", f"{remote_sample}/records", "--vocab", f"{remote_sample}/v/spm", "--json")
    )
    assert report["valid"] and report["invalid_records"] == 0
    missing = CliRunner().invoke(
        main, ["inspect", f"{remote_sample}/records", "--vocab", f"{remote_sample}/v/none"]
    )
    assert missing.exit_code == 2
    assert (
        missing.output.strip()
        == f"error: --vocab {remote_sample}/v/none: no such file; check the path"
    )
