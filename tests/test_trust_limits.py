"""The machine's limits, set with the real prlimit: a local split into 300 shards under
ulimit -n 128 works (and writes the bytes an unlimited run writes); running out of
open files, of address space or of threads is one line naming the limit, and leaves
nothing behind. The default number of workers follows the processors a run may use
(its CPU affinity, set with the real taskset, and its cgroup's CPU quota), not the
host's count."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from albert_data import limits
from tests.cli_helpers import BIN, error_line, run_cli

NOBODY = 65534


def limited(*limit: str, user: int | None = None):
    prefix = ["prlimit", *limit]
    if user is not None:
        # The limit first, then the user: setpriv keeps root's view while it execs the
        # command, so an interpreter under a directory only root may enter (a pyenv in
        # /root) still starts; prlimit run as that user could not exec it.
        prefix = [*prefix, "setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]

    def run(*args) -> subprocess.CompletedProcess:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
        return subprocess.run(
            [*prefix, str(BIN), *map(str, args)], capture_output=True, text=True, env=env
        )

    return run


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_300_shards_under_ulimit_n_128(sample_en, tmp_path, gzip):
    extra = ["--num-shards", 300, "--no-progress"] + (["--gzip"] if gzip else [])
    proc = limited("--nofile=128")(
        "split-sentences", sample_en["raw"], "-o", tmp_path / "a" / "d.txt", *extra
    )
    assert proc.returncode == 0, proc.stderr
    run_cli("split-sentences", sample_en["raw"], "-o", tmp_path / "b" / "d.txt", *extra)
    a, b = (sorted((tmp_path / d).iterdir()) for d in "ab")
    assert len(a) == 300 and [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b))


def test_too_few_open_files_is_one_line(sample_en, tmp_path):
    out = tmp_path / "s" / "d.txt"
    args = ["split-sentences", sample_en["raw"], "-o", out, "--no-progress", "--num-shards", 3]
    proc = limited("--nofile=6")(*args)
    assert proc.returncode == 2
    assert error_line(proc) == (
        "error: too many open files: the limit on open files (ulimit -n) is 6; raise it "
        "(e.g. ulimit -n 4096) and re-run"
    )
    assert not out.parent.exists()


def test_out_of_address_space_is_one_line(sample_en, tmp_path):
    out = tmp_path / "rec"
    proc = limited(f"--as={350 * 2**20}")(
        "make-pretraining",
        sample_en["sentences"],
        "-o",
        out,
        "--spm-model",
        sample_en["spm"],
        "--max-seq-length",
        128,
        "--num-workers",
        2,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    # Which runs out first under the address-space limit, memory or a new thread's stack,
    # depends on the machine's load; either way the one line names the limit and its value.
    assert error_line(proc) in (
        "error: out of memory: the address-space limit (ulimit -v) is 350 MB; raise it "
        "(ulimit -v unlimited), or use fewer --num-workers, and re-run",
        f"error: cannot start another thread: {_nproc_clause()}the address-space limit "
        "(ulimit -v) is 350 MB; raise it, or use fewer --num-workers, and re-run",
    )
    assert not out.exists()


def _nproc_clause() -> str:
    """The thread line names RLIMIT_NPROC first when there is one."""
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    if soft == resource.RLIM_INFINITY:
        return ""
    return f"the limit on this user's processes and threads (ulimit -u) is {soft:,} and "


def test_out_of_threads_is_one_line(sample_en, shared_dir):
    for name in ("sentences", "spm"):
        shutil.copy(sample_en[name], shared_dir / name)
        (shared_dir / name).chmod(0o644)
    out = shared_dir / "rec"
    proc = limited("--nproc=5", user=NOBODY)(
        "make-pretraining",
        shared_dir / "sentences",
        "-o",
        out,
        "--spm-model",
        shared_dir / "spm",
        "--max-seq-length",
        128,
        "--num-workers",
        2,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert error_line(proc) == (
        "error: cannot start another thread: the limit on this user's processes and threads "
        "(ulimit -u) is 5; raise it, or use fewer --num-workers, and re-run"
    )
    assert not out.exists()


def test_a_limit_met_by_a_worker_reaches_the_launcher_as_text():
    """A worker process's exception arrives as the text of Beam's own error."""
    wrapped = RuntimeError(
        "Pipeline failed: Traceback ...\nOSError: [Errno 24] Too many open files: '/x/run-3'"
    )
    assert limits.describe(wrapped).startswith("too many open files: the limit on open files")
    assert limits.describe(RuntimeError("... MemoryError ...")).startswith("out of memory: ")
    assert limits.describe(RuntimeError("a bug")) is None


def test_default_workers_follow_the_cpu_affinity(sample_en, tmp_path):
    """A run confined to one processor (taskset, as a batch scheduler's cpuset does)
    starts one worker, and one confined to two starts two, not one per processor of the
    host; both write the same bytes."""
    cpus = sorted(os.sched_getaffinity(0))
    if limits.usable_cpus() < 2:
        pytest.skip("needs a machine with two usable processors to confine a run to one")

    def run(out, cpu_list):
        args = ["taskset", "-c", cpu_list, str(BIN), "make-pretraining"]
        args += [str(sample_en["sentences"]), "-o", str(out), "--spm-model", str(sample_en["spm"])]
        args += ["--max-seq-length", "64", "--max-predictions-per-seq", "10"]
        args += ["--dupe-factor", "1", "--range-bytes", "1000", "--no-progress"]
        proc = subprocess.run(args, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads((out / "stats.json").read_text())["num_workers"]

    assert run(tmp_path / "one", str(cpus[0])) == 1
    assert run(tmp_path / "two", f"{cpus[0]},{cpus[1]}") == 2
    one, two = (sorted((tmp_path / d).glob("*.tfrecord")) for d in ("one", "two"))
    assert one and [p.read_bytes() for p in one] == [p.read_bytes() for p in two]


def _cgroup_tree(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_cgroup_v2_quota_of_the_cgroup_and_its_ancestors(tmp_path):
    root = tmp_path / "cgroup"
    _cgroup_tree(
        root,
        {
            "cpu.max": "max 100000\n",
            "kubepods/cpu.max": "600000 100000\n",
            "kubepods/pod1/cpu.max": "250000 100000\n",
            "kubepods/pod1/app/cpu.max": "max 100000\n",
        },
    )
    own = tmp_path / "self"
    own.write_text("0::/kubepods/pod1/app\n")
    assert limits.cgroup_cpu_quota(str(root), str(own)) == 2.5
    assert limits.usable_cpus(str(root), str(own)) == min(3, len(os.sched_getaffinity(0)))
    own.write_text("0::/kubepods\n")
    assert limits.cgroup_cpu_quota(str(root), str(own)) == 6
    own.write_text("0::/\n")
    assert limits.cgroup_cpu_quota(str(root), str(own)) is None
    # Inside a container the path named is the host's; the container's own root is seen.
    _cgroup_tree(root, {"cpu.max": "150000 100000\n"})
    own.write_text("0::/host/path/not/mounted\n")
    assert limits.cgroup_cpu_quota(str(root), str(own)) == 1.5
    assert limits.usable_cpus(str(root), str(own)) == min(2, len(os.sched_getaffinity(0)))


def test_cgroup_v1_quota(tmp_path):
    root = tmp_path / "cgroup"
    own = tmp_path / "self"
    own.write_text("4:memory:/x\n3:cpu,cpuacct:/docker/abc\n2:cpuset:/\n0::/\n")
    _cgroup_tree(
        root,
        {
            "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
        },
    )
    assert limits.cgroup_cpu_quota(str(root), str(own)) == 0.5
    assert limits.usable_cpus(str(root), str(own)) == 1  # half a processor: one worker
    _cgroup_tree(root, {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "-1\n"})
    assert limits.cgroup_cpu_quota(str(root), str(own)) is None
    assert limits.usable_cpus(str(root), str(own)) == len(os.sched_getaffinity(0))


def test_cgroup_quotas_as_distributions_lay_them_out(tmp_path):
    """Periods other than 100 ms; v1's cpu controller mounted alone or named
    ``cpuacct,cpu``; unreadable values and names that are not UTF-8 fall back to the
    affinity rather than stopping the command."""
    root = tmp_path / "cgroup"
    own = tmp_path / "self"
    affinity = len(os.sched_getaffinity(0))
    _cgroup_tree(root, {"v2/cpu.max": "200000 50000\n"})
    own.write_text("0::/v2\n")
    assert limits.cgroup_cpu_quota(str(root), str(own)) == 4
    # v1, cpu and cpuacct mounted apart: /proc names "cpu" and "cpuacct" separately.
    _cgroup_tree(
        root,
        {
            "cpu/job/cpu.cfs_quota_us": "300000\n",
            "cpu/job/cpu.cfs_period_us": "100000\n",
            "cpuacct/job/cpuacct.usage": "0\n",
        },
    )
    own.write_text("5:cpuacct:/job\n4:cpu:/job\n")
    assert limits.cgroup_cpu_quota(str(root), str(own)) == 3
    # /proc lists "cpu,cpuacct", the mount is named the other way round.
    other = tmp_path / "other"
    _cgroup_tree(
        other,
        {
            "cpuacct,cpu/job/cpu.cfs_quota_us": "150000\n",
            "cpuacct,cpu/job/cpu.cfs_period_us": "100000\n",
        },
    )
    own.write_text("4:cpu,cpuacct:/job\n")
    assert limits.cgroup_cpu_quota(str(other), str(own)) == 1.5
    # A value that is not a number, and a name that is not UTF-8: no quota read.
    _cgroup_tree(other, {"cpuacct,cpu/job/cpu.cfs_quota_us": "lots\n"})
    assert limits.cgroup_cpu_quota(str(other), str(own)) is None
    own.write_bytes(b"0::/caf\xe9\n")
    assert limits.cgroup_cpu_quota(str(other), str(own)) is None
    assert limits.usable_cpus(str(other), str(own)) == affinity
    assert limits.usable_cpus(str(tmp_path / "none"), str(tmp_path / "missing")) == affinity
