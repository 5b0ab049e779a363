"""``--strategy multi_worker`` for real: two worker processes on localhost, each with its
own TF_CONFIG, train (and evaluate every 3 steps) together; the chief's checkpoint and
eval results equal a one-process run's."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.cli_helpers import BIN
from tests.train_support import cli_train_args, write_records

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
TIMEOUT = 180  # seconds for all processes together; a hung collective fails, not blocks
LOSS = re.compile(r"step (\d+)/\d+ \| loss ([0-9.]+)")
EVAL_AT = re.compile(r"^eval at step (\d+):", re.M)


def _free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _tf_config(ports: list[int], index: int) -> str:
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def _start(args, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN), *map(str, args)],
        cwd=ROOT,
        env={**ENV, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish_all(procs: dict[str, subprocess.Popen]) -> dict[str, tuple[int, str, str]]:
    """Wait for every process within TIMEOUT; kill them all if any is late or fails."""
    deadline = time.monotonic() + TIMEOUT
    done: dict[str, tuple[int, str, str]] = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            done[name] = (proc.returncode, out, err)
            if proc.returncode != 0:
                break
    except subprocess.TimeoutExpired:
        pass
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for name, proc in procs.items():
        code, out, err = done.get(name, (proc.returncode, "", "(killed: timeout or a peer failed)"))
        assert code == 0, f"{name} exited {code}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"
    return done


def _weights(prefix: str) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(prefix)
    return {
        name: reader.get_tensor(name)
        for name, _ in tf.train.list_variables(prefix)
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    }


def _eval_results(path: Path) -> dict[str, float]:
    pairs = (line.split(" = ") for line in path.read_text().splitlines())
    return {name: float(value) for name, value in pairs}


def _losses(stderr: str) -> list[tuple[int, float]]:
    return [(int(step), float(loss)) for step, loss in LOSS.findall(stderr)]


def test_two_workers_train_like_one_process(tmp_path):
    # 16 records, global batch 16, no record shuffling: every step sees every record once,
    # whether one process reads them all or each worker reads its half (8 per replica).
    write_records(tmp_path / "rec", count=16)
    write_records(tmp_path / "eval", count=16, seed=5)
    steps = 6
    common = ("--train-batch-size", 16, "--shuffle-buffer", 1, "--num-warmup-steps", 1)
    common += ("--num-train-steps", steps, "--log-every", 1, "--save-every", 3)
    common += ("--eval-records", tmp_path / "eval" / "*", "--eval-every", 3)
    common += ("--eval-batch-size", 8, "--eval-steps", 2)
    records = str(tmp_path / "rec" / "*")
    shared_dir = tmp_path / "multi"
    ports = _free_ports(2)
    procs = {
        f"worker {i}": _start(
            [*cli_train_args(records, shared_dir, *common), "--strategy", "multi_worker"],
            TF_CONFIG=_tf_config(ports, i),
        )
        for i in range(2)
    }
    procs["one process"] = _start(
        [*cli_train_args(records, tmp_path / "single", *common), "--strategy", "one_device"]
    )
    done = _finish_all(procs)

    for i in range(2):
        assert (
            f"stopped at step {steps} (done); checkpoint {shared_dir}/ckpt-{steps}"
            in (done[f"worker {i}"][1])
        )
    # Only the chief writes into --model-dir; the other worker's copy is gone.
    assert sorted(p.name for p in shared_dir.iterdir()) == [
        "albert_config.json",
        "checkpoint",
        "ckpt-3.data-00000-of-00001",
        "ckpt-3.index",
        f"ckpt-{steps}.data-00000-of-00001",
        f"ckpt-{steps}.index",
        "eval",
        "eval_results.txt",
        "train",
    ]
    assert len(list((shared_dir / "train").iterdir())) == 1

    # Both workers report the same global losses, and the loss fell.
    chief, other = (_losses(done[f"worker {i}"][2]) for i in range(2))
    assert [s for s, _ in chief] == list(range(1, steps + 1))
    np.testing.assert_allclose([v for _, v in chief], [v for _, v in other], rtol=1e-5)
    assert chief[-1][1] < chief[0][1]

    multi = _weights(str(shared_dir / f"ckpt-{steps}"))
    single = _weights(str(tmp_path / "single" / f"ckpt-{steps}"))
    assert multi.keys() == single.keys()
    for name, value in single.items():
        np.testing.assert_allclose(multi[name], value, rtol=1e-4, atol=1e-5, err_msg=name)
    assert int(multi["step/.ATTRIBUTES/VARIABLE_VALUE"]) == steps

    # --eval-every 3: both workers evaluate together at 3 and 6 (once), and the chief's
    # eval_results.txt holds the one-process run's figures.
    for i in range(2):
        assert EVAL_AT.findall(done[f"worker {i}"][2]) == ["3", "6"]
    multi_eval, single_eval = (
        _eval_results(tmp_path / d / "eval_results.txt") for d in ("multi", "single")
    )
    assert multi_eval["global_step"] == steps and multi_eval.keys() == single_eval.keys()
    for name, value in single_eval.items():
        assert multi_eval[name] == pytest.approx(value, rel=1e-4), name


def test_sigterm_to_one_worker_stops_both_after_the_same_step(tmp_path):
    write_records(tmp_path / "rec", count=16)
    common = ("--train-batch-size", 16, "--num-train-steps", 100000, "--log-every", 1)
    common += ("--save-every", 1000000)
    shared_dir = tmp_path / "multi"
    ports = _free_ports(2)
    procs = {
        f"worker {i}": _start(
            [
                *cli_train_args(str(tmp_path / "rec" / "*"), shared_dir, *common),
                "--strategy",
                "multi_worker",
            ],
            TF_CONFIG=_tf_config(ports, i),
        )
        for i in range(2)
    }
    other = procs["worker 1"]
    deadline = time.monotonic() + TIMEOUT
    seen = ""
    while "step 3/" not in seen:  # both are in the loop: steps need both workers
        line = other.stderr.readline()
        assert line or other.poll() is None, "worker 1 ended before step 3"
        assert time.monotonic() < deadline, "no step 3 in time"
        seen = line
    other.send_signal(signal.SIGTERM)  # the non-chief only
    done = _finish_all(procs)
    stopped = [
        re.search(r"stopped at step (\d+) \(sigterm\)", done[f"worker {i}"][1]) for i in (0, 1)
    ]
    assert all(stopped), done
    step = int(stopped[0].group(1))
    assert int(stopped[1].group(1)) == step
    assert "SIGTERM (sent to another worker): saved" in done["worker 0"][2]
    assert "SIGTERM: saved" in done["worker 1"][2]
    assert (shared_dir / f"ckpt-{step}.index").exists()
