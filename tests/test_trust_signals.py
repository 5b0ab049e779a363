"""SIGTERM — what ``kill``, schedulers, Kubernetes and ``timeout`` send, to the command's
process only — ends every command as Ctrl-C does: one line, exit 143, and nothing left:
no output, no claim, no work directory, nothing in $TMPDIR (``albert-data-run-*``,
``albert-data-beam-*.log``), no worker process. (``train``: tests/test_train_process.py.)"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.cli_helpers import BIN, run_cli


def start(args, tmp: os.PathLike) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    env["TMPDIR"] = str(tmp)
    return subprocess.Popen(
        [str(BIN), *map(str, args)],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=env,
    )


def wait_for(path_test, proc: subprocess.Popen, deadline_s: float = 240) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if path_test():
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the command never got there")


def terminate(proc: subprocess.Popen) -> list[str]:
    proc.send_signal(signal.SIGTERM)  # the process only, as kill PID does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    with pytest.raises(ProcessLookupError):  # no worker of the run is left
        os.killpg(proc.pid, 0)
    return [line for line in err.splitlines() if line.strip()]


def work_dir_in(directory):
    return lambda: any(
        p.is_dir() and p.name.startswith(".albert-data-") for p in directory.glob(".*")
    )


@pytest.fixture
def big_raw(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "raw.txt"
    run_cli("sample", "-o", path, "--size", "3MB")
    return path


def test_make_pretraining(sample_en, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    args = ["make-pretraining", sample_en["sentences"], "-o", out, "--spm-model", sample_en["spm"]]
    proc = start([*args, "--dupe-factor", 20, "--max-seq-length", 128], tmp)
    wait_for(lambda: any((p / "progress").exists() for p in out.glob(".albert-data-*")), proc)
    assert terminate(proc) == ["terminated (SIGTERM)"]
    assert not out.exists() and list(tmp.iterdir()) == []


def test_split_sentences_on_a_runner(big_raw, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "split" / "docs.txt"
    proc = start(["split-sentences", big_raw, "-o", out, "--runner", "DirectRunner"], tmp)
    wait_for(work_dir_in(out.parent), proc)
    assert terminate(proc) == ["terminated (SIGTERM)"]
    assert not out.parent.exists() and list(tmp.iterdir()) == []


def test_split_sentences_locally_and_spm_train(big_raw, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "split" / "docs.txt"
    proc = start(["split-sentences", big_raw, "-o", out, "--no-progress"], tmp)
    wait_for(work_dir_in(out.parent), proc)
    assert terminate(proc) == ["terminated (SIGTERM)"]
    assert not out.parent.exists()
    prefix = tmp_path / "vocab" / "sp"
    # A vocabulary this sample can give, so the run is still training when SIGTERM comes
    # (30 000 pieces end it with an error at once, which could come first).
    args = ["spm-train", big_raw, "--model-prefix", prefix, "--vocab-size", 2000]
    for _attempt in range(3):
        proc = start([*args, "--no-progress"], tmp)
        wait_for(lambda: (prefix.parent / ".albert-data-claim-sp.json").exists(), proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            break
        # A finished run, which must then be whole: on a loaded machine the run (~1 s)
        # can end before the signal comes. Try again.
        assert (prefix.parent / "sp.model").exists(), err
        shutil.rmtree(prefix.parent)
    assert proc.returncode == 143, err
    assert [line for line in err.splitlines() if line.strip()][-1] == "terminated (SIGTERM)"
    with pytest.raises(ProcessLookupError):  # no worker of the run is left
        os.killpg(proc.pid, 0)
    assert not prefix.parent.exists() and list(tmp.iterdir()) == []


def test_sample(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "s" / "raw.txt"
    proc = start(["sample", "-o", out, "--size", "2GB"], tmp)
    wait_for(work_dir_in(out.parent), proc)
    assert terminate(proc) == ["terminated (SIGTERM)"]
    assert not out.parent.exists() and list(tmp.iterdir()) == []


PROBE_ORDER = """
import signal, sys, tempfile
from albert_data import cli
handlers = []
find = tempfile._get_default_tempdir
def first_use():  # Python's probe of $TMPDIR: a file written and removed there
    handlers.append(signal.getsignal(signal.SIGTERM))
    return find()
tempfile._get_default_tempdir = first_use
sys.argv = ["albert-data", "sample", "-o", sys.argv[1], "--size", "2KB"]
try:
    cli.main()
except SystemExit as end:
    assert end.code in (0, None), end.code
