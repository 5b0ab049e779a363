"""``pipelines.state_sampling``: on the local fast path, the state sampler of a running
bundle has the short period, in the launcher's own worker and in a worker process; so a
bundle's end waits at most that period for the sampler's thread (Beam's default lets it
wait up to 200 ms). A real two-worker job through the job layer, as the commands run."""

from __future__ import annotations

import os
import uuid

import apache_beam as beam


class _Period(beam.DoFn):
    """Every bundle leaves a file naming its process and its sampler's period."""

    def __init__(self, directory: str):
        self.directory = directory

    def start_bundle(self):
        from apache_beam.runners.worker import statesampler

        tracker = statesampler.get_current_tracker()
        name = f"{os.getpid()}-{tracker.sampling_period_ms}-{uuid.uuid4().hex}"
        with open(os.path.join(self.directory, name), "w"):
            pass

    def process(self, element):
        yield element


def test_bundles_sample_with_the_short_period_in_every_worker(tmp_path):
    from albert_data.jobs.beam_job import BeamSettings, JobSpec, run_job
    from pipelines.lanes import SpreadRanges
    from pipelines.state_sampling import PERIOD_MS

    marks = tmp_path / "bundles"
    marks.mkdir()

    def build(pipeline, lanes):
        assert lanes is not None and lanes.count == 2  # the fast path's two workers
        pipeline | SpreadRanges(["r0", "r1"], lanes) | beam.ParDo(_Period(str(marks)))

    spec = JobSpec(
        job_name="state-sampling",
        build=build,
        error_path=str(tmp_path / "errors"),
        ranges=2,
        local_files=True,
        description="state sampling",
    )
    run_job(BeamSettings(num_workers=2, progress=False), spec, say=lambda _: None)
    bundles = [name.split("-") for name in os.listdir(marks)]
    # One lane per worker: a bundle in this process (the launcher's worker) and one in
    # the worker process, each sampling every PERIOD_MS (Beam's default is 200).
    assert len({pid for pid, _, _ in bundles}) == 2
    assert str(os.getpid()) in {pid for pid, _, _ in bundles}
    assert {int(period) for _, period, _ in bundles} == {PERIOD_MS}
    assert PERIOD_MS < 200
