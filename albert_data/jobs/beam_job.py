"""What every Beam command does around its pipeline, in one place.

* :class:`BeamSettings`: the runner options every Beam command takes, checked once.
* :func:`plan_inputs`: input sizes and byte ranges (the core's
  :mod:`albert_data.text.input_plan`, with the settings' range size and dry run).
* :func:`run_job`: build and run the pipeline; Beam's own console noise kept in a log
  file; progress; the first worker error in input order; Ctrl-C as one line. Submitting
  to a remote runner and following the job is Beam plumbing: :mod:`pipelines.remote`.

Claims on the outputs, the work directory and publishing are every command's:
:mod:`albert_data.jobs.outputs`.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from albert_data.errors import UserError
from albert_data.files import fileio
from albert_data.limits import usable_cpus
from albert_data.text import input_plan
from albert_data.text.input_plan import InputPlan

SHUFFLES = ("auto", "engine", "files")


@dataclass(frozen=True)
class BeamSettings:
    """How a Beam command runs: the runner, its options, the shuffle and the planning."""

    runner: str | None = None
    num_workers: int | None = None
    pass_through: tuple[str, ...] = ()
    range_bytes: int | None = None
    shuffle: str = "auto"
    progress: bool = True
    command_options: tuple[str, ...] = ()  # the command's own flags, for "did you mean"
    fast_path: bool = True  # the DirectRunner's local fast path; False: Beam's stock one

    @property
    def local(self) -> bool:
        from pipelines.options import is_local

        return is_local(self.runner)

    @property
    def direct(self) -> bool:
        from pipelines.options import is_direct

        return is_direct(self.runner)

    @property
    def dry_run(self) -> bool:
        """Beam's ``--dry_run=True``: build and translate the job, submit nothing."""
        for arg in self.pass_through:
            name, _, value = arg.partition("=")
            if name == "--dry_run" and value.lower() in ("", "true", "1", "yes"):
                return True
        return False

    @property
    def requested_workers(self) -> int:
        """The workers the input is cut into ranges for: on the DirectRunner
        ``--num-workers`` (default: the processors this process may use,
        :func:`albert_data.limits.usable_cpus`); elsewhere 1, the runner's choice, which
        the default of 64 ranges serves (see ``auto_range_bytes``)."""
        if not self.direct:
            return 1
        return self.num_workers or usable_cpus()

    def workers_for(self, ranges: int | None) -> int | None:
        """Worker processes for a job reading ``ranges`` byte ranges: on the
        DirectRunner ``--num-workers`` (default: every usable processor) but never more than there
        are ranges, since a worker with nothing to read still costs a Python start and a
        Beam import (about a second) and one worker runs in the launcher's process;
        elsewhere the user's ``--num-workers`` (``None``: the runner's choice)."""
        if not self.direct:
            return self.num_workers
        workers = self.requested_workers
        return workers if ranges is None else max(1, min(workers, ranges))

    @property
    def strategy(self) -> str:
        """The shuffle to use: ``files`` on the DirectRunner, ``engine`` elsewhere."""
        if self.shuffle != "auto":
            return self.shuffle
        return "files" if self.direct else "engine"


def check_settings(settings: BeamSettings) -> None:
    """Refuse contradictory runner options before any work."""
    from pipelines.options import check_known_options, resolve_runner

    resolve_runner(settings.runner)  # one line for a runner these pipelines cannot use

    if settings.pass_through and settings.runner is None:
        # A misspelled option of the command is named as such, with the closest one;
        # only real Beam options are told they need --runner.
        check_known_options(list(settings.pass_through), command_options=settings.command_options)
        raise UserError(
            f"{' '.join(settings.pass_through)}: Beam pipeline options need --runner (e.g. --runner DirectRunner)"
        )
    if settings.shuffle not in SHUFFLES:
        raise UserError(
            f"--shuffle {settings.shuffle!r} is not one of {', '.join(SHUFFLES)}; use auto (files on the DirectRunner, engine elsewhere)"
        )
    if settings.shuffle == "files" and not settings.direct:
        raise UserError(
            f"--shuffle files needs the DirectRunner (its run files are worker-local, not shared between {settings.runner} workers); use --shuffle engine or auto"
        )
    for flag, value in (
        ("--num-workers", settings.num_workers),
        ("--range-bytes", settings.range_bytes),
    ):
        if value is not None and value < 1:
            raise UserError(f"{flag} {value} must be >= 1")
    if settings.num_workers is not None and not settings.direct:
        raise UserError(
            f"--num-workers {settings.num_workers} sets the DirectRunner's worker processes; {resolve_runner(settings.runner)} chooses its own ({_WORKER_OPTIONS}): drop --num-workers"
        )
    check_known_options(
        list(settings.pass_through),
        command_options=settings.command_options,
        runner=settings.runner,
    )


