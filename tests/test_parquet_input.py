"""Parquet input (``--input-format parquet --text-field F``): one document per row, row
groups read in parallel, the same documents and records as the same text in JSONL,
null rows counted, a missing or non-string column named in one line, remote paths."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from albert_data.errors import UserError
from albert_data.files.parquet import plan_row_groups, read_rows
from albert_data.jobs.beam_job import BeamSettings
from albert_data.jobs.split_sentences import SplitSentencesRequest, run
from albert_data.text.corpus import generate_documents
from albert_data.text.documents import SplitConfig
from albert_data.text.rawtext import ReadConfig
from tests.cli_helpers import error_line, invoke
from tests.test_remote_filesystem import no_local_calls_on_remote_paths  # noqa: F401 (fixture)

ROWS = 90
NULLS = (5, 44, 71)
GROUP_ROWS = 16  # 6 row groups


def texts(lang: str = "en") -> list[str | None]:
    docs = list(generate_documents(lang, seed=11, num_documents=ROWS))
    return [None if i in NULLS else doc for i, doc in enumerate(docs)]


def write_parquet(path, column: list, *, group_rows: int = GROUP_ROWS, name: str = "text"):
    ids = pa.array(range(len(column)), pa.int64())
    table = pa.table({"id": ids, name: pa.array(column, pa.string())})
    pq.write_table(table, path, row_group_size=group_rows)
    return path


def write_jsonl(path, column: list):
    rows = [json.dumps({"text": t}, ensure_ascii=False) for t in column if t is not None]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("parquet")
    column = texts()
    return {
        "parquet": write_parquet(root / "wiki.parquet", column),
        "jsonl": write_jsonl(root / "wiki.jsonl", column),
        "rows": column,
    }


def split(paths, out, fmt, beam=None):
    config = SplitConfig(read=ReadConfig(format=fmt), dedup=False)
    request = SplitSentencesRequest(
        inputs=tuple(map(str, paths)), output=str(out), config=config, progress=False, beam=beam
    )
    return run(request, say=lambda line: None).summary


def test_row_groups_are_the_ranges_and_no_row_is_lost_or_read_twice(inputs):
    ranges = plan_row_groups(str(inputs["parquet"]))
    assert len(ranges) == -(-ROWS // GROUP_ROWS) == 6
    assert ranges[0].start == 0 and ranges[-1].end == -1
    rows = [row for r in ranges for row in read_rows(r, "text")]
    assert [i for i, _ in rows] == list(range(ROWS))
    assert [t for _, t in rows] == inputs["rows"]


def test_split_sentences_parquet_equals_jsonl_local_and_beam(inputs, tmp_path):
    from_jsonl = split([inputs["jsonl"]], tmp_path / "j.txt", "jsonl")
    local = split([inputs["parquet"]], tmp_path / "p.txt", "parquet")
    beam = split(
        [inputs["parquet"]], tmp_path / "b.txt", "parquet", beam=BeamSettings(num_workers=2)
    )
    expected = (tmp_path / "j.txt").read_bytes()
    assert (tmp_path / "p.txt").read_bytes() == expected
    assert (tmp_path / "b.txt").read_bytes() == expected
    for summary in (local, beam):
        assert summary.documents_in == from_jsonl.documents_in == ROWS - len(NULLS)
        assert summary.read.null_rows == len(NULLS)
        assert summary.bytes == inputs["parquet"].stat().st_size
        assert f"null rows skipped   {len(NULLS)}" in "\n".join(summary.lines())


@pytest.mark.parametrize("workers", [1, 2])
def test_make_pretraining_parquet_gives_the_records_of_jsonl(inputs, sample_en, tmp_path, workers):
    common = ["--spm-model", sample_en["spm"], "--max-seq-length", 64, "--dupe-factor", 2]
    common += ["--num-shards", 2, "--num-workers", workers, "--no-progress"]
    invoke(
        "make-pretraining",
        inputs["jsonl"],
        "-o",
        tmp_path / "j",
        "--input-format",
        "jsonl",
        *common,
    )
    proc = invoke(
        "make-pretraining",
        inputs["parquet"],
        "-o",
        tmp_path / "p",
        "--input-format",
        "parquet",
        *common,
    )
    for i in range(2):
        name = f"pretraining-0000{i}-of-00002.tfrecord"
        assert (tmp_path / "p" / name).read_bytes() == (tmp_path / "j" / name).read_bytes()
    stats = json.loads((tmp_path / "p" / "stats.json").read_text())
    jsonl_stats = json.loads((tmp_path / "j" / "stats.json").read_text())
    assert stats["byte_ranges"] == 6 and stats["num_workers"] == workers
    assert stats["counts"]["documents_read"] == jsonl_stats["counts"]["documents_read"]
    assert stats["counts"]["null_rows_skipped"] == len(NULLS)
    assert f"null Parquet rows skipped: {len(NULLS)}" in proc.stderr


def test_a_missing_or_non_string_column_is_one_line(inputs, tmp_path):
    proc = invoke(
        "split-sentences", inputs["parquet"], "-o", tmp_path / "o", "--input-format", "parquet",
        "--text-field", "body", check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert error_line(proc) == (
        f"error: {inputs['parquet']}: has no column 'body' (columns: id, text); choose the text "
        "column with --text-field"
    )
    with pytest.raises(
        UserError, match=r"column 'id' holds int64, not text \(string columns: text\)"
    ):
        split_request = SplitSentencesRequest(
            inputs=(str(inputs["parquet"]),),
            output=str(tmp_path / "o2"),
            config=SplitConfig(read=ReadConfig(format="parquet", text_field="id")),
            progress=False,
        )
        run(split_request, say=lambda line: None)
    assert not (tmp_path / "o").exists() and not (tmp_path / "o2").exists()


def test_parquet_read_as_text_names_the_option(inputs, tmp_path):
    proc = invoke("split-sentences", inputs["parquet"], "-o", tmp_path / "o", check=False)
    assert proc.returncode == 2
    assert (
        "is a Parquet file; read it with --input-format parquet --text-field COLUMN"
        in error_line(proc)
    )


def test_text_read_as_parquet_is_one_line(inputs, tmp_path):
    proc = invoke(
        "split-sentences", inputs["jsonl"], "-o", tmp_path / "o", "--input-format", "parquet",
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "cannot be read as Parquet" in error_line(proc)


@pytest.mark.usefixtures("no_local_calls_on_remote_paths")
def test_chinese_rows_and_a_remote_parquet_file(tmp_path):
    from click.testing import CliRunner

    from albert_data.cli import main
    from tests import memfs

    local = write_parquet(tmp_path / "zh.parquet", texts("zh"), group_rows=32)
    split([local], tmp_path / "local.txt", "parquet")
    memfs.clear()
    memfs._FILES["mem://bucket/zh.parquet"] = local.read_bytes()
    try:
        for extra in ([], ["--runner", "DirectRunner", "--num-workers", "1"]):
            args = ["split-sentences", "mem://bucket/zh.parquet", "-o", "mem://bucket/out.txt"]
            args += ["--input-format", "parquet", "--no-dedup", "--overwrite", *extra]
            result = CliRunner().invoke(main, args, catch_exceptions=False)
            assert result.exit_code == 0, result.output
            written = memfs.listing("mem://bucket/out.txt")["mem://bucket/out.txt"]
            assert written == (tmp_path / "local.txt").read_bytes()
    finally:
        memfs.clear()


def test_large_string_columns_are_text(tmp_path):
    path = tmp_path / "large.parquet"
    column = ["First row. It has two sentences.", None, "Second row."]
    pq.write_table(pa.table({"body": pa.array(column, pa.large_string())}), path)
    (whole,) = plan_row_groups(str(path))
    assert [text for _, text in read_rows(whole, "body")] == column
