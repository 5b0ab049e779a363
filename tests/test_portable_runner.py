"""Both pipelines on Beam's portable runner, the Fn API path Dataflow Runner v2, Flink and
Spark use for Python workers: a real job service and a real SDK worker pool, each a
separate process started here in a working directory and a ``$TMPDIR`` of its own. The
launcher runs in another directory, with relative and with absolute paths; the shards
must be byte-identical to the DirectRunner's, and ``stats.json`` must say the same about
the data (it also records the runner, its options and the time taken, which differ).

The services are killed with their process groups (the pool's worker processes
included) whatever happens, and a watchdog kills them if a run outlasts
:data:`WATCHDOG_SECONDS`, which fails the job instead of hanging the test."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.cli_helpers import error_line, invoke

ROOT = Path(__file__).resolve().parent.parent
WATCHDOG_SECONDS = 240
DOCUMENTS = 40  # of the English sample: enough for several records per shard, quick


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def _wait_for(check, what: str, procs, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: a service exited with {proc.returncode}")
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready within {timeout:.0f} s")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("localhost", port)) == 0


class Services:
    """A job service and an SDK worker pool, as ``python -m`` processes in ``home``."""

    def __init__(self, home: Path):
        self.home = home
        (home / "tmp").mkdir(parents=True)
        bin_dir = str(Path(sys.executable).parent)
        # The pool starts its workers as ``python -c ...``: this interpreter's.
        env = {
            **os.environ,
            "TMPDIR": str(home / "tmp"),
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        }
        self.procs: list[subprocess.Popen] = []
        self.pool_port = _free_port()
        self._start(
            env,
            "apache_beam.runners.portability.local_job_service_main",
            "--port",
            "0",
            "--port_file",
            str(home / "job.port"),
            log="job-service.log",
        )
        self._start(
            env,
            "apache_beam.runners.worker.worker_pool_main",
            "--service_port",
            str(self.pool_port),
            log="worker-pool.log",
        )
        port_file = home / "job.port"
        self.job_port = int(
            _wait_for(
                lambda: port_file.exists() and port_file.read_text().strip(),
                "job service",
                self.procs,
            )
        )
        _wait_for(lambda: _port_open(self.pool_port), "worker pool", self.procs)
        self.watchdog = threading.Timer(WATCHDOG_SECONDS, self.stop)
        self.watchdog.daemon = True
        self.watchdog.start()

    def _start(self, env, module: str, *args: str, log: str) -> None:
        with open(self.home / log, "wb") as out:
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", module, *args],
                    cwd=self.home,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group: the workers too
                )
            )

    def flags(self) -> list[str]:
        return [
            "--runner",
            "portable",
            "--job_endpoint",
            f"localhost:{self.job_port}",
            "--environment_type",
            "EXTERNAL",
            "--environment_config",
            f"localhost:{self.pool_port}",
        ]

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for proc in self.procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
            deadline = time.monotonic() + 10
            for proc in self.procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if all(proc.poll() is not None for proc in self.procs):
                break


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    running = None
    try:
        running = Services(tmp_path_factory.mktemp("portable-services"))
        yield running
    finally:
        if running is not None:
            running.watchdog.cancel()
            running.stop()


@pytest.fixture(scope="module")
def launcher(sample_en, tmp_path_factory):
    """The launcher's working directory, holding a small corpus (raw text and its
    sentences) and the sample's vocabulary under relative names."""
    home = tmp_path_factory.mktemp("portable-launcher")
    docs = sample_en["sentences"].read_text(encoding="utf-8").split("\n\n")[:DOCUMENTS]
    (home / "sent.txt").write_text("\n\n".join(docs), encoding="utf-8")
    (home / "raw.txt").write_text(
        "\n".join(" ".join(doc.splitlines()) for doc in docs) + "\n", encoding="utf-8"
    )
    for name in ("spm.model", "spm.json", "spm.vocab"):
        source = Path(sample_en["spm"]).with_name(name)
        if source.exists():
            (home / name).write_bytes(source.read_bytes())
    return home


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> list[str]:
    """A wheel of this package, built once for the tests of failures (which are not
    about staging: the runs above build and stage their own, as a user's do)."""
    import shutil

    from pipelines.options import staging_args

    (flag,) = staging_args()
    wheel = Path(flag.split("=", 1)[1])
    kept = tmp_path_factory.mktemp("staged") / wheel.name
    shutil.copy(wheel, kept)
    return [f"--extra_package={kept}"]


@pytest.fixture
def own_tmpdir(tmp_path, monkeypatch):
    """The launcher's $TMPDIR: nothing may be left in it."""
    import tempfile

    root = tmp_path / "launcher-tmp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def _shards(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name != "stats.json"}


# What stats.json says about the run rather than the data (the vocabulary is compared by
# its fingerprint, under "vocabulary"). The byte ranges are cut for the workers.
RUN_FIELDS = {
    "runner",
    "num_workers",
    "byte_ranges",
    "shuffle",
    "shuffle_intermediate",
    "beam_options",
    "elapsed_seconds",
    "tokens_per_second",
    "inputs",
    "outputs",
}


