"""The ``split-sentences`` job: the local one-process run (the core's
:func:`albert_data.text.documents.split_files`) or the Beam one
(``pipelines.split_sentences.SplitSentences``), in a work directory, published on success.

Both write each shard's documents in input order, a document going to the shard chosen
by its content hash; of identical documents the first in input order is kept. So both
paths write the same bytes. Outputs are written in a work directory beside them and
renamed only when the whole run succeeded.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace

from albert_data.errors import UserError
from albert_data.files import fileio
from albert_data.files.bounded import BoundedWriters
from albert_data.jobs.beam_job import (
    BeamSettings,
    JobSpec,
    apply_to_ranges,
    check_paths,
    check_settings,
    job_paths,
    plan_inputs,
    progress_totals,
    run_job,
)
from albert_data.jobs.outputs import WorkDir, claimed, clear_leftovers, publish
from albert_data.jobs.reporting import Say, say
from albert_data.text.documents import SplitConfig, SplitSummary, output_paths, split_files
from albert_data.text.rawtext import ReadConfig, ReadCounts, check_inputs, no_documents_problem

SUMMARY_COUNTERS = (
    "files",
    "bytes",
    "documents_in",
    "documents_out",
    "sentences",
    "dropped_empty",
    "dropped_short",
    "duplicates",
    "replaced_bytes",
    "malformed_lines",
)


@dataclass(frozen=True)
class SplitSentencesRequest:
    """The options of one ``split-sentences`` run. ``beam`` is ``None`` for the local
    one-process path."""

    inputs: tuple[str, ...]
    output: str
    config: SplitConfig = field(default_factory=SplitConfig)
    num_shards: int = 1
    gzip: bool = False
    overwrite: bool = False
    take_over: bool = False  # take over another run's live claim on --output
    progress: bool = True
    beam: BeamSettings | None = None

    def __post_init__(self) -> None:
        fileio.check_num_shards(self.num_shards)


@dataclass
class SplitSentencesResult:
    summary: SplitSummary
    elapsed: float

    def summary_lines(self) -> list[str]:
        lines = [f"split-sentences done in {self.elapsed:.1f}s"]
        lines += [f"  {line}" for line in self.summary.lines()]
        lines += [f"  wrote {p}" for p in self.summary.outputs]
        return lines


def run(req: SplitSentencesRequest, *, say: Say = say) -> SplitSentencesResult:
    """Run ``req`` to the end; raise :class:`UserError` on bad input or an empty result."""
    start = time.monotonic()
    if req.beam is not None:
        check_settings(req.beam)
        inputs, output = job_paths(req.beam, req.inputs, req.output)
        req = replace(req, inputs=inputs, output=output)
    dry = req.beam is not None and req.beam.dry_run
    files = _input_files(req)
    if not dry:
        check_inputs(files, req.config.read)
    summary = (
        run_beam(files, req, say=say) if req.beam is not None else run_local(files, req, say=say)
    )
    if summary is None:
        return SplitSentencesResult(SplitSummary(), time.monotonic() - start)
    if summary.documents_out == 0:
        raise UserError(
            f"no document survived cleaning (in: {summary.documents_in}); lower --min-sentences/--min-chars"
        )
    return SplitSentencesResult(summary, time.monotonic() - start)


def _input_files(req: SplitSentencesRequest) -> list[str]:
    from albert_data.jobs.beam_job import expand_inputs

    if req.beam is not None:
        return expand_inputs(list(req.inputs), req.beam)
    return fileio.expand_inputs(list(req.inputs))


def check_outputs(paths: list[str], *, overwrite: bool) -> None:
    existing = [p for p in paths if fileio.exists(p)]
    if existing and not overwrite:
        raise UserError(
            f"output {existing[0]} already exists; choose another --output or pass --overwrite"
        )


@contextlib.contextmanager
def _prepared(req: SplitSentencesRequest, say, *, dry_run: bool = False):
    """Final output paths (checked), this run's claim on ``--output`` and a new work
    directory beside them, removed at the end (with the claim)."""
    finals = output_paths(req.output, num_shards=req.num_shards, gzip=req.gzip)
    parent = fileio.parent_dir(finals[0])
    if not dry_run:
        fileio.check_writable(finals[0], what="--output")  # first: a directory is no file
    with claimed(
        req.output,
        directory=False,
        command="split-sentences",
        take_over=req.take_over,
        say=say,
        enabled=not dry_run,
    ) as claim:
        if not dry_run:
            check_outputs(finals, overwrite=req.overwrite)
            clear_leftovers(parent, say=say)
        try:
            work = WorkDir.create(parent, "split", dry_run=dry_run, claim=claim)
        except OSError as err:  # named after the output, for the one-line report
            raise OSError(err.errno, err.strerror, finals[0]) from err
        with work.removed_at_end():
            yield finals, work, claim


def _temp(work: WorkDir, final: str) -> str:
    return work.file(final.rsplit("/", 1)[-1])


def run_local(files: list[str], req: SplitSentencesRequest, *, say: Say = say) -> SplitSummary:
    """Split ``files`` in this process: a tqdm bar over the input bytes on a terminal,
    otherwise (and with ``--no-progress``) a line every few seconds."""
    from albert_data.jobs.reporting import StepProgress

    total = sum(fileio.file_size(f) for f in files)
    with _prepared(req, say) as (finals, work, claim):
        with StepProgress("split-sentences", total=total, bar=req.progress) as progress:
            summary = _split_local(
                files, req, temps=[_temp(work, p) for p in finals], progress=progress.update
            )
        if summary.documents_in == 0:
            raise UserError(no_documents_message(files, req.config.read, summary.read))
        publish([_temp(work, p) for p in finals], finals, claims=[claim])
        summary.outputs = finals
        return summary


def _split_local(files, req, *, temps, progress) -> SplitSummary:
    with BoundedWriters(temps, compress=req.gzip) as shards:  # at most ~ulimit -n / 2 open
        return split_files(files, req.config, shards, on_bytes=progress)


def run_beam(
    files: list[str], req: SplitSentencesRequest, *, say: Say = say
) -> SplitSummary | None:
    """The same as :func:`run_local` as a Beam pipeline; large files are read in byte
    ranges, in parallel. ``None`` for a dry run."""
    from pipelines.options import counters

    settings = req.beam
    check_paths(settings, {"INPUTS": files, "--output": [req.output]})
    plan = plan_inputs(files, settings, req.config.read)
    with _prepared(req, say, dry_run=settings.dry_run) as (finals, work, claim):
        spec = _job_spec(req, plan=plan, work=work, finals=finals)
        result = run_job(settings, spec, say=say)
        if result is None:
            return None
        summary = SplitSummary(outputs=finals, input_format=req.config.read.format)
        found = counters(result)
        for name in SUMMARY_COUNTERS:
            setattr(summary, name, found.get(name, 0))
        summary.read = ReadCounts.from_counters(found)
        if summary.documents_in == 0:
            raise UserError(no_documents_message(files, req.config.read, summary.read))
        publish([_temp(work, p) for p in finals], finals, claims=[claim])
        return summary


def _job_spec(req, *, plan, work: WorkDir, finals: list[str]) -> JobSpec:
    settings = req.beam
    progress_dir = work.progress_dir(settings)

    def build(pipeline, lanes):  # Beam is imported once the job's workers are starting
        from pipelines.shuffle import ShuffleToShards
        from pipelines.split_sentences import SplitSentences

        transform = SplitSentences(
            config=req.config,
            temps=[_temp(work, p) for p in finals],
            gzip=req.gzip,
            shuffle=ShuffleToShards(
                num_shards=len(finals), strategy=settings.strategy, work_dir=work.path
            ),
            scratch_dir=work.file("sort") if settings.strategy == "files" else None,
            progress_dir=progress_dir,
        )
        apply_to_ranges(
            pipeline,
            plan,
            name="SplitSentences",
            transform=transform,
            error_path=work.file("error.txt"),
            lanes=lanes,
        )

    return JobSpec(
        job_name="albert-data-split-sentences",
        build=build,
        error_path=work.file("error.txt"),
        progress_dir=progress_dir,
        progress_total=progress_totals(plan),
        description="split-sentences",
        written_unit="documents",
        ranges=len(plan.ranges),
        local_files=not any(fileio.is_remote(p) for p in [*plan.files, req.output]),
    )


def no_documents_message(inputs: list[str], config: ReadConfig, counts: ReadCounts) -> str:
    known = no_documents_problem(inputs, config, counts)
    if known is not None:
        return known
    return f"no documents found in {len(inputs)} input file(s) (first: {inputs[0]}); check the files are not empty and --input-format matches them"
