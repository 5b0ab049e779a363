"""Unwritable outputs and full disks: refused before the work starts where they can be,
otherwise one line naming the file, exit 2, nothing partial left.

The faults are real: a read-only tmpfs and a tiny full tmpfs (root can mount them; root
ignores mode bits, so ``chmod`` would prove nothing), a path under a regular file (which
fails even for root), and a file-size limit (``RLIMIT_FSIZE``, which needs no root).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from albert_data.errors import UserError
from albert_data.files.fileio import check_writable, describe_os_error, public_name, temp_name
from tests.cli_helpers import BIN, invoke
from tests.vocab_corpus import english_sentences, write_lines

EN = english_sentences(800, seed=11)


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.fixture
def read_only(tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=64k") as path:
        yield path


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KB tmpfs filled to the last byte (a probe file still fits: it is empty)."""
    with tmpfs(tmp_path / "full", "size=256k") as path:
        with open(path / "filler", "wb", buffering=0) as fh:
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * 4096)
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0")
        assert os.statvfs(path).f_bavail == 0
        yield path


def _error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("error: ")] == [lines[-1]], proc.stderr
    return lines[-1]


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --- check_writable ---------------------------------------------------------------------


def test_check_writable_accepts_a_new_nested_path_and_leaves_no_probe(tmp_path):
    check_writable(str(tmp_path / "a" / "b" / "out.txt"), what="--output")
    check_writable(str(tmp_path / "new-dir"), what="--output", directory=True)
    assert _entries(tmp_path) == []


def test_check_writable_refuses_a_read_only_file_system(read_only):
    with pytest.raises(UserError) as caught:
        check_writable(str(read_only / "sub" / "out.txt"), what="--output")
    message = str(caught.value)
    assert message.startswith(f"--output {read_only}/sub/out.txt: cannot write in {read_only}")
    assert "read-only file system" in message and "writable file system" in message


def test_check_writable_refuses_a_path_under_a_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(UserError, match=r"plain is a file, not a directory; choose a path"):
        check_writable(str(tmp_path / "plain" / "sub" / "out.txt"), what="--output")
    with pytest.raises(UserError, match=r"--output .*plain is a file; give a directory"):
        check_writable(str(tmp_path / "plain"), what="--output", directory=True)
    with pytest.raises(UserError, match=r"is a directory; give a file path"):
        check_writable(str(tmp_path), what="--output")


def test_describe_os_error_names_the_final_file_not_the_temporary_one(tmp_path):
    final = str(tmp_path / "out.txt")
    assert public_name(temp_name(final)) == final
    full = OSError(28, "No space left on device", temp_name(final))
    assert describe_os_error(full).startswith(f"no space left on device writing {final} (")
    assert describe_os_error(full).endswith("free space and re-run")
    big = OSError(27, "File too large", final)
    assert describe_os_error(big).startswith(f"file too large writing {final}")
    denied = OSError(13, "Permission denied", final)
    assert describe_os_error(denied).startswith(f"cannot open {final} (permission denied)")
    assert describe_os_error(OSError(5, "Input/output error", final)) is None
    run_file = f"{tmp_path}/rec/.albert-data-make-pretraining-0123456789ab/runs/run-1.part"
    scratch = describe_os_error(OSError(28, "No space left on device", run_file))
    assert scratch.startswith(
        f"no space left on device writing the run's scratch files in {tmp_path}/rec/ ("
    )
    cut = OSError(28, "No space left on device", run_file)
    cut.bytes_written = 1234567
    assert "(the run had written 1,234,567 bytes there; " in describe_os_error(cut)
    assert " bytes free there now): free space and re-run" in describe_os_error(cut)


# --- spm-train: checked before the work -------------------------------------------------


def test_spm_train_refuses_a_read_only_prefix_before_reading(tmp_path, read_only):
    corpus = write_lines(tmp_path / "en.txt", EN)
    proc = invoke("spm-train", corpus, "--model-prefix", read_only / "v" / "m", check=False)
    line = _error_line(proc)
    assert line.startswith(f"error: --model-prefix {read_only}/v/m.model: cannot write in")
    assert "read-only file system" in line
    assert "reading" not in proc.stderr and "training" not in proc.stderr  # before any work


def test_spm_train_refuses_a_prefix_under_a_file(tmp_path):
    corpus = write_lines(tmp_path / "en.txt", EN)
    proc = invoke("spm-train", corpus, "--model-prefix", f"{corpus}/m", check=False)
    assert _error_line(proc) == (
        f"error: --model-prefix {corpus}/m.model: {corpus} is a file, not a directory;"
        " choose a path outside it"
    )


@pytest.mark.parametrize("prefix", ["out/", "out"])
def test_spm_train_refuses_a_prefix_naming_a_directory(tmp_path, prefix):
    corpus = write_lines(tmp_path / "en.txt", EN)
    (tmp_path / "out").mkdir()
    proc = invoke("spm-train", corpus, "--model-prefix", prefix, cwd=tmp_path, check=False)
    line = _error_line(proc)
    assert line.startswith(f"error: --model-prefix '{prefix}' names a directory")
    assert "--model-prefix out/spm" in line
    assert _entries(tmp_path / "out") == []


