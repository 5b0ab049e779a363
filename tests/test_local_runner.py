"""``pipelines.local_runner``: with two workers, a stage whose input is one element runs
as one bundle on the launcher's own worker (Beam's runner sends the other worker an
empty bundle and waits for it); a stage with input for both workers still runs on both.
With three workers, a stage with input for two runs two bundles, on two workers, and
none on the third. Real ``FnApiRunner`` runs on warm workers, as the fast path runs
them."""

from __future__ import annotations

import os
import uuid

import apache_beam as beam


class _Bundles(beam.DoFn):
    """Passes elements on; every bundle, an empty one too, leaves a file saying which
    process ran it and how many elements it had."""

    def __init__(self, stage: str, directory: str):
        self.stage = stage
        self.directory = directory

    def start_bundle(self):
        self.count = 0

    def process(self, element):
        self.count += 1
        yield element

    def finish_bundle(self):
        name = f"{self.stage}-{os.getpid()}-{self.count}-{uuid.uuid4().hex}"
        with open(os.path.join(self.directory, name), "w"):
            pass


def _bundles(directory, stage: str) -> list[tuple[int, int]]:
    """(process id, elements) of each bundle of ``stage``."""
    found = []
    for name in os.listdir(directory):
        parts = name.split("-")
        if parts[0] == stage:
            found.append((int(parts[1]), int(parts[2])))
    return sorted(found)


def _run(tmp_path, workers: int):
    """The pipeline on ``workers`` warm workers: (the bundles' directory, the worker
    processes' ids)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.options import direct_runner
    from pipelines.workers import WarmWorkers

    marks = tmp_path / "bundles"
    marks.mkdir()
    out = tmp_path / "out"
    options = PipelineOptions(direct_num_workers=workers, direct_running_mode="in_memory")
    with WarmWorkers(workers) as warm:
        pipeline = beam.Pipeline(runner=direct_runner(options, warm), options=options)
        (
            pipeline
            | beam.Create([("a", 1), ("b", 2)], reshuffle=False)
            | "One" >> beam.ParDo(_Bundles("impulse", str(marks)))
            | beam.GroupByKey()
            | "Two" >> beam.ParDo(_Bundles("keyed", str(marks)))
            | beam.combiners.Count.Globally()
            | "Three" >> beam.ParDo(_Bundles("total", str(marks)))
            | beam.Map(lambda n: out.write_text(str(n)))
        )
        pipeline.run().wait_until_finish()
        processes = [process.pid for process in warm.processes]
    assert out.read_text() == "2"
    return marks, processes


def test_one_element_stages_run_once_on_the_launcher_and_keyed_ones_on_both(tmp_path):
    marks, (worker,) = _run(tmp_path, 2)
    launcher = os.getpid()
    # A Create's impulse and a global count: one element, one bundle, in this process.
    assert _bundles(marks, "impulse") == [(launcher, 2)]
    assert _bundles(marks, "total") == [(launcher, 1)]
    # Two keys: one for each worker, as Beam splits them.
    assert _bundles(marks, "keyed") == sorted([(launcher, 1), (worker, 1)])


def test_a_stage_with_input_for_two_of_three_workers_runs_two_bundles(tmp_path):
    marks, workers = _run(tmp_path, 3)
    launcher = os.getpid()
    assert _bundles(marks, "impulse") == [(launcher, 2)]
    assert _bundles(marks, "total") == [(launcher, 1)]
    # Two keys, three workers: Beam's runner would also send the third worker an empty
    # bundle. Here each key is one bundle, each on its own worker, and nothing else runs.
    keyed = _bundles(marks, "keyed")
    assert [count for _, count in keyed] == [1, 1]
    assert len({pid for pid, _ in keyed}) == 2
    assert {pid for pid, _ in keyed} <= {launcher, *workers}
