"""``inspect`` on many processes and in byte ranges, a sample, examples first, silence:
every bad record still named by its file and index, the same report as one process."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from albert_data.cli import main
from albert_data.errors import UserError
from albert_data.files.tfrecord import write_records
from albert_data.jobs import inspect as inspect_job
from albert_data.records.inspection import inspect_files, load_vocab
from albert_data.records.schema import parse
from tests.pretraining_records import encode, make_records, write_vocab

BAD = (0, 7, 255, 256, 511, 512, 600)  # first, inside, across batch edges, last ranges


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    path = write_vocab(tmp_path_factory.mktemp("vocab") / "vocab.txt")
    return path, load_vocab(path)


@pytest.fixture(scope="module")
def many():
    """Over 600 valid records (several 512-record batches)."""
    records = make_records(380, seed=9)
    assert len(records) > max(BAD) + 1
    return records


def broken(records: list[bytes]) -> list[bytes]:
    """``records`` with an SOP label of 2 at each index of BAD."""
    out = list(records)
    for k in BAD:
        f = parse(out[k])
        f["next_sentence_labels"][0] = 2
        out[k] = encode(f)
    return out


def files_of(tmp_path, records, parts=2, compress=False):
    step = -(-len(records) // parts)
    paths = []
    for p in range(parts):
        path = tmp_path / f"r-{p:05d}-of-{parts:05d}.tfrecord{'.gz' if compress else ''}"
        write_records(path, records[p * step : (p + 1) * step], compress=compress)
        paths.append(str(path))
    return paths


def same_reports(a, b):
    assert [str(p) for p in a.problems] == [str(p) for p in b.problems]
    assert a.records_per_file == b.records_per_file
    assert a.stats == b.stats and a.invalid_records == b.invalid_records
    assert a.problem_count == b.problem_count and a.examples == b.examples


@pytest.mark.parametrize("range_bytes", [450, 20_000])  # 450: some ranges start no frame
def test_bad_records_are_named_by_file_and_index_across_ranges_and_processes(
    tmp_path, vocab, many, range_bytes
):
    _, v = vocab
    paths = files_of(tmp_path, broken(many), parts=1)
    serial = inspect_files(paths, v, workers=1)
    spread = inspect_files(paths, v, workers=2, range_bytes=range_bytes, parallel_from=0)
    assert [(p.file, p.record) for p in spread.problems] == [(paths[0], k) for k in BAD]
    assert all(p.message == "next_sentence_labels is 2, expected 0 or 1" for p in spread.problems)
    assert spread.invalid_records == len(BAD)
    assert spread.stats.records == len(many) - len(BAD)
    same_reports(serial, spread)


def test_two_files_in_ranges_and_gzip_name_their_own_indices(tmp_path, vocab, many):
    _, v = vocab
    data = broken(many)
    (tmp_path / "plain").mkdir()
    (tmp_path / "gz").mkdir()
    plain = files_of(tmp_path / "plain", data, parts=2)
    packed = files_of(tmp_path / "gz", data, parts=2, compress=True)
    half = -(-len(data) // 2)
    expected = [(0, k) for k in BAD if k < half] + [(1, k - half) for k in BAD if k >= half]
    for paths in (plain, packed):
        report = inspect_files(paths, v, workers=2, range_bytes=5_000, parallel_from=0)
        assert [(p.file, p.record) for p in report.problems] == [(paths[f], k) for f, k in expected]
        same_reports(inspect_files(paths, v, workers=1), report)


def test_a_broken_frame_in_a_later_range_stops_the_run_naming_its_record(tmp_path, vocab, many):
    _, v = vocab
    (path,) = files_of(tmp_path, many, parts=1)
    raw = bytearray(open(path, "rb").read())
    offset = sum(16 + len(r) for r in many[:400])
    raw[offset + 30] ^= 0xFF
    open(path, "wb").write(bytes(raw))
    messages = []
    for workers, parallel_from in ((1, 1 << 40), (2, 0)):
        with pytest.raises(UserError) as err:
            inspect_files(
                [path], v, workers=workers, range_bytes=4_000, parallel_from=parallel_from
            )
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith(f"{path}: record 400: not a valid TFRecord file: data CRC")
    assert f"at byte offset {offset};" in messages[0]


def test_a_sample_reads_the_first_records_of_each_file_and_says_so(tmp_path, vocab, many):
    vocab_path, v = vocab
    paths = files_of(tmp_path, broken(many), parts=2)
    report = inspect_files(paths, v, workers=2, max_records=21, parallel_from=0)
    assert list(report.records_per_file.values()) == [11, 10]
    assert [p.record for p in report.problems] == [0, 7]  # the bad records among them
    result = CliRunner().invoke(
        main, ["inspect", *paths, "--vocab", vocab_path, "--max-records", "21", "--json"]
    )
    data = json.loads(result.stdout)
    assert data["sample"] == {"max_records": 21, "records_checked": 21}
    text = CliRunner().invoke(main, ["inspect", *paths, "--vocab", vocab_path, "--max-records", 21])
    assert "records          21 (2 invalid)" in text.stdout
    assert (
        "sample           only the first 21 records were checked (--max-records 21" in text.stdout
    )
    whole = CliRunner().invoke(main, ["inspect", *paths, "--vocab", vocab_path, "--json"])
    assert json.loads(whole.stdout)["sample"] is None


def test_examples_are_handed_on_before_the_rest_is_read(tmp_path, vocab, many):
    _, v = vocab
    paths = files_of(tmp_path, many, parts=3)
    done: list[int] = []
    seen: list[tuple[int, int]] = []
    report = inspect_files(
        paths,
        v,
        show=2,
        progress=done.append,
        on_examples=lambda ex: seen.append((len(ex), sum(done))),
    )
    total = sum(done)
    ((count, read_by_then),) = seen
    assert count == 2 and read_by_then < total / 2
    assert [e["record"] for e in report.examples] == [0, 1]


def test_the_command_prints_the_examples_first_then_the_summary(tmp_path, vocab, many):
    vocab_path, _ = vocab
    paths = files_of(tmp_path, many, parts=2)
    shown: list[list[str]] = []
    result = inspect_job.run(
        inspect_job.InspectRequest(records=tuple(paths), vocab=vocab_path, show=2, progress=False),
        show_examples=shown.append,
    )
    (lines,) = shown
    assert lines[0].startswith(f"{paths[0]}: record 0  (") and lines[4].startswith(
        f"{paths[0]}: record 1  ("
    )
    (summary,) = result.summary_lines()
    assert summary.startswith("files            2\n") and ": record 0" not in summary
    cli = CliRunner().invoke(main, ["inspect", *paths, "--vocab", vocab_path, "--show", "1"])
    assert cli.stdout.index(": record 0  (") < cli.stdout.index("files            2")


def test_no_progress_is_silent_where_progress_writes_lines(
    tmp_path, vocab, many, monkeypatch, capsys
):
    vocab_path, _ = vocab
    paths = files_of(tmp_path, many, parts=2)
    monkeypatch.setattr(inspect_job, "PROGRESS_INTERVAL", 0)
    for progress in (True, False):
        inspect_job.run(
            inspect_job.InspectRequest(records=tuple(paths), vocab=vocab_path, progress=progress)
        )
        err = capsys.readouterr().err
        if progress:
            assert err.count("inspect reading: ") >= 2
        else:
            assert err == ""


def test_many_processes_check_the_same_as_one(tmp_path, vocab):
    _, v = vocab
    records = make_records(120, seed=1, masking="dynamic") + make_records(60, seed=2)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(records))
    paths = files_of(tmp_path, [records[i] for i in order], parts=3)
    same_reports(
        inspect_files(paths, v, workers=1),
        inspect_files(paths, v, workers=3, range_bytes=7_000, parallel_from=0),
    )
