"""Without the [train] extra, train and export say which extra to install, in one line;
the data commands do not need it. TensorFlow is hidden from a real interpreter by an
import hook that finds no such module."""

from __future__ import annotations

import subprocess
import sys

HIDE_TF = """
import importlib.abc, sys
class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'keras'):
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, NoTensorFlow())
import importlib.util
_find = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split('.')[0] in ('tensorflow', 'keras') else _find(name, *a)
from albert_data.cli import main
sys.argv = ['albert-data', *sys.argv[1:]]
main()
"""


def run_without_tf(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", HIDE_TF, *map(str, args)], capture_output=True, text=True
    )


def test_train_and_export_name_the_extra(tmp_path):
    for command in (
        ["train", "--records", tmp_path, "--model-dir", tmp_path / "m"],
        ["export", "--model-dir", tmp_path / "m", "--output", tmp_path / "e"],
    ):
        proc = run_without_tf(*command)
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert lines == [
            f"error: {command[0]} needs tensorflow, which is not installed; install it with pip install 'albert-data[train]' (or make install)"
        ], proc.stderr


def test_data_commands_run_without_tensorflow(sample_en, tmp_path):
    proc = run_without_tf(
        "split-sentences", sample_en["raw"], "-o", tmp_path / "s.txt", "--no-progress"
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "s.txt").read_bytes() == sample_en["sentences"].read_bytes()
