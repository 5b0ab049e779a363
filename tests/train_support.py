"""Helpers for the trainer tests: tiny configs and synthetic records in the real schema."""

from __future__ import annotations

import dataclasses
import queue
import subprocess
import threading
import time
from pathlib import Path

from albert_data.model import preset
from albert_data.training.config import DataConfig, OptimizerConfig, TrainConfig
from albert_data.training.synthetic import write_synthetic_records

SEQ, PREDS, VOCAB = 32, 5, 100


def tiny_config(**changes):
    return dataclasses.replace(preset("tiny"), vocab_size=VOCAB, **changes)


def write_records(
    directory: Path,
    count: int = 16,
    *,
    seed: int = 0,
    dynamic: bool = False,
    name="a.tfrecord",
    seq=SEQ,
    preds=PREDS,
    vocab=VOCAB,
) -> Path:
    return write_synthetic_records(
        Path(directory) / name,
        count,
        max_seq_length=seq,
        max_predictions_per_seq=preds,
        vocab_size=vocab,
        seed=seed,
        dynamic=dynamic,
    )


def configs(
    records_glob: str,
    model_dir: Path,
    *,
    steps: int,
    batch: int = 16,
    lr: float = 0.02,
    optimizer: str = "lamb",
    **run,
):
    data = DataConfig(
        patterns=(records_glob,),
        max_seq_length=SEQ,
        max_predictions_per_seq=PREDS,
        batch_size=batch,
        shuffle_buffer=64,
    )
    opt = OptimizerConfig(
        name=optimizer, learning_rate=lr, num_train_steps=steps, num_warmup_steps=5
    )
    train = TrainConfig(
        model_dir=str(model_dir),
        num_train_steps=steps,
        # No XLA unless a test asks for it (``jit=True``): compiling costs seconds per
        # run and is the subject of only a few tests.
        **{"log_every": 10, "save_every": 1000, "jit": False, **run},
    )
    return {"model_config": tiny_config(), "data": data, "optimizer_config": opt, "run": train}


def cli_train_args(records_glob: str, model_dir: Path, *extra) -> list[str]:
    return [
        "train",
        "--records",
        records_glob,
        "--model-dir",
        str(model_dir),
        "--preset",
        "tiny",
        "--vocab-size",
        str(VOCAB),
        "--max-seq-length",
        str(SEQ),
        "--max-predictions-per-seq",
        str(PREDS),
        "--train-batch-size",
        "8",
        "--num-warmup-steps",
        "2",
        "--learning-rate",
        "0.01",
        "--shuffle-buffer",
        "32",
        *map(str, extra),
    ]


class Running:
    """A subprocess whose stdout and stderr are read on threads, so that waiting for a
    line (:meth:`wait_for`) or for the end (:meth:`finish`) never blocks past a deadline."""

    def __init__(self, args, *, env: dict, cwd=None):
        self.proc = subprocess.Popen(
            [str(a) for a in args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._out: list[str] = []
        self._err: list[str] = []
        self._err_lines: queue.Queue[str | None] = queue.Queue()
        self._eof = False
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._out, None)),
            threading.Thread(
                target=self._pump, args=(self.proc.stderr, self._err, self._err_lines)
            ),
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    @staticmethod
    def _pump(stream, into: list[str], lines: queue.Queue | None) -> None:
        for line in stream:
            into.append(line)
            if lines is not None:
                lines.put(line)
        if lines is not None:
            lines.put(None)

    def next_line(self, timeout: float) -> str | None:
        """The next stderr line; ``""`` if none came within ``timeout``, None at EOF."""
        if self._eof:
            return None
        try:
            line = self._err_lines.get(timeout=max(timeout, 0))
        except queue.Empty:
            return ""
        self._eof = line is None
        return line

    def wait_for(self, text: str, timeout: float) -> str:
        """The first stderr line containing ``text``; AssertionError at EOF or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {text!r} on stderr within {timeout}s:\n{self.stderr}"
            line = self.next_line(remaining)
            assert line is not None, f"ended before {text!r}:\n{self.stdout}\n{self.stderr}"
            if text in line:
                return line

    @property
    def stdout(self) -> str:
        return "".join(self._out)

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def poll(self) -> int | None:
        return self.proc.poll()

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float) -> tuple[int | None, str, str]:
        """(exit code, stdout, stderr); a process still running after ``timeout`` is
        killed and reported with code None."""
        try:
            code = self.proc.wait(timeout=max(timeout, 0.1))
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        for thread in self._threads:
            thread.join(timeout=10)
        return code, self.stdout, self.stderr

    def finish_ok(self, timeout: float, what: str = "the trainer") -> tuple[str, str]:
        """(stdout, stderr) of a run that must exit 0 within ``timeout``; otherwise an
        AssertionError saying which (late: killed) with its output."""
        code, out, err = self.finish(timeout)
        assert code is not None, f"{what} did not finish within {timeout}s (killed):\n{out}\n{err}"
        assert code == 0, f"{what} exited {code}:\n{out}\n{err[-4000:]}"
        return out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
