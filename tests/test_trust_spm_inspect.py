"""spm-train and inspect as jobs: the request/run layer, progress, the vocabulary check
against ``stats.json``, and Beam pass-through options that nobody knows."""

from __future__ import annotations

import io
import json
import os
from dataclasses import FrozenInstanceError

import pytest

from albert_data.errors import UserError
from albert_data.jobs.inspect import InspectRequest
from albert_data.jobs.inspect import run as run_inspect
from albert_data.jobs.reporting import StepProgress, human
from albert_data.jobs.spm_train import SpmTrainRequest
from albert_data.jobs.spm_train import run as run_spm_train
from pipelines.options import check_known_options, known_beam_options
from tests.cli_helpers import invoke
from tests.vocab_corpus import english_sentences, write_lines
from vocab.spm_recipe import SpmRecipe

EN = english_sentences(800, seed=11)


# --- progress ---------------------------------------------------------------------------


def test_periodic_lines_off_a_terminal():
    out = io.StringIO()
    with StepProgress("step", total=2000, stream=out, interval=0) as progress:
        progress.update(500)
        progress.update(1500)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("step: 500 B of 2.0 kB (25%), ETA ")
    assert lines[1].startswith("step: 2.0 kB of 2.0 kB (100%), ")
    assert lines[-1].startswith("step: 2.0 kB of 2.0 kB (100%), ") and len(lines) == 3


def test_short_steps_and_failed_steps_stay_silent():
    out = io.StringIO()
    with StepProgress("step", total=10, stream=out, interval=3600) as progress:
        progress.update(10)
    assert out.getvalue() == ""
    failed = io.StringIO()
    with pytest.raises(RuntimeError), StepProgress("s", total=10, stream=failed, interval=0):
        raise RuntimeError("boom")
    assert failed.getvalue() == ""  # the error is the one line to read


def _drain(fd: int) -> str:
    """Everything written to the terminal so far (bounded waits, never hangs)."""
    import select

    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_a_bar_on_a_terminal_and_lines_with_no_progress_there_too():
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with open(slave, "w", closefd=True) as tty:
        with StepProgress("bar", total=100, unit="records", stream=tty) as progress:
            progress.update(100)
        tty.flush()
        drawn = _drain(master)
        with StepProgress("plain", total=100, stream=tty, bar=False, interval=0) as progress:
            progress.update(40)
        plain = _drain(master)
    os.close(master)
    assert "bar: 100%" in drawn and "100/100" in drawn
    assert plain.startswith("plain: 40 B of 100 B (40%), ETA ") and "|" not in plain
    assert human(1234567, "B") == "1.2 MB" and human(12, "records") == "12 records"


# --- spm-train: the job -----------------------------------------------------------------


def test_spm_train_request_is_frozen_and_run_returns_a_summary(tmp_path):
    corpus = write_lines(tmp_path / "en.txt", EN)
    req = SpmTrainRequest(
        inputs=(corpus,),
        model_prefix=str(tmp_path / "v" / "m"),
        recipe=SpmRecipe(vocab_size=300),
        num_threads=1,
    )
    with pytest.raises(FrozenInstanceError):
        req.seed = 5  # type: ignore[misc]
    result = run_spm_train(req)
    assert result.pieces == 300 and result.lines_read == 800 and result.sentences == 800
    assert result.summary_lines()[0].startswith("read 800 lines from 1 file(s); trained on 800")
    assert [line.split()[1] for line in result.written_lines()] == [
        f"{tmp_path}/v/m{suffix}" for suffix in (".model", ".vocab", ".json")
    ]
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["m.json", "m.model", "m.vocab"]


