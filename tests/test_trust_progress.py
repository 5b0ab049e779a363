"""Progress on every long step: a tqdm bar only on a terminal, one-line updates
otherwise (and with ``--no-progress``), for split-sentences (local and Beam),
make-pretraining, spm-train and export."""

from __future__ import annotations

import fcntl
import gzip
import io
import os
import re
import select
import struct
import subprocess
import termios
import threading
import time
from types import SimpleNamespace

from albert_data.jobs import beam_progress
from albert_data.jobs.reporting import Heartbeat
from albert_data.text.rawtext import ReadConfig, ReadCounts, read_documents
from pipelines.progress import counting_writes, range_name, report_progress
from tests.cli_helpers import BIN


def _drain(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        try:
            chunks.append(os.read(fd, 65536))
        except OSError:  # the other end closed
            break
    return b"".join(chunks).decode(errors="replace")


def _split(args, *, stderr) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [str(BIN), "split-sentences", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        timeout=300,
    )


def test_split_sentences_draws_no_bar_off_a_terminal_and_one_on_it(sample_en, tmp_path):
    """Off a terminal (a pipe, a log file) the local path writes no tqdm bar (it did:
    tqdm was only disabled by --no-progress); on a terminal it draws one."""
    piped = _split([sample_en["raw"], "-o", tmp_path / "a.txt"], stderr=subprocess.PIPE)
    assert piped.returncode == 0
    err = piped.stderr.decode()
    assert "\r" not in err and "%|" not in err and "it/s" not in err, err
    assert err.splitlines()[0].startswith("split-sentences done in ")

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        on_tty = _split([sample_en["raw"], "-o", tmp_path / "b.txt"], stderr=slave)
        os.close(slave)
        drawn = _drain(master)
    finally:
        os.close(master)
    assert on_tty.returncode == 0
    assert "split-sentences: 100%" in drawn and "155k/155k" in drawn.replace(".", ""), drawn
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()


def test_local_reading_reports_every_raw_byte_as_it_goes(tmp_path):
    """The local reader tells progress the raw (compressed) bytes as it reads, not one
    jump per file: a big file moves the bar, and the sum is the file's size."""
    text = "".join(f"Sentence {i} of a document.\n\n" for i in range(40_000)).encode()
    plain = tmp_path / "big.txt"
    plain.write_bytes(text)
    packed = tmp_path / "big.txt.gz"
    packed.write_bytes(gzip.compress(text))
    for path in (plain, packed):
        seen: list[int] = []
        docs = 0
        for _ in read_documents(str(path), ReadConfig(), ReadCounts(), on_bytes=seen.append):
            docs += 1
            if docs == 100:
                assert 0 < sum(seen) < path.stat().st_size  # under way, not done
        assert docs == 40_000
        assert sum(seen) == path.stat().st_size and len([n for n in seen if n]) > 1


def _spec(progress_dir, total: dict[str, int], unit: str) -> SimpleNamespace:
    return SimpleNamespace(
        progress_dir=str(progress_dir),
        progress_total=total,
        description="make-pretraining",
        written_unit=unit,
    )


def test_beam_progress_lines_read_bytes_then_what_is_written(tmp_path, monkeypatch):
    """Off a terminal the launcher writes a line every LINE_EVERY seconds from the
    workers' reports: input bytes read with an ETA, then, while shards are merged and
    written, the records written so far."""
    monkeypatch.setattr(beam_progress, "LINE_EVERY", 0.0)
    monkeypatch.setattr(beam_progress, "POLL_SECONDS", 0.05)
    progress = tmp_path / "progress"
    ranges = [SimpleNamespace(start=0), SimpleNamespace(start=1_000_000)]
    total = {range_name(0, r): 1_000_000 for r in ranges}
    out = io.StringIO()
    console = SimpleNamespace(stream=out, say=lambda line: out.write(line + "\n"))
    stop = threading.Event()
    spec = _spec(progress, total, "records")
    thread = threading.Thread(target=beam_progress._poll, args=(spec, console, stop, False))
    thread.start()

    def wait_for(text: str) -> None:
        deadline = time.monotonic() + 30
        while text not in out.getvalue():
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.05)

    try:
        wait_for("0.0 of 2.0 MB read (0%)")
        report_progress(str(progress), range_name(0, ranges[0]), 999_000)
        wait_for("1.0 of 2.0 MB read (50%)")
        report_progress(str(progress), range_name(0, ranges[1]), 999_000)
        wait_for("2.0 of 2.0 MB read (100%)")
        wait_for("; merging and writing the records")
        assert list(counting_writes(range(45_000), str(progress), 3)) == list(range(45_000))
        wait_for("; 45,000 records written")
    finally:
        stop.set()
        thread.join(timeout=10)
    half = next(line for line in out.getvalue().splitlines() if "(50%)" in line)
    assert "s left" in half  # an ETA while reading


def test_a_heartbeat_for_steps_that_cannot_count(tmp_path):
    """SentencePiece's training and export's writes cannot count their work: a line
    every interval off a terminal, an elapsed-time counter on one."""
    out = io.StringIO()
    with Heartbeat("spm-train training", bar=False, stream=out, interval=0.2, tick=0.05):
        # Wait for the lines rather than sleep a fixed time: a loaded machine can delay
        # the heartbeat's thread, which must still write them while the step runs.
        deadline = time.monotonic() + 60
        while out.getvalue().count("\n") < 3:
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.05)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3, lines
    assert all(
        re.fullmatch(r"spm-train training: still running, \d+:\d\d elapsed", line) for line in lines
    ), lines

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with open(slave, "w", closefd=True) as tty:
        with Heartbeat("export: writing saved_model", stream=tty, tick=0.05):
            time.sleep(0.3)
        tty.flush()
        drawn = _drain(master)
    os.close(master)
    assert "export: writing saved_model: 00:00" in drawn and "still running" not in drawn