print(handlers)
"""


def test_tmpdir_is_probed_before_sigterm_is_handled(tmp_path):
    # A SIGTERM turned into an exception between the probe file's creation and its
    # removal would leave it in $TMPDIR: the probe comes first.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE_ORDER, str(tmp_path / "s.txt")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[<Handlers.SIG_DFL: 0>]"
    assert [p.name for p in tmp_path.iterdir()] == ["s.txt"]


def test_an_interrupt_another_error_was_made_of_is_told_as_the_interrupt():
    # A SIGTERM that lands while a C extension is imported (sentencepiece's, as spm-train
    # starts) surfaces as "ImportError: initialization failed" caused by the interrupt.
    import click
    from click.testing import CliRunner

    from albert_data import cli

    @click.group(cls=cli._Group)
    def group():
        pass

    @group.command()
    @click.option("--sigterm", is_flag=True)
    def work(sigterm):
        if sigterm:
            cli._TERMINATED.append(signal.SIGTERM)  # as the SIGTERM handler records it
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise ImportError("initialization failed") from interrupt

    result = CliRunner().invoke(group, ["work"])
    assert (result.exit_code, result.stderr) == (130, "interrupted\n")
    try:
        result = CliRunner().invoke(group, ["work", "--sigterm"])
    finally:
        cli._TERMINATED.clear()
    assert (result.exit_code, result.stderr) == (143, "terminated (SIGTERM)\n")


LANDS_IN_MKDTEMP = """
import os, signal, sys, tempfile
from albert_data.jobs.beam_console import private_temp_dir, quiet_console
def on_term(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, on_term)
real = {"mkdtemp": tempfile.mkdtemp, "mkstemp": tempfile.mkstemp}
def landing(name):
    def make(*args, **kwargs):  # the SIGTERM lands just after the file system call
        made = real[name](*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(100))
        return made
    return make
tempfile.mkdtemp, tempfile.mkstemp = landing("mkdtemp"), landing("mkstemp")
for enter in (private_temp_dir, lambda: quiet_console(enabled=True)):
    try:
        with enter():
            print("the block ran")
    except KeyboardInterrupt:
        pass
print(sorted(os.listdir(sys.argv[1])))
"""


def test_a_sigterm_as_the_run_makes_its_temporary_files_leaves_none(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", LANDS_IN_MKDTEMP, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["[]"]


def _sample_is_terminated_leaving_nothing(probe: str, tmp_path) -> None:
    """Run ``probe`` (a script running ``albert-data sample -o ARGV[1]`` with a SIGTERM
    arranged inside) with $TMPDIR in ``tmp_path``: one line, exit 143, nothing left."""
    out = tmp_path / "s" / "raw.txt"
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=120,
    )
    assert proc.returncode == 143, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "terminated (SIGTERM)"
    assert not out.parent.exists() and list(tmp_path.iterdir()) == []


PROBE_CLAIM = """
import signal, sys
from albert_data import cli
from albert_data.jobs import outputs
start = outputs.Claim._start_heartbeat
def start_then_sigterm(self):  # SIGTERM the moment the claim file has been written
    start(self)
    signal.raise_signal(signal.SIGTERM)
outputs.Claim._start_heartbeat = start_then_sigterm
sys.argv = ["albert-data", "sample", "-o", sys.argv[1], "--size", "2KB"]
cli.main()
"""


def test_sigterm_as_the_claim_is_taken_leaves_nothing(tmp_path):
    # Between the claim file's creation and the block that removes it, a SIGTERM left the
    # claim file and the directory made for it (about 1 run in 40 of spm-train signalled
    # as soon as its claim appeared): the signal is held until the block is entered.
    _sample_is_terminated_leaving_nothing(PROBE_CLAIM, tmp_path)


PROBE_SWALLOWED = """
import signal, sys
from albert_data import cli
from albert_data.text import corpus
write = corpus.write_corpus
def write_after_a_swallowed_sigterm(*args, **kwargs):
    try:  # as a C extension's import may: the handler runs, its interrupt is lost
        signal.raise_signal(signal.SIGTERM)
    except KeyboardInterrupt:
        pass
    return write(*args, **kwargs)
corpus.write_corpus = write_after_a_swallowed_sigterm
sys.argv = ["albert-data", "sample", "-o", sys.argv[1], "--size", "2KB"]
cli.main()
"""


def test_a_sigterm_whose_interrupt_was_lost_still_publishes_nothing(tmp_path):
    # A SIGTERM landing in numpy.random's import (Cython) had its KeyboardInterrupt
    # swallowed there, and spm-train went on to publish its outputs and exit 0.
    _sample_is_terminated_leaving_nothing(PROBE_SWALLOWED, tmp_path)


def test_a_sigterm_recorded_by_an_earlier_command_does_not_stop_the_next(tmp_path):
    # The record of a SIGTERM is the process's; each command starts with none (the
    # tests run many commands in one process).
    from albert_data.jobs import interrupts
    from tests.cli_helpers import invoke

    interrupts.TERMINATED.append(signal.SIGTERM)
    try:
        result = invoke("sample", "-o", tmp_path / "s.txt", "--size", "2KB")
    finally:
        interrupts.TERMINATED.clear()
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "s.txt").stat().st_size > 0