# --- full disks -------------------------------------------------------------------------


def test_spm_train_on_a_full_disk(tmp_path, full_disk):
    corpus = write_lines(tmp_path / "en.txt", EN)
    prefix = full_disk / "m"
    proc = invoke("spm-train", corpus, "--model-prefix", prefix, "--vocab-size", "300", check=False)
    assert _error_line(proc) == (
        f"error: no space left on device writing {prefix}.model (0 bytes free there):"
        " free space and re-run"
    )
    # the claim on the prefix, the first thing written, met the full disk: no training
    assert "SentencePiece trained in" not in proc.stderr
    assert _entries(full_disk) == ["filler"]


def test_split_sentences_on_a_full_disk(tmp_path, full_disk):
    raw = write_lines(tmp_path / "raw.txt", EN)
    out = full_disk / "sentences.txt"
    proc = invoke("split-sentences", raw, "-o", out, "--no-progress", check=False)
    line = _error_line(proc)
    assert line.startswith(f"error: no space left on device writing {out} (")
    assert line.endswith("free space and re-run")
    assert _entries(full_disk) == ["filler"]


@pytest.mark.parametrize("command", ["make-pretraining", "split-sentences --runner"])
def test_a_full_disk_before_the_work_directory_exists(tmp_path, sample_en, full_disk, command):
    """The work directory's owner file does not fit: one line, and not even the output
    directory the run was about to use is left (it left an empty one)."""
    if command == "make-pretraining":
        args = ["make-pretraining", sample_en["sentences"], "-o", full_disk / "rec"]
        args += ["--spm-model", sample_en["spm"], "--max-seq-length", 64, "--num-shards", 1]
    else:
        args = ["split-sentences", sample_en["raw"], "-o", full_disk / "s" / "docs.txt"]
        args += ["--runner", "DirectRunner"]
    line = _error_line(invoke(*args, check=False))
    assert line.startswith("error: no space left on device writing ") and "(0 bytes free" in line
    assert _entries(full_disk) == ["filler"]


def test_split_sentences_into_a_read_only_file_system(tmp_path, read_only):
    raw = write_lines(tmp_path / "raw.txt", EN[:50])
    out = read_only / "sentences.txt"
    proc = invoke("split-sentences", raw, "-o", out, "--no-progress", check=False)
    line = _error_line(proc)  # refused by the up-front check, before any reading
    assert (
        line.startswith(f"error: --output {out}: cannot write in ")
        and "(read-only file system)" in line
    )
    assert _entries(read_only) == []


