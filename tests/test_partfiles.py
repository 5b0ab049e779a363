"""The file-based shuffle: sorted parts merged back in key order, in one or many passes."""

from __future__ import annotations

import numpy as np
import pytest

from albert_data import partfiles


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
