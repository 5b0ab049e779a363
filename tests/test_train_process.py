"""Trainer behaviour around processes: replicas, SIGKILL + resume, SIGTERM, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.cli_helpers import BIN, invoke
from tests.train_support import Running, cli_train_args, write_records

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300  # seconds for any one wait: a hung trainer fails the test with its output

TWO_REPLICAS = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from albert_data.training.trainer import train
    from tests.train_support import configs

    root = sys.argv[1]
    values = {}
    for strategy in ("one_device", "mirrored"):
        kwargs = configs(
            root + "/rec/*", root + "/" + strategy, steps=3, strategy=strategy
        )
        result = train(**kwargs, say=lambda line: None)
        reader = tf.train.load_checkpoint(result.checkpoint)
        values[strategy] = {
            n: reader.get_tensor(n) for n, _ in tf.train.list_variables(result.checkpoint)
            if n != "_CHECKPOINTABLE_OBJECT_GRAPH"
        }
        print(strategy, result.metrics["loss"])
    worst = max(
        float(np.max(np.abs(v - values["mirrored"][n]))) for n, v in values["one_device"].items()
    )
    print("max difference", worst)
    assert worst < 1e-5, worst
    """
)


@pytest.fixture
def spawn():
    """Start trainers as :class:`Running` processes; whatever a failing test leaves
    running is killed at its end."""
    started: list[Running] = []

    def start(args) -> Running:
        started.append(Running(args, env=ENV, cwd=ROOT))
        return started[-1]

    yield start
    for run in started:
        run.kill()


def test_two_replicas_give_the_same_result_as_one(tmp_path, spawn):
    """One replica and two (MirroredStrategy over two logical CPU devices): the same
    weights after three steps. Without XLA (its compiling costs seconds per replica):
    XLA's numbers are test_train's, and with one replica per worker the multi-worker
    test's."""
    write_records(tmp_path / "rec")
    proc = spawn([sys.executable, "-c", TWO_REPLICAS, tmp_path])
    out, _ = proc.finish_ok(TIMEOUT, "the one-vs-two-replica script")
    assert "max difference" in out
    assert len(list(tmp_path.glob("mirrored/ckpt-3.index"))) == 1


def _latest_step(model_dir: Path) -> int | None:
    """The step of the checkpoint the ``checkpoint`` state file names: the newest complete
    one (a kill can leave a newer ``.index`` whose save never finished)."""
    try:
        state = (model_dir / "checkpoint").read_text()
    except OSError:
        return None
    match = re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state, re.M)
    return int(match.group(1)) if match else None


def _wait_for_checkpoint(model_dir: Path, proc: Running, min_step: int) -> int:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        step = _latest_step(model_dir)
        if step is not None and step >= min_step:
            return step
        assert proc.poll() is None, f"trainer exited early:\n{proc.stdout}\n{proc.stderr}"
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint at step {min_step} within {TIMEOUT}s:\n{proc.stderr}")


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, spawn):
    write_records(tmp_path / "rec")
    model_dir = tmp_path / "model"
    args = cli_train_args(
        str(tmp_path / "rec" / "*"),
        model_dir,
        "--num-train-steps",
        100000,
        "--save-every",
        3,
        "--log-every",
        1,
        "--no-jit",  # about processes, not numbers: XLA is in the replica test
    )
    proc = spawn([BIN, *args])
    saved = _wait_for_checkpoint(model_dir, proc, min_step=3)
    proc.send_signal(signal.SIGKILL)
    code, _, _ = proc.finish(30)
    assert code == -signal.SIGKILL
    latest = _latest_step(model_dir)
    assert latest >= saved
    # The re-run needs no fresh process: only the files the killed one left.
    again = invoke(*args, "--max-steps-this-run", 2)
    assert f"at step {latest}" in again.stderr and "resumed from" in again.stderr
    assert f"stopped at step {latest + 2} (max_steps)" in again.stdout


@pytest.mark.parametrize(
    "sig,code,said,stopped",
    [
        (signal.SIGTERM, 143, "SIGTERM: saved", "(sigterm)"),
        (signal.SIGINT, 130, "Ctrl-C: saved", "(sigint)"),
    ],
    ids=["sigterm", "ctrl-c"],
)
def test_a_stop_signal_saves_a_checkpoint_and_exits_cleanly(
    tmp_path, spawn, sig, code, said, stopped
):
    write_records(tmp_path / "rec")
    model_dir = tmp_path / "model"
    args = cli_train_args(
        str(tmp_path / "rec" / "*"),
        model_dir,
        "--num-train-steps",
        100000,
        "--save-every",
        1000000,
        "--log-every",
        1,
        "--no-jit",  # about processes, not numbers: XLA is in the replica test
    )
    proc = spawn([BIN, *args])
    proc.wait_for("step 3/", TIMEOUT)
    proc.send_signal(sig)
    exit_code, out, err = proc.finish(TIMEOUT)
    assert exit_code == code, f"exited {exit_code}:\n{out}\n{err[-3000:]}"
    saved = re.search(rf"{said} (\S+) at step (\d+); exiting", err)
    assert saved, err[-3000:]
    assert f"stopped at step {saved.group(2)} {stopped}" in out
    assert _latest_step(model_dir) == int(saved.group(2)) >= 3
    assert "Traceback" not in err


def test_a_first_ctrl_c_asks_for_a_stop_and_a_second_interrupts():
    """In this process (the handlers are the subject, not a fresh process): a guard
    handler stands in for pytest's own, so a SIGINT the code under test fails to catch
    fails this test instead of interrupting the run."""
    from albert_data.training.trainer import _stop_signals

    missed: list[int] = []
    guard = signal.signal(signal.SIGINT, lambda signum, _: missed.append(signum))
    try:
        before = signal.getsignal(signal.SIGINT)
        lines: list[str] = []
        with _stop_signals(lines.append) as stop:
            os.kill(os.getpid(), signal.SIGINT)
            assert (stop, lines) == (
                ["sigint"],
                ["Ctrl-C: saving after this step (Ctrl-C again to stop at once, without saving)"],
            )
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is before
        assert missed == []
    finally:
        signal.signal(signal.SIGINT, guard)