# Sets the file-size limit, then becomes the command (exec): write() then fails with
# EFBIG as SIGXFSZ is ignored, and both settings are inherited. A small interpreter does
# this rather than ``preexec_fn``, which would run Python in a fork of the test worker
# (many threads, at-fork hooks of the libraries it imported: not safe).
_LIMITED = (
    "import os, resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
    "limit = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


def _limit_file_size(limit: int) -> list[str]:
    """The start of a command line that runs the rest under a file-size limit."""
    return [sys.executable, "-c", _LIMITED, str(limit)]


@pytest.mark.parametrize("command", ["split-sentences", "spm-train"])
def test_file_size_limit(tmp_path, command):
    """EFBIG, the fault any user can provoke: one line, nothing partial left."""
    corpus = write_lines(tmp_path / "in.txt", EN)
    out_dir = tmp_path / "out"
    if command == "split-sentences":
        args, named = ["-o", out_dir / "s.txt", "--no-progress"], out_dir / "s.txt"
    else:
        args, named = ["--model-prefix", out_dir / "m", "--vocab-size", "300"], f"{out_dir}/m.model"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [*_limit_file_size(2048), str(BIN), command, corpus, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
    )
    line = _error_line(proc)
    assert line.startswith(f"error: file too large writing {named} (a file-size limit")
    assert _entries(out_dir) == []


# --- full disks and file-size limits inside Beam workers --------------------------------


def _worker_run(command: str, out: Path, sample: dict) -> tuple[list, Path]:
    """(arguments, output directory) of a two-worker Beam run of ``command`` on the
    bundled sample, writing into ``out``."""
    if command == "make-pretraining":
        args = ["make-pretraining", sample["sentences"], "-o", out / "rec"]
        args += ["--spm-model", sample["spm"], "--max-seq-length", 64, "--dupe-factor", 4]
        return [*args, "--num-workers", 2, "--num-shards", 2], out / "rec"
    args = ["split-sentences", sample["raw"], "-o", out / "s" / "docs.txt"]
    args += ["--runner", "DirectRunner", "--range-bytes", 20000]
    return [*args, "--num-workers", 2, "--num-shards", 2], out / "s"


def _run_with(args, tmp_path: Path, prefix=()) -> subprocess.CompletedProcess:
    """Run the CLI with its own TMPDIR, which must be empty again afterwards (no Beam
    log, no temporary directory left behind)."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": str(tmp)}
    proc = subprocess.run(
        [*prefix, str(BIN), *map(str, args)], capture_output=True, text=True, env=env
    )
    assert _entries(tmp) == [], proc.stderr
    return proc


@pytest.mark.parametrize("command", ["make-pretraining", "split-sentences"])
def test_a_disk_that_fills_inside_a_beam_worker(tmp_path, sample_en, command):
    """A 64 KB tmpfs: the up-front checks pass (the output is writable), then a worker
    runs out of space writing run files or shards. One line naming the output directory,
    exit 2, nothing left: no work directory, no empty output directory, no Beam log."""
    with tmpfs(tmp_path / "small", "size=64k") as disk:
        args, out = _worker_run(command, disk, sample_en)
        proc = _run_with(args, tmp_path)
        line = _error_line(proc)
        assert re.match(
            rf"error: no space left on device writing (the run's scratch files in )?{re.escape(str(out))}/",
            line,
        ), line
        assert re.search(
            r"\(the run had written [\d,]+ bytes there; [\d,]+ bytes free there now\)", line
        )
        assert line.endswith(": free space and re-run")
        assert _entries(disk) == []


@pytest.mark.parametrize("command", ["make-pretraining", "split-sentences"])
def test_a_file_size_limit_met_inside_a_beam_worker(tmp_path, sample_en, command):
    """RLIMIT_FSIZE is inherited by the runner's worker processes: EFBIG there is one
    line, exit 2, and the output directory the run created is gone."""
    args, out = _worker_run(command, tmp_path / "out", sample_en)
    proc = _run_with(args, tmp_path, prefix=_limit_file_size(16384))
    line = _error_line(proc)
    assert re.match(
        rf"error: file too large writing (the run's scratch files in )?{re.escape(str(out))}/",
        line,
    ), line
    assert "(a file-size limit such as ulimit -f): raise the limit" in line
    assert not (tmp_path / "out").exists()


def test_export_onto_a_disk_that_fills(tiny_trained, tmp_path):
    """TensorFlow's SavedModel writer fails with its own OpError, not an OSError: still
    one line naming the file under --output, exit 2, no staging directory left."""
    with tmpfs(tmp_path / "small", "size=200k") as disk:
        out = disk / "exp"
        proc = invoke("export", "--model-dir", tiny_trained, "--output", out, check=False)
        line = _error_line(proc)
        assert line.startswith(
            f"error: --output {out}: cannot write the export ({out}/saved_model/"
        )
        assert line.endswith(": no space left on device); free space or choose another directory")
        assert _entries(disk) == []


def test_tensorflow_write_errors_are_read_for_the_file_and_the_reason():
    from albert_data.jobs.export import _op_error_parts

    assert _op_error_parts(
        "{{function_node __wrapped__SaveV2_dtypes_51_device_/job:localhost/replica:0/task:0/"
        "device:CPU:0}} /o/.st/saved_model/variables/part-0.tempstate29: No space left on"
        " device [Op:SaveV2]"
    ) == ("/o/.st/saved_model/variables/part-0.tempstate29", "no space left on device")
    assert _op_error_parts(
        "/o/.st/saved_model/saved_model.pb.tmpb84b; No space left on device"
    ) == (
        "/o/.st/saved_model/saved_model.pb.tmpb84b",
        "no space left on device",
    )


def test_sample_names_its_output_and_leaves_nothing(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [*_limit_file_size(4096), str(BIN), "sample", "-o", str(out_dir / "raw.txt")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert _error_line(proc).startswith(f"error: file too large writing {out_dir}/raw.txt (")
    assert _entries(out_dir) == []
    (tmp_path / "plain").write_text("x")
    under = invoke("sample", "-o", tmp_path / "plain" / "x.txt", check=False)
    assert _error_line(under) == (
        f"error: -o {tmp_path}/plain/x.txt: {tmp_path}/plain is a file, not a directory;"
        " choose a path outside it"
    )


def test_a_worker_os_error_is_read_back_from_the_runner_text():
    """All a runner hands back is the worker's traceback as text: the OSError is rebuilt
    from it (the last one naming a file wins), and nothing else is taken for one."""
    from pipelines.errors import os_error_in

    text = (
        "Traceback (most recent call last):\n  ...\nOSError: [Errno 28] No space left on device\n\n"
        "During handling of the above exception, another exception occurred:\n"
        "RuntimeError: OSError: [Errno 28] No space left on device: 'out/.albert-data-"
        "make-pretraining-0123456789ab/runs/run-1.part' [while running 'MakePretraining/Shuffle']"
    )
    err = os_error_in(text, {28, 27})
    assert (err.errno, err.strerror) == (28, "No space left on device")
    assert err.filename == "out/.albert-data-make-pretraining-0123456789ab/runs/run-1.part"
    assert os_error_in(text, {27}) is None
    assert os_error_in("ValueError: [Errno 28] is not how this reads", {28}) is None
