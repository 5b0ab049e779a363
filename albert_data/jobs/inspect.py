"""The ``inspect`` job: decode pretraining TFRecords, validate every record (or a sample),
gather statistics — after checking that the vocabulary given is the one the records were
made with (the fingerprint in their ``stats.json``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from albert_data.files import fileio
from albert_data.jobs.reporting import LINE_EVERY, StepProgress
from albert_data.records.inspection import InspectReport

PROGRESS_INTERVAL = LINE_EVERY  # seconds between two progress lines off a terminal


@dataclass(frozen=True)
class InspectRequest:
    """The options of one ``inspect`` run."""

    records: tuple[str, ...]
    vocab: str
    max_seq_length: int | None = None
    max_predictions_per_seq: int | None = None
    show: int = 3
    as_json: bool = False
    allow_vocab_mismatch: bool = False
    progress: bool = True  # False: no progress at all (not even periodic lines)
    max_records: int | None = None  # a sample: at most this many, the first of each file
    workers: int | None = None  # processes; None: one per processor


@dataclass(frozen=True)
class InspectResult:
    files: list[str]
    report: InspectReport
    as_json: bool
    examples_shown: bool = False  # printed already, as soon as they were found

    @property
    def ok(self) -> bool:
        return self.report.ok

    def summary_lines(self) -> list[str]:
        """The report for stdout: text, or one JSON object."""
        from albert_data.records.inspection import format_report

        if self.as_json:
            return [json.dumps(self.report.to_dict(), indent=2, ensure_ascii=False)]
        return [format_report(self.report, examples=not self.examples_shown)]

    def problem_lines(self) -> list[str]:
        """``warning: ...``/``error: ...`` lines for stderr (none when all is valid)."""
        report = self.report
        lines = []
        if not report.records_per_file or not sum(report.records_per_file.values()):
            lines.append(f"warning: no records in {', '.join(self.files)}")
        lines += [f"error: {problem}" for problem in report.problems]
        if report.invalid_records:
            total = sum(report.records_per_file.values())
            lines.append(
                f"error: {report.invalid_records} of {total} records invalid"
                f" ({report.problem_count} problems, first {len(report.problems)} shown)"
            )
        lines += [f"error: {', '.join(self.files)}: {p}" for p in report.aggregate_problems]
        return lines


def run(
    req: InspectRequest, *, show_examples: Callable[[list[str]], None] | None = None
) -> InspectResult:
    """Check the vocabulary against ``stats.json``, then read every record with progress.

    ``show_examples``, if given (and not ``as_json``), receives the decoded examples'
    lines as soon as they are found, before the rest is checked."""
    from albert_data.files.tfrecord import record_files
    from albert_data.limits import usable_cpus
    from albert_data.records.inspection import format_examples, inspect_files
    from albert_data.records.provenance import check_vocabulary
    from albert_data.records.vocabulary import load_vocab, recorded_vocabulary

    files = record_files(req.records, flag="records")
    vocabulary = load_vocab(req.vocab, recorded=recorded_vocabulary(files))
    check_vocabulary(
        files,
        fingerprint=vocabulary.fingerprint,
        vocab_path=req.vocab,
        allow_mismatch=req.allow_vocab_mismatch,
    )
    early = show_examples if not req.as_json else None
    total = None if req.max_records is not None else sum(fileio.file_size(f) for f in files)
    progress = (
        StepProgress("inspect reading", total=total, interval=PROGRESS_INTERVAL)
        if req.progress
        else nullcontext()
    )
    with progress:
        report = inspect_files(
            files,
            vocabulary,
            max_seq_length=req.max_seq_length,
            max_predictions_per_seq=req.max_predictions_per_seq,
            show=req.show,
            progress=progress.update if req.progress else None,
            workers=req.workers or usable_cpus(),
            max_records=req.max_records,
            on_examples=None if early is None else lambda ex: early(format_examples(ex)),
        )
    return InspectResult(
        files=files, report=report, as_json=req.as_json, examples_shown=early is not None
    )
