"""Beam options: pass-through parsing, the local default, staging for remote runners."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from albert_data.commands.beam_args import split_pass_through
from pipelines.options import build_options
from tests.cli_helpers import error_line, invoke

ROOT = Path(__file__).resolve().parent.parent


def test_split_pass_through_separates_inputs_and_options(tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    tokens = [
        str(doc),
        "--project",
        "p",
        "--temp_location",
        "gs://bucket/tmp",
        "--region=us-central1",
        "--save_main_session",
        str(tmp_path / "*.txt"),
    ]
    inputs, options = split_pass_through(tokens)
    assert inputs == [str(doc), str(tmp_path / "*.txt")]
    assert options == [
        "--project=p",
        "--temp_location=gs://bucket/tmp",
        "--region=us-central1",
        "--save_main_session",
    ]


def test_local_default_is_multiprocessing_direct_runner():
    opts = build_options(runner=None, pass_through=[], num_workers=3).get_all_options()
    assert opts["runner"] == "DirectRunner"
    assert opts["direct_running_mode"] == "multi_processing"
    assert opts["direct_num_workers"] == 3


def test_remote_runner_stages_this_package_as_a_wheel():
    opts = build_options(
        runner="DataflowRunner",
        pass_through=["--project=p", "--region=r", "--temp_location=gs://b/t"],
        job_name="albert-data-test",
    ).get_all_options()
    assert opts["runner"] == "DataflowRunner" and opts["project"] == "p"
    wheel = Path(opts["extra_packages"][0])
    assert wheel.name.startswith("albert_data-") and wheel.suffix == ".whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert "pipelines/pretraining.py" in names and "albert_data/pretraining/masking.py" in names
    assert "vocab/base.py" in names


def test_user_staging_is_respected():
    opts = build_options(
        runner="DataflowRunner", pass_through=["--setup_file=/x/setup.py"]
    ).get_all_options()
    assert not opts.get("extra_packages")


def test_beam_options_need_a_runner(tmp_path):
    doc = tmp_path / "a.txt"
    doc.write_text("A sentence.\n")
    proc = invoke("split-sentences", doc, "-o", tmp_path / "o.txt", "--project", "p", check=False)
    assert (
        proc.returncode == 2
        and "--project=p" in error_line(proc)
        and "--runner" in error_line(proc)
    )
    invoke(
        "split-sentences",
        doc,
        "-o",
        tmp_path / "o.txt",
        "--runner",
        "DirectRunner",
        "--direct_num_workers",
        "1",
        "--num-workers",
        "1",
    )
    assert (tmp_path / "o.txt").read_text() == "A sentence.\n"


def test_dataflow_refuses_local_paths_up_front(tmp_path):
    from albert_data.errors import UserError
    from pipelines.options import check_paths_for_runner

    with pytest.raises(UserError, match=r"--output .*out is a local path.*gs://"):
        check_paths_for_runner("DataflowRunner", {"INPUTS": ["gs://b/x"], "--output": ["out"]})
    check_paths_for_runner("DataflowRunner", {"INPUTS": ["gs://b/x"], "--output": ["gs://b/o"]})
    check_paths_for_runner("DirectRunner", {"INPUTS": ["local.txt"], "--output": ["out"]})
    src = tmp_path / "raw.txt"
    src.write_text("A sentence.\n")
    proc = invoke(
        "split-sentences", src, "-o", "gs://bucket/docs.txt", "--runner", "DataflowRunner",
        "--project", "p", check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "INPUTS" in error_line(proc) and "raw.txt" in error_line(proc)


def test_local_workers_never_outnumber_byte_ranges():
    from albert_data.jobs.beam_job import BeamSettings

    assert BeamSettings(num_workers=4).workers_for(1) == 1
    assert BeamSettings(num_workers=4).workers_for(3) == 3
    assert BeamSettings(num_workers=4).workers_for(10) == 4
    assert BeamSettings(num_workers=4).workers_for(None) == 4
    assert BeamSettings(runner="DirectRunner").workers_for(1) == 1
    assert BeamSettings(runner="DataflowRunner", num_workers=5).workers_for(1) == 5


def test_lean_beam_leaves_out_optional_io_only_while_beam_is_imported():
    code = """
import sys
from pipelines.lean_beam import without_optional_io
with without_optional_io():
    import apache_beam
    from apache_beam.io.filesystems import FileSystems
left_out = ("pyarrow", "google.cloud.", "apache_beam.io.gcp", "apache_beam.io.aws", "apitools")
assert not [m for m in sys.modules if m.startswith(left_out)]
assert type(FileSystems.get_filesystem("/tmp")).__name__ == "LocalFileSystem"
import apache_beam.io.gcp.gcsio  # imports again once the block is over
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_a_lean_warm_worker_leaves_out_optional_io_only_while_it_imports_beam():
    # Its DoFns import what they read with afterwards: pyarrow for Parquet input.
    code = """
import sys
from pipelines.worker_process import import_beam
import_beam(lean=True)
assert not [m for m in sys.modules if m.startswith(("pyarrow", "apache_beam.io.gcp"))]
import pyarrow.parquet
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.strip() == "ok", proc.stderr


_STAGE = """
import os, sys
import pipelines.options as options
if sys.argv[1] == "installed":
    options.project_root = lambda: None  # as when albert-data is installed, not a checkout
(flag,) = options.staging_args()
path = flag.split("=", 1)[1]
print(flag.split("=", 1)[0], os.path.isfile(path), os.path.basename(path))
"""


@pytest.mark.parametrize("kind", ["checkout", "installed"])
def test_staged_files_are_removed_when_the_launcher_exits(tmp_path, kind):
    """What a remote run stages (a wheel of this checkout, or a requirements file naming
    the installed version) exists while the job is submitted and is gone afterwards."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _STAGE, kind],
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    flag, existed, name = done.stdout.split()
    expected = (
        ("--extra_package", "albert_data-")
        if kind == "checkout"
        else ("--requirements_file", "requirements.txt")
    )
    assert flag == expected[0] and name.startswith(expected[1]) and existed == "True"
    assert list(tmp.iterdir()) == []