def test_spm_train_says_when_sentencepiece_starts_and_ends(tmp_path):
    corpus = write_lines(tmp_path / "en.txt", EN)
    proc = invoke("spm-train", corpus, "--model-prefix", tmp_path / "m", "--vocab-size", "300")
    assert "spm-train: training SentencePiece (unigram, 300 pieces) on 800 sentences" in proc.stderr
    assert "spm-train: SentencePiece trained in " in proc.stderr
    assert proc.stdout.splitlines()[0] == f"wrote {tmp_path}/m.model (300 pieces)"


# --- pass-through options ---------------------------------------------------------------


def test_check_known_options_accepts_beam_options():
    known = known_beam_options()
    assert {"--temp_location", "--project", "--direct_running_mode", "--flink_master"} <= known
    check_known_options(["--temp_location=/tmp/x", "--save_main_session", "--project=p"])


@pytest.mark.parametrize(
    ("given", "closest"),
    [
        ("--min-sentence=3", "--min-sentences"),
        ("--temp_locaton=gs://b/t", "--temp_location"),
        ("--direct-num-workers=2", "--direct_num_workers"),
    ],
)
def test_check_known_options_names_the_closest(given, closest):
    with pytest.raises(UserError) as caught:
        check_known_options([given], command_options=("--min-sentences", "--min-chars"))
    name = given.split("=")[0]
    assert str(caught.value) == (
        f"unknown option {name}: neither this command nor Beam knows it; did you mean {closest}?"
    )


def test_spm_train_refuses_an_unknown_pass_through_option(tmp_path):
    corpus = write_lines(tmp_path / "en.txt", EN)
    prefix = tmp_path / "m"
    runner = ("--runner", "DirectRunner")
    proc = invoke(
        "spm-train", corpus, "--model-prefix", prefix, *runner, "--bogus_opt", check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: unknown option --bogus_opt: neither this command nor Beam knows it;"
        " see --help and Beam's pipeline options"
    )
    typo = invoke(
        "spm-train",
        corpus,
        "--model-prefix",
        prefix,
        *runner,
        "--input-sentence-siz=9",
        check=False,
    )
    assert typo.returncode == 2 and "did you mean --input-sentence-size?" in typo.stderr
    assert not list(tmp_path.glob("m.*"))


# --- inspect: the vocabulary the records were made with ---------------------------------


# ``made``: the session's records and vocabularies (tests/conftest.py).


def test_inspect_accepts_the_recorded_vocabulary(made):
    result = run_inspect(InspectRequest(records=(str(made["records"]),), vocab=str(made["vocab"])))
    assert result.ok and result.problem_lines() == []
    assert "all valid" in result.summary_lines()[0]


def test_inspect_refuses_another_vocabulary_naming_both(made):
    proc = invoke("inspect", made["records"], "--vocab", made["other"], check=False)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    stats = json.loads((made["records"] / "stats.json").read_text())["vocabulary"]
    assert line.startswith(f"error: {made['other']} (fingerprint ")
    assert f"{made['records']}/stats.json names {made['vocab']}" in line
    assert f"(fingerprint {stats['fingerprint'][:12]})" in line
    assert "--allow-vocab-mismatch" in line


def test_allow_vocab_mismatch_inspects_anyway(made):
    proc = invoke(
        "inspect", made["records"], "--vocab", made["other"], "--allow-vocab-mismatch", check=False
    )
    assert "mismatch" not in proc.stderr and "records " in proc.stdout
    assert proc.returncode in (0, 1)  # the ids are decoded with the other vocabulary


def test_inspect_reports_progress_over_every_byte(made):
    from albert_data.records.inspection import inspect_files, load_vocab, record_files

    files = record_files([str(made["records"])])
    done: list[int] = []
    report = inspect_files(files, load_vocab(str(made["vocab"])), progress=done.append)
    assert sum(report.records_per_file.values()) > 512  # more than one report per file
    assert len(done) >= 2 and sum(done) == sum(os.path.getsize(f) for f in files)
    quiet = invoke("inspect", made["records"], "--vocab", made["vocab"], "--no-progress")
    assert quiet.stderr == ""  # a run shorter than the interval writes no progress line