def _data_stats(directory: Path) -> str:
    stats = json.loads((directory / "stats.json").read_text())
    stats["config"].pop("spm_model")  # the vocabulary's path as typed (its content is
    stats["vocabulary"].pop("path")  # compared by the fingerprint beside it)
    return json.dumps({k: v for k, v in stats.items() if k not in RUN_FIELDS}, sort_keys=True)


MAKE = ["--dupe-factor", "2", "--max-seq-length", "64", "--num-shards", "2", "--no-progress"]
SPLIT = ["--num-shards", "2", "--no-progress"]


@pytest.fixture(scope="module")
def direct(launcher) -> Path:
    """Both commands on the DirectRunner: what the portable runner must write."""
    ref = launcher / "direct"
    invoke("split-sentences", "raw.txt", "-o", ref / "docs.txt", *SPLIT, "--runner", "DirectRunner", cwd=launcher)  # fmt: skip
    invoke("make-pretraining", "sent.txt", "-o", ref / "records", "--spm-model", "spm.model", *MAKE, cwd=launcher)  # fmt: skip
    return ref


@pytest.mark.parametrize("paths", ["relative", "absolute"])
def test_both_pipelines_on_the_portable_runner_match_the_direct_runner(
    services, launcher, direct, own_tmpdir, paths
):
    def at(name: str) -> str:
        return str(launcher / name) if paths == "absolute" else name

    split_ref = direct / "docs.txt"
    make_ref = direct / "records"

    out = f"portable-{paths}"
    split = invoke(
        "split-sentences", at("raw.txt"), "-o", at(f"{out}/docs.txt"), *SPLIT, *services.flags(),
        cwd=launcher,
    )  # fmt: skip
    assert "job state: DONE" in split.stderr
    made = invoke(
        "make-pretraining", at("sent.txt"), "-o", at(f"{out}/records"),
        "--spm-model", at("spm.model"), *MAKE, *services.flags(),
        cwd=launcher,
    )  # fmt: skip
    assert "job state: DONE" in made.stderr

    split_shards = sorted((launcher / out).glob("docs-*.txt"))
    assert [p.name for p in split_shards] == ["docs-00000-of-00002.txt", "docs-00001-of-00002.txt"]
    for shard in split_shards:
        assert shard.read_bytes() == (split_ref.parent / shard.name).read_bytes(), shard.name
    records = _shards(launcher / out / "records")
    assert len(records) == 2 and all(records.values())
    assert records == _shards(make_ref)
    assert _data_stats(launcher / out / "records") == _data_stats(make_ref)

    stats = json.loads((launcher / out / "records" / "stats.json").read_text())
    # What really ran: the runner by its name, its worker count its own (not ours), and
    # the inputs as the workers saw them: absolute.
    assert stats["runner"] == "PortableRunner" and stats["num_workers"] is None
    assert stats["shuffle"] == "engine"
    assert stats["inputs"] == [str(launcher / "sent.txt")]

    assert list(own_tmpdir.iterdir()) == []  # Beam's temporary directories removed
    assert not (ROOT / "build").exists()  # the staged wheel was built out of the checkout


def test_a_failed_portable_job_is_one_line(services, launcher, staged, own_tmpdir):
    """A job whose workers cannot start (no worker pool at the address) fails on the
    job service: one line naming the job and the workers' error, exit 2, no output."""
    flags = [*services.flags(), *staged]
    flags[flags.index("--environment_config") + 1] = f"localhost:{_free_port()}"
    proc = invoke(
        "make-pretraining", "sent.txt", "-o", "failed", "--spm-model", "spm.model", *MAKE, *flags,
        cwd=launcher, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    line = error_line(proc)
    assert line.startswith("error: the PortableRunner job ") and " failed: " in line, line
    assert "Connection refused" in line or "failed to connect" in line, line
    assert not (launcher / "failed").exists()
    assert list(own_tmpdir.iterdir()) == []


def test_an_unreachable_job_service_is_one_line(launcher, staged, own_tmpdir):
    port = _free_port()
    proc = invoke(
        "make-pretraining", "sent.txt", "-o", "nowhere", "--spm-model", "spm.model", *MAKE,
        "--runner", "PortableRunner", "--job_endpoint", f"localhost:{port}",
        "--job_server_timeout", "2", *staged,
        cwd=launcher, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert error_line(proc) == (
        f"error: no job service answered at --job_endpoint localhost:{port} within 2 s; "
        "start it (README, Runners) or correct the address"
    )
    assert not (launcher / "nowhere").exists()
    assert list(own_tmpdir.iterdir()) == []


def test_bad_input_met_by_a_portable_worker_is_one_line(services, launcher, staged, own_tmpdir):
    """The first bad input a worker met, in input order, told as on the DirectRunner:
    one line naming the file, exit 2, no output."""
    (launcher / "bad.txt").write_bytes(b"A first sentence here.\nAn undecodable \xff byte.\n")
    proc = invoke(
        "make-pretraining", "sent.txt", "bad.txt", "-o", "bad-out", "--spm-model", "spm.model",
        "--strict", *MAKE, *services.flags(), *staged,
        cwd=launcher, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    line = error_line(proc)
    assert str(launcher / "bad.txt") in line and "--strict" in line, line
    assert not (launcher / "bad-out").exists()
