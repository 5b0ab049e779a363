"""Trainer behaviour that needs a fresh process: replicas, SIGKILL + resume, SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.cli_helpers import BIN
from tests.train_support import cli_train_args, write_records

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
ROOT = Path(__file__).resolve().parents[1]

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
        kwargs = configs(root + "/rec/*", root + "/" + strategy, steps=3, strategy=strategy)
        result = train(**kwargs, log=lambda line: None)
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


def test_two_replicas_give_the_same_result_as_one(tmp_path):
    write_records(tmp_path / "rec")
    proc = subprocess.run(
        [sys.executable, "-c", TWO_REPLICAS, str(tmp_path)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "max difference" in proc.stdout
    assert len(list(tmp_path.glob("mirrored/ckpt-3.index"))) == 1


def _start(args) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN), *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _latest_step(model_dir: Path) -> int | None:
    """The step of the checkpoint the ``checkpoint`` state file names: the newest complete
    one (a kill can leave a newer ``.index`` whose save never finished)."""
    try:
        state = (model_dir / "checkpoint").read_text()
    except OSError:
        return None
    match = re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state, re.M)
    return int(match.group(1)) if match else None


def _wait_for_checkpoint(
    model_dir: Path, proc: subprocess.Popen, min_step: int, timeout: float = 120
) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step = _latest_step(model_dir)
        if step is not None and step >= min_step:
            return step
        if proc.poll() is not None:
            raise AssertionError(
                f"trainer exited early:\n{proc.stdout.read()}\n{proc.stderr.read()}"
            )
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("no checkpoint appeared in time")


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
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
    )
    proc = _start(args)
    saved = _wait_for_checkpoint(model_dir, proc, min_step=3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    latest = _latest_step(model_dir)
    assert latest >= saved
    again = subprocess.run(
        [str(BIN), *args, "--max-steps-this-run", "2"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert f"at step {latest}" in again.stderr and "resumed from" in again.stderr
    assert f"stopped at step {latest + 2} (max_steps)" in again.stdout


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(tmp_path):
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
    )
    proc = _start(args)
    deadline = time.monotonic() + 120
    while "step 3/" not in (line := proc.stderr.readline()):
        assert line or proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "SIGTERM: saved" in err
    assert "(sigterm)" in out
    assert list(model_dir.glob("ckpt-*.index"))
