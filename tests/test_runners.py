"""Every runner path a user can take works or is refused in one line: runner names,
options that belong to a runner, --num-workers, the offline Dataflow dry run, and the
DirectRunner's local fast path against Beam's stock DirectRunner (the same bytes)."""

from __future__ import annotations

import socket

import pytest

from albert_data.commands.beam_args import split_pass_through
from albert_data.errors import UserError
from pipelines.options import resolve_runner
from tests.cli_helpers import error_line, invoke

DATAFLOW = [
    "--runner", "dataflow", "--project", "my-project", "--region", "us-central1",
    "--temp_location", "gs://my-bucket/tmp", "--dry_run=True", "--no_auth",
]  # fmt: skip


@pytest.mark.parametrize(
    "typed,canonical",
    [
        ("direct", "DirectRunner"),
        ("DirectRunner", "DirectRunner"),
        ("portable", "PortableRunner"),
        ("Flink", "FlinkRunner"),
        ("spark", "SparkRunner"),
        ("prism", "PrismRunner"),
        ("dataflow", "DataflowRunner"),
        ("apache_beam.runners.dataflow.dataflow_runner.DataflowRunner", "DataflowRunner"),
    ],
)
def test_runner_names_resolve(typed, canonical):
    assert resolve_runner(typed) == canonical


def test_an_unknown_runner_lists_the_supported_ones():
    with pytest.raises(UserError) as err:
        resolve_runner("SamzaRunner")
    assert str(err.value) == (
        "--runner SamzaRunner is not a runner albert-data runs on; use one of DirectRunner "
        "(direct), PrismRunner (prism), PortableRunner (portable), FlinkRunner (flink), "
        "SparkRunner (spark), DataflowRunner (dataflow)"
    )


