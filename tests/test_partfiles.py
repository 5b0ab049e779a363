"""The file-based shuffle: sorted parts merged back in key order, in one or many passes."""

from __future__ import annotations

import numpy as np
import pytest

from albert_data.files import partfiles


@pytest.mark.parametrize("fan_in", [2, 3, 64])
def test_merge_of_many_parts_is_sorted_and_complete(tmp_path, monkeypatch, fan_in):
    monkeypatch.setattr(partfiles, "MERGE_FAN_IN", fan_in)
    rng = np.random.default_rng(fan_in)
    expected = []
    paths = []
    for i in range(11):
        items = sorted(
            (int(k), rng.bytes(int(rng.integers(0, 40))))
            for k in rng.integers(0, 1000, size=int(rng.integers(0, 30)))
        )
        expected.extend(items)
        path = str(tmp_path / f"p{i}.part")
        assert partfiles.write_part(path, items) == len(items)
        paths.append(path)
    got = list(partfiles.merged(paths, scratch_dir=str(tmp_path)))
    assert got == sorted(expected)
    # Intermediate merge passes leave nothing behind; the inputs are the caller's to delete.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"p{i}.part" for i in range(11))


def test_truncated_part_is_an_error(tmp_path):
    path = tmp_path / "p.part"
    partfiles.write_part(str(path), [(1, b"abcdef")])
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ValueError, match="truncated"):
        list(partfiles.read_part(str(path)))


@pytest.mark.parametrize("run_bytes", [1, 500, 10**9])
def test_external_sort_spills_runs_and_cleans_up(tmp_path, monkeypatch, run_bytes):
    monkeypatch.setattr(partfiles, "MERGE_FAN_IN", 4)
    rng = np.random.default_rng(run_bytes)
    items = [(int(k), rng.bytes(int(rng.integers(0, 20)))) for k in rng.integers(0, 50, 300)]
    spilled = []
    real_spill = partfiles._spill
    monkeypatch.setattr(partfiles, "_spill", lambda b, d: spilled.append(1) or real_spill(b, d))
    got = list(partfiles.external_sort(iter(items), scratch_dir=str(tmp_path), run_bytes=run_bytes))
    assert got == sorted(items)
    assert (len(spilled) > 10) == (run_bytes < 1000)  # tiny runs spill, a big one never does
    assert list(tmp_path.iterdir()) == []


def test_external_sort_deletes_runs_when_abandoned(tmp_path):
    items = [(k, b"x" * 10) for k in range(100, 0, -1)]
    it = partfiles.external_sort(iter(items), scratch_dir=str(tmp_path), run_bytes=200)
    assert next(it) == (1, b"x" * 10)
    assert list(tmp_path.iterdir())
    it.close()
    assert list(tmp_path.iterdir()) == []


def _runs(tmp_path, rng, *, runs: int, shards: int):
    """``runs`` run files of random (shard, key, data) entries; their segments by shard
    and every shard's expected (key, data) entries."""
    segments: dict[int, list] = {s: [] for s in range(shards)}
    expected: dict[int, list] = {s: [] for s in range(shards)}
    for r in range(runs):
        entries = [
            (int(rng.integers(0, shards)), int(rng.integers(0, 500)), rng.bytes(int(n)))
            for n in rng.integers(0, 30, size=int(rng.integers(20, 60)))
        ]
        for shard, key, data in entries:
            expected[shard].append((key, data))
        for shard, segment in partfiles.write_run(str(tmp_path / f"run-{r}.part"), entries).items():
            segments[shard].append(segment)
    return segments, {s: sorted(e) for s, e in expected.items()}


@pytest.fixture
def open_sources(monkeypatch):
    """The number of part readers open now and the most ever open at once."""
    state = {"now": 0, "most": 0}
    real = partfiles.read_part

    def counted(*args, **kwargs):
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        try:
            yield from real(*args, **kwargs)
        finally:
            state["now"] -= 1

    monkeypatch.setattr(partfiles, "read_part", counted)
    return state


@pytest.mark.parametrize("fan_in", [2, 3, 5])
def test_segment_merge_past_the_fan_in_is_multi_pass_and_bounded(
    tmp_path, monkeypatch, open_sources, fan_in
):
    """A shard's segments from 23 run files, merged with a small forced fan-in: the
    entries come out complete and in order, no pass ever has more than ``fan_in``
    readers open, the intermediate parts really are written, then all deleted."""
    monkeypatch.setattr(partfiles, "MERGE_FAN_IN", fan_in)
    segments, expected = _runs(tmp_path, np.random.default_rng(fan_in), runs=23, shards=3)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for shard in range(3):
        assert len(segments[shard]) > fan_in
        it = partfiles.merged_segments(segments[shard], scratch_dir=str(scratch))
        first = next(it)
        assert any(scratch.iterdir())  # earlier passes wrote merged parts
        assert [first, *it] == expected[shard]
        assert list(scratch.iterdir()) == []
    assert open_sources["most"] == fan_in and open_sources["now"] == 0


@pytest.mark.parametrize("cut", [0, 8])  # run 0 fails the first pass, run 8 the last
def test_segment_merge_cleans_up_when_stopped_or_failing(tmp_path, monkeypatch, cut):
    monkeypatch.setattr(partfiles, "MERGE_FAN_IN", 2)
    segments, expected = _runs(tmp_path, np.random.default_rng(7), runs=9, shards=1)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    it = partfiles.merged_segments(segments[0], scratch_dir=str(scratch))
    assert next(it) == expected[0][0]
    it.close()  # the caller stops early
    assert list(scratch.iterdir()) == []
    broken = tmp_path / f"run-{cut}.part"
    broken.write_bytes(broken.read_bytes()[:-3])  # a run file cut short
    with pytest.raises(ValueError, match="truncated part file"):
        list(partfiles.merged_segments(segments[0], scratch_dir=str(scratch)))
    assert list(scratch.iterdir()) == []


def test_remote_sources_get_the_smaller_fan_in():
    assert partfiles.merge_fan_in(["/tmp/a.part", "/tmp/b.part"]) == partfiles.MERGE_FAN_IN
    assert partfiles.merge_fan_in(["/tmp/a.part", "gs://b/a.part"]) == partfiles.REMOTE_MERGE_FAN_IN
    assert partfiles.REMOTE_MERGE_FAN_IN * 16 * 2**20 <= 128 * 2**20  # GCS: 16 MB per reader
