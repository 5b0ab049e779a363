"""``pipelines.workers``: a warm worker process runs with one BLAS thread (OpenBLAS
would otherwise start one per core in every worker), unless the user said otherwise.
Real two-worker runs; the DoFn reports the environment of the process it runs in."""

from __future__ import annotations

import os
import uuid

import apache_beam as beam
import pytest


class _Environment(beam.DoFn):
    """Every bundle leaves a file naming its process and its OPENBLAS_NUM_THREADS."""

    def __init__(self, directory: str):
        self.directory = directory

    def start_bundle(self):
        threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        with open(os.path.join(self.directory, f"{os.getpid()}-{threads}-{uuid.uuid4().hex}"), "w"):
            pass

    def process(self, element):
        yield element


def _blas_threads_by_process(tmp_path) -> dict[int, str]:
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.options import direct_runner
    from pipelines.workers import WarmWorkers

    marks = tmp_path / "bundles"
    marks.mkdir()
    options = PipelineOptions(direct_num_workers=2, direct_running_mode="in_memory")
    with WarmWorkers(2) as warm:
        pipeline = beam.Pipeline(runner=direct_runner(options, warm), options=options)
        (
            pipeline
            | beam.Create([("a", 1), ("b", 2)], reshuffle=False)
            | beam.GroupByKey()
            | beam.ParDo(_Environment(str(marks)))
        )
        pipeline.run().wait_until_finish()
        worker = warm.processes[0].pid
    found = {}
    for name in os.listdir(marks):
        pid, threads, _ = name.split("-")
        found[int(pid)] = threads
    assert worker in found  # one key ran in the worker process
    return {"worker": found[worker]}


@pytest.fixture
def no_blas_setting(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)


def test_worker_processes_run_one_blas_thread(tmp_path, no_blas_setting):
    assert _blas_threads_by_process(tmp_path) == {"worker": "1"}
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # the launcher's own is untouched


def test_the_users_blas_setting_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert _blas_threads_by_process(tmp_path) == {"worker": "3"}