_WORKER_OPTIONS = (
    "Dataflow: --num_workers/--max_num_workers; Flink: --parallelism; Spark: the cluster's "
    "executors; a worker pool: its own processes"
)


def job_paths(settings: BeamSettings, inputs, output: str) -> tuple[tuple[str, ...], str]:
    """``inputs`` and ``output`` as the job's workers must see them: on a runner whose
    workers may not share this process's working directory (the portable runner, Flink,
    Spark), local paths are made absolute here, before they enter the job."""
    if settings.local:
        return tuple(inputs), output

    def absolute(path: str) -> str:
        return path if fileio.is_remote(path) else os.path.abspath(path)

    return tuple(absolute(p) for p in inputs), absolute(output)


def check_paths(settings: BeamSettings, paths: dict[str, list[str]]) -> None:
    """Remote workers cannot see this machine's files: refuse local paths up front."""
    from pipelines.options import check_paths_for_runner

    check_paths_for_runner(settings.runner, paths)


def expand_inputs(patterns: list[str], settings: BeamSettings) -> list[str]:
    """Input files (:func:`albert_data.text.input_plan.expand_inputs`)."""
    return input_plan.expand_inputs(patterns, dry_run=settings.dry_run)


def plan_inputs(files: list[str], settings: BeamSettings, read=None) -> InputPlan:
    """Sizes and ranges (:func:`albert_data.text.input_plan.plan_inputs`) with the
    settings' range size, workers and dry run."""
    return input_plan.plan_inputs(
        files,
        read,
        range_bytes=settings.range_bytes,
        workers=settings.requested_workers,
        dry_run=settings.dry_run,
    )


def progress_totals(plan: InputPlan) -> dict[str, int]:
    """Planned bytes per range, by progress name (see ``pipelines.progress``)."""
    from pipelines.progress import range_name

    return {range_name(index, r): size for index, r, size in plan.range_sizes()}


# --- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """One pipeline run: its name, its builder, where its worker errors and progress go."""

    job_name: str
    build: Callable  # (pipeline, lanes) -> None: adds the stages (see apply_to_ranges)
    error_path: str
    progress_dir: str | None = None
    progress_total: dict[str, int] = field(default_factory=dict)
    description: str = ""
    written_unit: str = "records"  # what the shard writers count
    ranges: int | None = None  # byte ranges read: the most workers the job keeps busy
    local_files: bool = False  # every input and output is a local path


def apply_to_ranges(
    pipeline, plan: InputPlan, *, name: str, transform, error_path: str, lanes=None
):
    """The common head of every Beam job: the planned byte ranges, spread over the
    workers, into the command's composite ``transform`` (labelled ``name``), whose bad
    input errors go to ``error_path``; returns the transform's outputs.

    The ranges are spread by the runner (``Create`` of more than one element reshuffles
    them), or, with ``lanes`` (a :class:`pipelines.lanes.Lanes`, which :func:`run_job`
    hands to the job's ``build`` on the local fast path), taken one at a time by each
    worker as it is ready for the next."""
    import apache_beam as beam

    from pipelines.errors import WriteFirstError

    if lanes is None:
        ranges = pipeline | "ListRanges" >> beam.Create(plan.ranges)
    else:
        from pipelines.lanes import SpreadRanges

        ranges = pipeline | "ListRanges" >> SpreadRanges(plan.ranges, lanes)
    out = ranges | name >> transform
    out[transform.ERRORS] | "ReportError" >> WriteFirstError(error_path)
    return out


def run_job(settings: BeamSettings, spec: JobSpec, *, say: Callable[[str], None]):
    """Build the pipeline, run it to the end and return Beam's result; the first bad
    input a worker met is raised as a :class:`UserError`. In a dry run the job's step
    names are printed after ``job steps:`` and ``None`` is returned."""
    from albert_data.jobs.beam_console import private_temp_dir

    # Prism is a job service of its own (a binary Beam fetches): its jobs are submitted,
    # followed and told in one line when they fail, as a remote runner's.
    if settings.dry_run or not settings.local or settings.runner == "PrismRunner":
        from albert_data.jobs.beam_console import quiet_console
        from pipelines.errors import raise_first_error
        from pipelines.options import run_pipeline
        from pipelines.remote import job_step_names, run_remote

        # Beam's submission (staging, the requirements cache, the portable runner's
        # artifact service) makes temporary directories it never removes: a root of
        # the run's own, removed at the end, keeps them out of $TMPDIR. What Beam logs
        # (a failed job's tracebacks, relayed from the job service) goes to a log file.
        with quiet_console(enabled=True) as console, private_temp_dir():
            pipeline = _pipeline(settings, spec)
            if settings.dry_run:
                result = run_pipeline(pipeline)
                console.say("job steps:")
                for name in job_step_names(result):
                    console.say(name)
                return None
            result = run_remote(pipeline, error_path=spec.error_path, say=console.say)
        raise_first_error(spec.error_path)
        return result
    if not settings.fast_path:
        return _run_stock(settings, spec, say=say)
    from albert_data.jobs.beam_console import quiet_console
    from albert_data.jobs.beam_progress import watch_progress
    from pipelines.lean_beam import without_optional_io
    from pipelines.options import run_pipeline

    lean = settings.direct and spec.local_files
    with (
        quiet_console(enabled=True) as console,
        private_temp_dir() as temp_root,
        _warm_workers(settings, spec, lean) as warm,
    ):
        with without_optional_io(lean):
            lanes = _lanes(warm, temp_root)
            pipeline = _pipeline(settings, spec, warm=warm, lanes=lanes)
        # The launcher runs a worker's harness itself: frozen, Beam, the pipeline and
        # the runner (~110,000 tracked objects) are left out of the collections that the
        # harness's allocations trigger, as in the worker processes
        # (``pipelines.worker_process``). Measured on a 21 MB input with two workers: the
        # launcher's ranges took 6% longer than the worker process's, and now 4% less.
        gc.freeze()
        with watch_progress(settings, spec, console=console):
            result = run_pipeline(pipeline)
    from pipelines.errors import raise_first_error

    raise_first_error(spec.error_path)
    if lanes is not None:
        _check_lanes(result, spec)
    return result


