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
