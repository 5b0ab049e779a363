"""Running the real ``albert-data`` entry point in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "albert-data"


def run_cli(*args, cwd=None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [str(BIN), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"albert-data {' '.join(map(str, args))} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def make_pretraining(sample: dict, out, *flags, check: bool = True) -> subprocess.CompletedProcess:
    """``albert-data make-pretraining`` on a session sample (``tests/conftest.py``) with
    its own vocabulary."""
    return run_cli(
        "make-pretraining",
        sample["sentences"],
        "-o",
        out,
        "--spm-model",
        sample["spm"],
        *flags,
        check=check,
    )


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The last non-empty stderr line; a user error is exactly one ``error: ...`` line."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines, "no error output"
    assert "Traceback" not in proc.stderr, proc.stderr
    return lines[-1]