def _lanes(warm, temp_root: str):
    """With warm workers, lanes (``pipelines.lanes``): each worker takes the next byte
    range when it is ready for one, instead of the runner's fixed share."""
    if warm is None:
        return None
    from pipelines.lanes import Lanes, RangeCounter

    counter = RangeCounter.create(os.path.join(temp_root, "next-range"))
    return Lanes(count=warm.count, counter=counter.path)


def _check_lanes(result, spec: JobSpec) -> None:
    """Every range was read by a lane (a lane run twice would skip what its first run
    took; the ``FnApiRunner`` never does that, and this says so if it ever did)."""
    from pipelines.lanes import RANGES_READ
    from pipelines.options import counters

    read = counters(result).get(RANGES_READ, 0)
    if read != spec.ranges:
        raise RuntimeError(f"{spec.description}: {read} of {spec.ranges} byte ranges were read")


def _run_stock(settings: BeamSettings, spec: JobSpec, *, say: Callable[[str], None]):
    """The job on Beam's stock DirectRunner, as Beam ships it: none of the local fast
    path's Beam internals (no patched caches, no import hook, no ``FnApiRunner`` built
    here, no warm workers). The same bytes, more slowly (``ALBERT_DATA_STOCK_BEAM=1``)."""
    from albert_data.jobs.beam_console import private_temp_dir, quiet_console
    from albert_data.jobs.beam_progress import watch_progress
    from pipelines.errors import raise_first_error
    from pipelines.options import run_pipeline

    with quiet_console(enabled=True) as console, private_temp_dir():
        pipeline = _pipeline(settings, spec)
        with watch_progress(settings, spec, console=console):
            result = run_pipeline(pipeline)
    raise_first_error(spec.error_path)
    return result


def _warm_workers(settings: BeamSettings, spec: JobSpec, lean: bool):
    """Worker processes started before Beam is imported here, for a DirectRunner run
    with more than one worker (unless the user chose a ``--direct_running_mode``);
    ``lean``: they import Beam without its optional IO (``pipelines.lean_beam``)."""
    workers = settings.workers_for(spec.ranges)
    own_mode = any(a.startswith("--direct_running_mode") for a in settings.pass_through)
    if not settings.direct or workers is None or workers < 2 or own_mode:
        return contextlib.nullcontext()
    from pipelines.workers import WarmWorkers

    return WarmWorkers(workers, lean=lean)


def _pipeline(settings: BeamSettings, spec: JobSpec, *, warm=None, lanes=None):
    """The job's pipeline, built; on the DirectRunner's fast path run by its
    ``FnApiRunner`` built here (with Beam's per-object caches, ``pipelines.beam_caches``)."""
    import apache_beam as beam

    from pipelines.options import build_options, direct_runner

    fast = settings.direct and settings.fast_path
    if fast:
        from pipelines import beam_caches

        beam_caches.install()

    options = build_options(
        runner=settings.runner,
        pass_through=list(settings.pass_through),
        num_workers=settings.workers_for(spec.ranges),
        job_name=spec.job_name,
        warm_workers=warm is not None,
        type_check=not fast,
    )
    runner = direct_runner(options, warm) if fast else None
    try:
        pipeline = beam.Pipeline(runner=runner, options=options)
    except ValueError as err:  # Beam's validation of the runner's options, e.g. --project
        reasons = [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
        if not str(err).startswith("Pipeline has validations errors") or not reasons:
            raise
        raise UserError(f"{settings.runner}: {'; '.join(reasons)}") from None
    spec.build(pipeline, lanes)
    return pipeline
