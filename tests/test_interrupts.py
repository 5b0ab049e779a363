"""Interruptions: Ctrl-C during make-pretraining is one line and exit 130 with nothing
left; a run killed with SIGKILL leaves a work directory that the next run recognises
as dead, removes (saying so) and replaces with the same bytes an uninterrupted run
writes; a live run's work directory is never taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

from tests.cli_helpers import BIN, error_line, run_cli


def start(sample, out, *extra) -> subprocess.Popen:
    args = [
        str(BIN),
        "make-pretraining",
        str(sample["sentences"]),
        "-o",
        str(out),
        "--spm-model",
        str(sample["spm"]),
        "--dupe-factor",
        20,
        "--max-seq-length",
        128,
        *extra,
    ]
    # A temporary directory of the test's own: a run killed with SIGKILL cannot remove
    # its files there, and they must not pile up in the machine's.
    tmpdir = out.parent / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    env["TMPDIR"] = str(tmpdir)
    return subprocess.Popen(
        [str(a) for a in args], stderr=subprocess.PIPE, text=True, start_new_session=True, env=env
    )


def wait_for_workers(out, proc, deadline_s: float = 240) -> None:
    """Until the pipeline's workers are running (its progress directory exists)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if any(
            d.name.startswith(".albert-data-") and (d / "progress").exists() for d in out.glob(".*")
        ):
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the pipeline never started")


def test_ctrl_c_is_one_line_exit_130_and_leaves_nothing(sample_en, tmp_path):
    out = tmp_path / "out"
    proc = start(sample_en, out)
    wait_for_workers(out, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert [line for line in err.splitlines() if line.strip()] == ["interrupted"], err
    assert not out.exists()  # not even the output directory the run created


def test_killed_run_leftovers_are_removed_and_the_rerun_is_identical(sample_en, tmp_path):
    out = tmp_path / "out"
    proc = start(sample_en, out)
    wait_for_workers(out, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    (leftover,) = [p for p in out.iterdir() if p.name.startswith(".albert-data-") and p.is_dir()]
    assert (out / ".albert-data-claim.json").exists()  # the killed run's claim
    rerun = start(sample_en, out)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert f"taking over the claim on {out} of the albert-data make-pretraining run on host" in err
    assert f"process {proc.pid} is gone" in err
    assert f"removed the leftovers of an interrupted run: {leftover}" in err
    clean = tmp_path / "clean"
    fresh = start(sample_en, clean)
    assert fresh.wait(timeout=600) == 0
    names = sorted(p.name for p in out.iterdir())
    assert (
        names
        == sorted(p.name for p in clean.iterdir())
        == [
            "pretraining-00000-of-00001.tfrecord",
            "stats.json",
        ]
    )
    assert (out / names[0]).read_bytes() == (clean / names[0]).read_bytes()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def fake_work_dir(parent, name: str, pid: int):
    work = parent / name
    work.mkdir(parents=True)
    (work / "owner.json").write_text(
        json.dumps({"pid": pid, "host": socket.gethostname(), "start": None})
    )
    (work / "docs.txt").write_text("half a shard")
    return work


def test_split_sentences_removes_a_dead_runs_leftovers(sample_en, tmp_path):
    out = tmp_path / "split" / "docs.txt"
    work = fake_work_dir(out.parent, ".albert-data-split-0123456789ab", dead_pid())
    proc = run_cli("split-sentences", sample_en["raw"], "-o", out, "--no-progress")
    assert f"removed the leftovers of an interrupted run: {work}" in proc.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["docs.txt"]
    assert out.read_bytes() == sample_en["sentences"].read_bytes()


def test_a_live_runs_work_directory_is_not_taken_over(sample_en, tmp_path):
    out = tmp_path / "split" / "docs.txt"
    work = fake_work_dir(out.parent, ".albert-data-split-0123456789ab", os.getpid())
    proc = run_cli("split-sentences", sample_en["raw"], "-o", out, "--no-progress", check=False)
    assert proc.returncode == 2
    assert "another albert-data run is writing to" in error_line(proc)
    assert work.exists() and not out.exists()
