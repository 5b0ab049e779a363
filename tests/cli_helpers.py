"""Running ``albert-data``: :func:`run_cli` starts the real entry point in a subprocess,
as a user would; :func:`invoke` runs the same Click group in this process, with the
same arguments, exit code, stdout and stderr (file descriptors 1 and 2 included, where
Beam's console and native code write), for the many tests where a new process proves
nothing more than the command's behaviour and would only add an interpreter start and
Beam's or TensorFlow's imports."""

from __future__ import annotations

import contextlib
import gc
import io
import os
import subprocess
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

BIN = Path(sys.executable).parent / "albert-data"
ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def _checked(proc: subprocess.CompletedProcess, check: bool) -> subprocess.CompletedProcess:
    if check and proc.returncode != 0:
        raise AssertionError(
            f"albert-data {' '.join(proc.args[1:])} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def run_cli(*args, cwd=None, check: bool = True) -> subprocess.CompletedProcess:
    """``albert-data ARGS`` in a new process (the true end-to-end path)."""
    proc = subprocess.run(
        [str(BIN), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
    )
    proc.args = ["albert-data", *map(str, args)]
    return _checked(proc, check)


@contextlib.contextmanager
def _captured_fds():
    """Point fds 1 and 2, and ``sys.stdout``/``sys.stderr`` over them, at two files for
    the block; yields a function reading (stdout, stderr) once the block is over."""
    files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    saved_streams = sys.stdout, sys.stderr
    for stream in saved_streams:
        stream.flush()
    saved_fds = [os.dup(1), os.dup(2)]
    texts: list[str] = []
    try:
        for fd, file in zip((1, 2), files, strict=True):
            os.dup2(file.fileno(), fd)
        sys.stdout, sys.stderr = (
            io.TextIOWrapper(
                io.FileIO(fd, "w", closefd=False),
                encoding="utf-8",
                errors="replace",
                line_buffering=True,
                write_through=True,
            )
            for fd in (1, 2)
        )
        yield texts
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = saved_streams
        for fd, saved in zip((1, 2), saved_fds, strict=True):
            os.dup2(saved, fd)
            os.close(saved)
        for file in files:
            file.seek(0)
            texts.append(file.read().decode("utf-8", errors="replace"))
            file.close()


def invoke(*args, cwd=None, check: bool = True) -> subprocess.CompletedProcess:
    """``albert-data ARGS`` through the real Click group in this process: what
    :func:`run_cli` returns, without a new interpreter. An exception that escapes the
    command is printed as the interpreter would (a traceback, exit 1), so tests that
    check for "no traceback" still see one."""
    from albert_data.cli import main

    argv = [str(a) for a in args]
    saved_env, saved_argv = dict(os.environ), sys.argv
    os.environ.update(ENV)
    sys.argv = ["albert-data", *argv]
    code = 0
    try:
        with (
            _captured_fds() as texts,
            warnings.catch_warnings(),
            contextlib.chdir(cwd or os.getcwd()),
        ):
            warnings.simplefilter("ignore")
            try:
                main.main(args=argv, prog_name="albert-data", standalone_mode=True)
            except SystemExit as done:
                if done.code is None or isinstance(done.code, int):
                    code = done.code or 0
                else:
                    print(done.code, file=sys.stderr)
                    code = 1
            except BaseException:  # what the interpreter prints for an uncaught error
                traceback.print_exc(file=sys.stderr)
                code = 1
    finally:
        gc.unfreeze()  # the CLI freezes the heap as its process ends; this one goes on
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
    proc = subprocess.CompletedProcess(["albert-data", *argv], code, texts[0], texts[1])
    return _checked(proc, check)


def make_pretraining(
    sample: dict, out, *flags, check: bool = True, run=invoke
) -> subprocess.CompletedProcess:
    """``albert-data make-pretraining`` on a session sample (``tests/conftest.py``) with
    its own vocabulary (in this process unless ``run=run_cli``)."""
    return run(
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
