"""``--strategy multi_worker`` for real: two worker processes on localhost, each with its
own TF_CONFIG, train (and evaluate every 3 steps) together with XLA, the default; the
chief's checkpoint and eval results equal a one-process run's. The SIGTERM and port
tests are about processes, not numbers, and skip XLA's compiling (``--no-jit``)."""

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

from tests.cli_helpers import BIN, invoke
from tests.train_support import Running, cli_train_args, write_records

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
TIMEOUT = 420  # seconds for all processes together; a hung collective fails, not blocks
LOSS = re.compile(r"step (\d+)/\d+ \| loss ([0-9.]+)")
EVAL_AT = re.compile(r"^eval at step (\d+):", re.M)


BIND_FAILED = "cannot start this worker"  # the one line of a worker whose port is taken
ATTEMPTS = 3


def _free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _tf_config(ports: list[int], index: int) -> str:
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


class Cluster:
    """The worker processes of one multi-worker run on localhost, on ports chosen free.

    A port can be taken by another process between choosing it and the worker binding
    it; that worker then exits with its one :data:`BIND_FAILED` line, and the whole
    cluster is started again on new ports (at most :data:`ATTEMPTS` times). Every wait is
    bounded by :data:`TIMEOUT`; a late cluster is killed and reported with its output.
    """

    def __init__(self, args: list, *, count: int = 2, ports: list[int] | None = None):
        self.args, self.count, self.attempts = args, count, 0
        self.deadline = time.monotonic() + TIMEOUT
        self.workers: list[Running] = []
        self._start(ports)

    def _start(self, ports: list[int] | None) -> None:
        self.kill()
        self.attempts += 1
        self.ports = ports or _free_ports(self.count)
        self.workers = [
            Running(
                [BIN, *self.args, "--strategy", "multi_worker"],
                env={**ENV, "TF_CONFIG": _tf_config(self.ports, i)},
                cwd=ROOT,
            )
            for i in range(self.count)
        ]

    def _restarted(self) -> bool:
        """Start again on new ports if a worker could not bind its port."""
        failed = [w for w in self.workers if w.poll() not in (None, 0) and BIND_FAILED in w.stderr]
        if not failed:
            return False
        assert self.attempts < ATTEMPTS, (
            f"no free ports in {ATTEMPTS} attempts:\n{failed[0].stderr}"
        )
        self._start(None)
        return True

    def _remaining(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.kill()
            outputs = "\n".join(
                f"worker {i}:\n{w.stderr[-3000:]}" for i, w in enumerate(self.workers)
            )
            raise AssertionError(
                f"the workers did not finish within {TIMEOUT}s (killed):\n{outputs}"
            )
        return remaining

    def wait_for(self, index: int, text: str) -> str:
        """The first stderr line of worker ``index`` containing ``text``."""
        while True:
            worker = self.workers[index]
            line = worker.next_line(min(1.0, self._remaining()))
            if line is None:  # its output ended: let it exit, to tell a bind failure
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.proc.wait(timeout=min(10.0, self._remaining()))
            if self._restarted():
                continue
            if line is None:
                raise AssertionError(
                    f"worker {index} ended before {text!r}:\n{self.workers[index].stderr}"
                )
            if text in line:
                return line

    def finish(self, expected: tuple[int, ...] = ()) -> list[tuple[int, str, str]]:
        """(exit code, stdout, stderr) of every worker, all of which must exit 0 (or
        ``expected[i]``); one failing worker stops the others (they would wait for it
        forever)."""
        want = list(expected) or [0] * len(self.workers)
        while True:
            time.sleep(min(0.2, self._remaining()))
            if self._restarted():
                continue
            codes = [w.poll() for w in self.workers]
            if any(code not in (None, w) for code, w in zip(codes, want)):
                self.kill()
                bad = next(i for i, c in enumerate(codes) if c not in (None, want[i]))
                out, err = self.workers[bad].stdout, self.workers[bad].stderr
                raise AssertionError(f"worker {bad} exited {codes[bad]}:\n{out}\n{err[-4000:]}")
            if codes == want:
                return [w.finish(10) for w in self.workers]

    def kill(self) -> None:
        for worker in self.workers:
            worker.kill()


@pytest.fixture
def clusters():
    """Start :class:`Cluster` s; whatever a failing test leaves running is killed."""
    started: list[Cluster] = []

    def start(args, **kwargs) -> Cluster:
        started.append(Cluster(args, **kwargs))
        return started[-1]

    yield start
    for cluster in started:
        cluster.kill()


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


def test_two_workers_train_like_one_process(tmp_path, clusters):
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
    cluster = clusters(cli_train_args(records, shared_dir, *common))
    # The one-process run, here while the workers train (no third TensorFlow start).
    invoke(*cli_train_args(records, tmp_path / "single", *common), "--strategy", "one_device")
    done = {f"worker {i}": result for i, result in enumerate(cluster.finish())}

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


def test_a_taken_port_is_retried_and_sigterm_to_one_worker_stops_both(tmp_path, clusters):
    """Two process behaviours, one cluster (each start costs two TensorFlow imports):

    - the race the port retry is for, made certain: the first ports chosen include one
      another process holds, so worker 1 cannot bind it; the cluster starts again on new
      ports and trains;
    - SIGTERM to the non-chief stops both workers after the same step, each saving.
    """
    write_records(tmp_path / "rec", count=16)
    common = ("--train-batch-size", 16, "--num-train-steps", 100000, "--log-every", 1)
    common += ("--save-every", 1000000, "--no-jit")  # XLA's numbers: the test above
    shared_dir = tmp_path / "multi"
    args = cli_train_args(str(tmp_path / "rec" / "*"), shared_dir, *common)
    with socket.socket() as taken:
        taken.bind(("localhost", 0))
        taken.listen()
        first = [_free_ports(1)[0], taken.getsockname()[1]]
        cluster = clusters(args, ports=first)
        cluster.wait_for(1, "step 3/")  # both are in the loop: steps need both workers
    assert cluster.attempts == 2 and cluster.ports != first
    cluster.workers[1].send_signal(signal.SIGTERM)  # the non-chief only
    # the worker that received SIGTERM exits 143 (terminated), the other 0
    done = {f"worker {i}": result for i, result in enumerate(cluster.finish((0, 143)))}
    stopped = [
        re.search(r"stopped at step (\d+) \(sigterm\)", done[f"worker {i}"][1]) for i in (0, 1)
    ]
    assert all(stopped), done
    step = int(stopped[0].group(1))
    assert int(stopped[1].group(1)) == step >= 3
    assert "SIGTERM (sent to another worker): saved" in done["worker 0"][2]
    assert "SIGTERM: saved" in done["worker 1"][2]
    assert (shared_dir / f"ckpt-{step}.index").exists()
