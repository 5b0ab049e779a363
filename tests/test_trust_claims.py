"""Claims on outputs, with real processes: a second run on an output meets the first
run's claim before any work and names it; a run on "another host" (a process in its
own UTS namespace, so with another host name, on the same file system as NFS would
share it) that dies leaves a claim that expires with its lease and is then taken over,
saying so; ``--take-over`` takes a live one, and the run that lost its claim publishes
nothing. The same claims on an object store (Beam ``FileSystems``, ``mem://``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from albert_data.errors import UserError
from albert_data.jobs.outputs import LEASE_ENV, Claim, claim_path
from tests.cli_helpers import BIN, error_line, run_cli

needs_unshare = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="a process with another host name needs root's unshare -u",
)

HOLDER = """
import sys, time
from albert_data.jobs.outputs import Claim
claim = Claim.acquire(sys.argv[1], directory=sys.argv[2] == "dir", command=sys.argv[3])
print("claimed", flush=True)
while claim.lost_to is None:
    time.sleep(0.1)
print("lost to", claim.lost_to, flush=True)
"""


def env(lease: float | None = None) -> dict:
    out = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    if lease is not None:
        out[LEASE_ENV] = str(lease)
    return out


def hold_on_host(host: str, output, kind: str, command: str, lease: float) -> subprocess.Popen:
    """A real process with host name ``host`` holding a claim on ``output``."""
    script = f"hostname {host} && exec {sys.executable} -c '{HOLDER}' \"$@\""
    proc = subprocess.Popen(
        ["unshare", "-u", "sh", "-c", script, "sh", str(output), kind, command],
        stdout=subprocess.PIPE,
        text=True,
        env=env(lease),
        start_new_session=True,
    )
    assert proc.stdout.readline().strip() == "claimed"
    return proc


def cli(*args, lease: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), *map(str, args)], capture_output=True, text=True, env=env(lease)
    )


def claimed_line(output, command: str, host: str, pid: int) -> str:
    return (
        f"error: {output} is claimed by the albert-data {command} run on host {host} "
        f"(process {pid}, started "
    )


def test_two_make_pretraining_runs_on_one_output(sample_en, tmp_path):
    """The second run (other --num-shards) stops before any work, naming the first; the
    first writes exactly what its stats.json lists."""
    out = tmp_path / "out"
    args = ["make-pretraining", sample_en["sentences"], "-o", out, "--spm-model"]
    args += [sample_en["spm"], "--max-seq-length", 128]
    first = subprocess.Popen(
        [str(BIN), *map(str, args), "--num-shards", "2", "--dupe-factor", "20"],
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    claim = out / ".albert-data-claim.json"
    while not claim.exists():
        assert first.poll() is None, first.stderr.read()
        time.sleep(0.05)
    second = cli(*args, "--num-shards", 3)
    assert second.returncode == 2
    line = error_line(second)
    assert line.startswith(claimed_line(out, "make-pretraining", socket.gethostname(), first.pid))
    assert "last heartbeat" in line and "--take-over" in line
    assert "documents" not in second.stderr  # no work was done
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    stats = json.loads((out / "stats.json").read_text())
    shards = sorted(p.name for p in out.glob("*.tfrecord"))
    assert shards == [f"pretraining-0000{i}-of-00002.tfrecord" for i in range(2)]
    assert sorted(os.path.basename(p) for p in stats["outputs"]) == shards
    assert sorted(p.name for p in out.iterdir()) == [*shards, "stats.json"]  # no claim left


@needs_unshare
def test_every_command_refuses_an_output_another_host_claims(sample_en, tmp_path):
    """A live run on another host holds each output: every command stops with one line
    naming it, and writes nothing."""
    outs = {
        "sample": (tmp_path / "raw.txt", "file"),
        "split-sentences": (tmp_path / "docs.txt", "file"),
        "spm-train": (tmp_path / "vocab" / "sp", "file"),
        "make-pretraining": (tmp_path / "records", "dir"),
        "train": (tmp_path / "model", "dir"),
    }
    calls = {
        "sample": ["sample", "-o", outs["sample"][0]],
        "split-sentences": ["split-sentences", sample_en["raw"], "-o", outs["split-sentences"][0]],
        "spm-train": ["spm-train", sample_en["sentences"], "--model-prefix", outs["spm-train"][0]],
        "make-pretraining": [
            "make-pretraining",
            sample_en["sentences"],
            "-o",
            outs["make-pretraining"][0],
            "--spm-model",
            sample_en["spm"],
        ],
        "train": ["train", "--records", tmp_path / "rec" / "*", "--model-dir", outs["train"][0]]
        + ["--preset", "tiny", "--max-seq-length", 128],
    }
    records = ["-o", tmp_path / "rec", "--spm-model", sample_en["spm"], "--max-seq-length", 128]
    run_cli("make-pretraining", sample_en["sentences"], *records, "--dupe-factor", 1)
    for command, (output, kind) in outs.items():
        holder = hold_on_host("host-a", output, kind, command, lease=60)
        try:
            proc = cli(*calls[command])
            assert proc.returncode == 2, (command, proc.stderr)
            line = error_line(proc)
            assert line.startswith(claimed_line(output, command, "host-a", _pid_of(holder))), line
            assert "wait" in line and "s for its claim to expire or pass --take-over" in line
        finally:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".albert"))
    assert written == ["model", "rec", "records", "vocab"]  # the holders' directories
    assert [p.name for p in (tmp_path / "model").iterdir()] == [".albert-data-claim.json"]


def _pid_of(holder: subprocess.Popen) -> int:
    # ``exec`` keeps the pid: the holder's Python is the process unshare started sh as
    return holder.pid


@needs_unshare
def test_a_dead_run_on_another_host_is_taken_over_when_its_lease_expires(sample_en, tmp_path):
    out = tmp_path / "docs.txt"
    lease = 3
    holder = hold_on_host("host-a", out, "file", "split-sentences", lease)
    try:
        time.sleep(lease + 1)  # longer than the lease: its heartbeat keeps the claim
        alive = cli("split-sentences", sample_en["raw"], "-o", out, lease=lease)
        assert alive.returncode == 2
        assert error_line(alive).startswith(
            claimed_line(out, "split-sentences", "host-a", holder.pid)
        )
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # host-a dies; this host cannot see its pid
        holder.wait()
    record = json.loads(open(claim_path(str(out), directory=False)).read())
    assert record["host"] == "host-a" and record["pid"] == holder.pid
    while time.time() - record["heartbeat"] <= lease:
        time.sleep(0.2)
    proc = cli("split-sentences", sample_en["raw"], "-o", out, "--no-progress", lease=lease)
    assert proc.returncode == 0, proc.stderr
    assert (
        f"taking over the claim on {out} of the albert-data split-sentences run on host host-a "
        f"(process {holder.pid}, started "
    ) in proc.stderr
    assert "no heartbeat for " in proc.stderr and f"(lease {lease} s)" in proc.stderr
    assert out.read_bytes() == sample_en["sentences"].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs.txt"]


@needs_unshare
def test_take_over_takes_a_live_claim_and_its_owner_learns_it(sample_en, tmp_path):
    out = tmp_path / "docs.txt"
    holder = hold_on_host("host-a", out, "file", "split-sentences", lease=60)
    try:
        proc = cli("split-sentences", sample_en["raw"], "-o", out, "--take-over", "--no-progress")
        assert proc.returncode == 0, proc.stderr
        assert (
            f"taking over the claim on {out} of the albert-data split-sentences run on host host-a"
        ) in proc.stderr
        assert ": --take-over given" in proc.stderr
        lost, _ = holder.communicate(timeout=60)  # its next heartbeat finds the claim gone
        assert lost.startswith("lost to another run (this run's claim file "), lost
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
    assert out.read_bytes() == sample_en["sentences"].read_bytes()


def test_a_run_whose_claim_is_taken_over_publishes_nothing(sample_en, tmp_path):
    """Run A is taken over by run B (--take-over) while it works: B's records are the
    output, A stops with one line saying so and publishes nothing."""
    out = tmp_path / "out"
    args = ["make-pretraining", sample_en["sentences"], "-o", out, "--spm-model"]
    args += [sample_en["spm"], "--max-seq-length", 128]
    first = subprocess.Popen(
        [str(BIN), *map(str, args), "--num-shards", "2", "--dupe-factor", "40"],
        stderr=subprocess.PIPE,
        text=True,
        env=env(lease=2),
        start_new_session=True,
    )
    while not any(p.is_dir() for p in out.glob(".albert-data-*")):
        assert first.poll() is None, first.stderr.read()
        time.sleep(0.05)
    second = cli(*args, "--num-shards", 1, "--dupe-factor", 1, "--take-over", lease=2)
    assert second.returncode == 0, second.stderr
    assert ": --take-over given" in second.stderr
    _, err = first.communicate(timeout=600)
    assert first.returncode == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith(
        f"error: {out}: this run's claim was taken over by the albert-data make-pretraining run"
    ), err
    assert "nothing was published" in lines[-1] and "Traceback" not in err
    stats = json.loads((out / "stats.json").read_text())
    assert stats["config"]["dupe_factor"] == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "pretraining-00000-of-00001.tfrecord",
        "stats.json",
    ]


def test_claims_on_an_object_store(monkeypatch):
    """Through Beam's FileSystems: refused while renewed, taken over once expired, the
    loser told at its next check, the file removed by its holder at the end."""
    from tests import memfs

    memfs.clear()
    monkeypatch.setenv(LEASE_ENV, "1")
    first = Claim.acquire("mem://bucket/out", directory=True, command="make-pretraining")
    assert first.path == "mem://bucket/out/.albert-data-claim.json"
    time.sleep(1.5)  # longer than the lease: the heartbeat renewed it
    with pytest.raises(UserError, match=r"mem://bucket/out is claimed by the albert-data make"):
        Claim.acquire("mem://bucket/out", directory=True, command="make-pretraining")
    first._stop.set()  # its process hangs: no more heartbeats
    first._thread.join()
    time.sleep(1.5)
    said = []
    second = Claim.acquire("mem://bucket/out", directory=True, command="train", say=said.append)
    assert said and said[0].startswith("taking over the claim on mem://bucket/out of the")
    assert "(lease 1 s)" in said[0]
    with pytest.raises(UserError, match=r"claim was taken over by the albert-data train run"):
        first.check_held()
    first.release()  # not its claim any more: left alone
    assert list(memfs.listing("mem://bucket/out/")) == [second.path]
    second.release()
    assert memfs.listing("mem://bucket/out/") == {}
