"""The shuffle of records into shards: both strategies give every shard its entries in
(key, data) order, the run-file strategy writes a number of intermediate files that does
not depend on the number of shards, and whole runs of both commands give byte-identical
outputs with either strategy and one or two workers."""

from __future__ import annotations

import json

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.shuffle import ShuffleToShards
from tests.cli_helpers import invoke, make_pretraining


def documents(seed: int, num_shards: int, count: int = 60) -> list[list[tuple[int, int, bytes]]]:
    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(count):
        entries = []
        for _ in range(int(rng.integers(0, 6))):
            key = int(rng.integers(0, 2**64, dtype=np.uint64))
            entries.append((key % num_shards, key, rng.bytes(int(rng.integers(0, 50)))))
        docs.append(entries)
    docs.append([(0, 5, b"same"), (0, 5, b"same")])  # equal entries both survive
    return docs


def expected(docs, num_shards: int) -> list[tuple[int, list]]:
    by_shard = {i: [] for i in range(num_shards)}
    for entries in docs:
        for shard, key, data in entries:
            by_shard[shard].append((key, data))
    return [(s, sorted(v)) for s, v in by_shard.items()]


@pytest.mark.parametrize("strategy", ["engine", "files"])
@pytest.mark.parametrize("num_shards", [1, 7])
def test_every_shard_gets_its_entries_in_key_order(tmp_path, strategy, num_shards):
    docs = documents(num_shards, num_shards)
    with TestPipeline() as p:
        shards = (
            p
            | beam.Create(docs)
            | ShuffleToShards(num_shards=num_shards, strategy=strategy, work_dir=str(tmp_path))
            | beam.MapTuple(lambda shard, entries: (shard, list(entries)))
        )
        assert_that(shards, equal_to(expected(docs, num_shards)))


def run_files(tmp_path, docs, num_shards: int, flush_bytes: int) -> int:
    """Run the files strategy; the number of run files it wrote."""
    work = tmp_path / f"w{num_shards}"
    shuffle = ShuffleToShards(
        num_shards=num_shards, strategy="files", work_dir=str(work), flush_bytes=flush_bytes
    )
    with TestPipeline() as p:
        (
            p
            | beam.Create(docs, reshuffle=False)
            | shuffle
            | beam.MapTuple(lambda shard, entries: (shard, sum(1 for _ in entries)))
        )
    return len(list((work / "runs").iterdir()))


def test_run_files_do_not_grow_with_the_number_of_shards(tmp_path):
    counts = {n: run_files(tmp_path, documents(3, n, count=400), n, 2000) for n in (4, 64, 1024)}
    assert counts[4] > 3  # several flushes really happened
    assert counts[4] == counts[64] == counts[1024], counts


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="not one of"):
        ShuffleToShards(num_shards=2, strategy="sideways")


def shard_bytes(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if ".tfrecord" in p.name}


def test_make_pretraining_bytes_do_not_depend_on_strategy_or_workers(sample_en, tmp_path):
    outputs = {}
    for strategy in ("files", "engine"):
        for workers in (1, 2):
            out = tmp_path / f"{strategy}-{workers}"
            make_pretraining(
                sample_en,
                out,
                "--max-seq-length",
                64,
                "--dupe-factor",
                2,
                "--num-shards",
                3,
                "--shuffle",
                strategy,
                "--num-workers",
                workers,
                "--range-bytes",
                20000,
            )
            stats = json.loads((out / "stats.json").read_text())
            assert stats["shuffle"] == strategy
            counts = stats["counts"]
            files = stats["shuffle_intermediate"]["files"]
            assert (files > 0) == (strategy == "files")
            outputs[(strategy, workers)] = (shard_bytes(out), counts)
    first = outputs[("files", 1)]
    assert len(first[0]) == 3 and all(first[0].values())
    for key, value in outputs.items():
        assert value[0] == first[0], key
        assert value[1] == first[1], key


def test_split_sentences_bytes_do_not_depend_on_strategy(sample_en, tmp_path):
    local = tmp_path / "local" / "docs.txt"
    invoke("split-sentences", sample_en["raw"], "-o", local, "--num-shards", 3, "--no-progress")
    expected_files = {p.name: p.read_bytes() for p in local.parent.iterdir()}
    for strategy in ("files", "engine"):
        out = tmp_path / strategy / "docs.txt"
        invoke(
            "split-sentences",
            sample_en["raw"],
            "-o",
            out,
            "--num-shards",
            3,
            "--runner",
            "DirectRunner",
            "--num-workers",
            2,
            "--range-bytes",
            9000,
            "--shuffle",
            strategy,
        )
        got = {p.name: p.read_bytes() for p in out.parent.iterdir()}
        assert got == expected_files, strategy
    assert len(expected_files) == 3


def test_files_strategy_with_a_forced_small_fan_in_merges_in_passes(tmp_path, monkeypatch):
    """Many run files per shard and a merge fan-in of 2: every shard still gets exactly
    its entries in order (the multi-pass merge inside the pipeline), and every merged
    part is gone afterwards."""
    from albert_data.files import partfiles

    monkeypatch.setattr(partfiles, "MERGE_FAN_IN", 2)
    docs = documents(5, 3, count=400)
    work = tmp_path / "work"
    shuffle = ShuffleToShards(num_shards=3, strategy="files", work_dir=str(work), flush_bytes=2000)
    with TestPipeline() as p:
        shards = (
            p
            | beam.Create(docs, reshuffle=False)
            | shuffle
            | beam.MapTuple(lambda shard, entries: (shard, list(entries)))
        )
        assert_that(shards, equal_to(expected(docs, 3)))
    runs = sorted(p.name for p in (work / "runs").iterdir())
    assert len(runs) > 4 and all(name.startswith("run-") for name in runs), runs