def test_dask_runner_is_refused_saying_why_before_its_options(sample_en, tmp_path):
    """Beam's DaskRunner would half-run these pipelines; its own option is no excuse for
    an "unknown option" line: the runner is refused first, saying why."""
    proc = invoke(
        "make-pretraining", sample_en["sentences"], "-o", tmp_path / "out",
        "--spm-model", sample_en["spm"], "--runner", "DaskRunner",
        "--dask_client_address", "localhost:8786", check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    line = error_line(proc)
    assert line.startswith("error: --runner DaskRunner: Beam's DaskRunner cannot run these")
    assert "finish_bundle" in line
    assert not (tmp_path / "out").exists()


def test_num_workers_off_the_direct_runner_is_refused(sample_en, tmp_path):
    proc = invoke(
        "make-pretraining", sample_en["sentences"], "-o", "gs://my-bucket/records",
        "--spm-model", sample_en["spm"], "--num-shards", "2", "--num-workers", "4", *DATAFLOW,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    line = error_line(proc)
    assert line.startswith("error: --num-workers 4 sets the DirectRunner's worker processes;")
    assert "--max_num_workers" in line


def test_runner_options_are_parsed_by_their_definitions(tmp_path, monkeypatch):
    """``--opt value`` takes the value when Beam defines ``--opt`` with one, whatever is
    on disk: a folder named like the value stays the value, and a flag takes none."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scratch").mkdir()
    (tmp_path / "a.txt").write_text("x")
    tokens = ["a.txt", "--temp_location", "scratch", "--save_main_session", "a.txt"]
    assert split_pass_through(tokens) == (
        ["a.txt", "a.txt"],
        ["--temp_location=scratch", "--save_main_session"],
    )
    # An option of the chosen runner, with its value; an unknown option takes none (the
    # command then refuses it by name).
    flink = ["--flink_master", "localhost:8081", "--parallelism", "2", "a.txt"]
    assert split_pass_through(flink, runner="flink") == (
        ["a.txt"],
        ["--flink_master=localhost:8081", "--parallelism=2"],
    )
    assert split_pass_through(["--no_such_option", "a.txt"]) == (["a.txt"], ["--no_such_option"])


def test_the_dataflow_dry_run_makes_no_network_call(sample_en, tmp_path, monkeypatch):
    """The dry run translates the job and prints its steps without opening a socket
    (it used to retry Google Cloud Storage for two minutes to remove a work directory it
    had never written), and leaves nothing in $TMPDIR."""
    attempts = []
    real_connect = socket.socket.connect

    def refuse(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError(101, "network is unreachable in this test")
        return real_connect(self, address)

    import tempfile

    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(own_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: attempts.append(a) or [])
    proc = invoke(
        "make-pretraining", "gs://my-bucket/corpus/*.txt", "-o", "gs://my-bucket/records",
        "--spm-model", sample_en["spm"], "--num-shards", "4", *DATAFLOW,
    )  # fmt: skip
    assert "job steps:" in proc.stderr
    assert "dry run" in proc.stderr.splitlines()[-1]
    assert attempts == []
    assert list(own_tmp.iterdir()) == []  # staging and Beam's temporary files removed


def _outputs(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name != "stats.json"}


def test_the_fast_path_and_beams_stock_direct_runner_write_the_same_bytes(
    sample_en, tmp_path, monkeypatch
):
    """ALBERT_DATA_STOCK_BEAM=1 runs the DirectRunner as Beam ships it, without the
    local fast path's Beam internals; both commands write the same bytes either way."""
    flags = ["--dupe-factor", "2", "--max-seq-length", "64", "--num-shards", "2", "--num-workers", "2", "--no-progress"]  # fmt: skip
    split = ["--runner", "DirectRunner", "--num-shards", "2", "--num-workers", "2", "--no-progress"]
    for mode in ("fast", "stock"):
        if mode == "stock":
            monkeypatch.setenv("ALBERT_DATA_STOCK_BEAM", "1")
        invoke("split-sentences", sample_en["raw"], "-o", tmp_path / mode / "docs.txt", *split)
        invoke(
            "make-pretraining", sample_en["sentences"], "-o", tmp_path / mode / "records",
            "--spm-model", sample_en["spm"], *flags,
        )  # fmt: skip
    for name in ("docs-00000-of-00002.txt", "docs-00001-of-00002.txt"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "stock" / name).read_bytes()
    fast, stock = _outputs(tmp_path / "fast" / "records"), _outputs(tmp_path / "stock" / "records")
    assert len(fast) == 2 and all(fast.values())
    assert fast == stock


def _without(flags: list[str], name: str) -> list[str]:
    i = flags.index(name)
    return flags[:i] + flags[i + 2 :]


@pytest.mark.parametrize(
    "flags,needle",
    [
        (
            _without(DATAFLOW, "--temp_location"),
            "error: no --temp_location: a Dataflow dry run needs one",
        ),
        (
            [*_without(DATAFLOW, "--temp_location"), "--temp_location", "gs://b/tmp"],
            "error: --temp_location gs://b/tmp is not a gs://BUCKET/PATH",
        ),
        (
            [*_without(DATAFLOW, "--project"), "--project", "p"],
            "error: DataflowRunner: Invalid Project ID (p).",
        ),
    ],
)
def test_dataflow_options_beam_refuses_are_one_line(sample_en, flags, needle):
    """Beam's own checks of the Dataflow options are one line too, before anything that
    would wait on the network (a missing temporary location sends Beam looking for a
    default bucket)."""
    proc = invoke(
        "split-sentences", "gs://my-bucket/raw/*.jsonl.gz", "-o", "gs://my-bucket/docs.txt",
        "--input-format", "jsonl", "--num-shards", "2", *flags, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert error_line(proc).startswith(needle)


def test_a_prism_job_that_cannot_start_is_one_line(sample_en, tmp_path):
    """Prism is a job service of its own: when it cannot start (here: no binary where
    --prism_location points) the job is one line, exit 2, and writes nothing."""
    proc = invoke(
        "make-pretraining", sample_en["sentences"], "-o", tmp_path / "out",
        "--spm-model", sample_en["spm"], "--num-shards", "2", "--runner", "prism",
        "--prism_location", tmp_path / "no-prism", check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert error_line(proc).startswith("error: the PrismRunner job could not be submitted: ")
    assert not (tmp_path / "out").exists()
