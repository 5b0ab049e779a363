"""What ``albert-data inspect`` does: decode TFRecords back to pieces, validate every
record, and gather statistics. The Click command in ``commands/inspect.py`` only parses
options and prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from albert_data.files import fileio
from albert_data.files.tfrecord import CorruptRecordError
from albert_data.files.tfrecord import (
    record_files as record_files,  # where inspect's files come from
)
from albert_data.records.batch import Ids
from albert_data.records.checking import (
    MAX_PROBLEMS_SHOWN,
    PARALLEL_FROM_BYTES,
    RANGE_BYTES,
    CheckSettings,
    first_shape,
    plan,
    run_tasks,
)
from albert_data.records.schema import LABEL_FEATURE, RecordShape
from albert_data.records.validate import RecordStats
from albert_data.records.vocabulary import RecordedVocab
from albert_data.records.vocabulary import load_vocab as load_vocab  # for inspect's callers
from albert_data.records.vocabulary import recorded_vocabulary as recorded_vocabulary

# --- decoding ---------------------------------------------------------------------------


def render_record(features: dict[str, np.ndarray], vocab: RecordedVocab) -> list[str]:
    """The record's real tokens as pieces, one string per segment ([CLS] A [SEP], B [SEP]).

    Masked positions show what the model sees and the original: ``[MASK→orig]``,
    ``(kept:orig)`` or ``{random→orig}``.
    """
    ids = np.asarray(features["input_ids"])
    n = int(np.count_nonzero(np.asarray(features["input_mask"]) == 1))
    weights = np.asarray(features["masked_lm_weights"])
    m = int(np.count_nonzero(weights == 1.0))
    masked = dict(
        zip(
            np.asarray(features["masked_lm_positions"])[:m].tolist(),
            np.asarray(features["masked_lm_ids"])[:m].tolist(),
        )
    )
    tokens = []
    for i, token_id in enumerate(ids[:n].tolist()):
        piece = vocab.piece(token_id)
        if i in masked:
            original = vocab.piece(masked[i])
            if token_id == vocab.mask:
                piece = f"[MASK→{original}]"
            elif token_id == masked[i]:
                piece = f"(kept:{original})"
            else:
                piece = f"{{{piece}→{original}}}"
        tokens.append(piece)
    seps = np.flatnonzero(ids[:n] == vocab.sep)
    cut = int(seps[0]) + 1 if seps.size else n
    return [" ".join(tokens[:cut]), " ".join(tokens[cut:])]


# --- the whole run ----------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str
    record: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}: record {self.record}: {self.message}"


@dataclass
class InspectReport:
    files: list[str]
    shape: RecordShape | None = None
    stats: RecordStats = field(default_factory=RecordStats)
    examples: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS_SHOWN
    problem_count: int = 0
    invalid_records: int = 0
    records_per_file: dict[str, int] = field(default_factory=dict)
    sample: int | None = None  # --max-records: only the first records of each file were read

    @property
    def aggregate_problems(self) -> list[str]:
        return self.stats.implausibilities()

    @property
    def ok(self) -> bool:
        return self.invalid_records == 0 and not self.aggregate_problems

    def to_dict(self) -> dict:
        return {
            "files": self.records_per_file,
            "shape": None
            if self.shape is None
            else {
                "max_seq_length": self.shape.max_seq_length,
                "max_predictions_per_seq": self.shape.max_predictions_per_seq,
            },
            "valid": self.ok,
            "sample": None
            if self.sample is None
            else {
                "max_records": self.sample,
                "records_checked": sum(self.records_per_file.values()),
            },
            "invalid_records": self.invalid_records,
            "problem_count": self.problem_count,
            "problems": [str(p) for p in self.problems],
            "aggregate_problems": self.aggregate_problems,
            "stats": self.stats.summary(),
            "examples": self.examples,
        }


def inspect_files(
    files: list[str],
    vocab: RecordedVocab,
    *,
    max_seq_length: int | None = None,
    max_predictions_per_seq: int | None = None,
    show: int = 3,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    max_records: int | None = None,
    on_examples: Callable[[list[dict]], None] | None = None,
    range_bytes: int = RANGE_BYTES,
    parallel_from: int = PARALLEL_FROM_BYTES,
) -> InspectReport:
    """Decode, validate and count every record of ``files`` (with ``max_records``, only
    that many, the first of each file); keep ``show`` examples and hand them to
    ``on_examples`` as soon as they are found.

    ``workers`` processes check the files, in byte ranges (see
    :mod:`albert_data.records.checking`), when they hold ``parallel_from`` bytes or
    more. ``progress``, if given, is called with the bytes of the files read since its
    last call. A file whose framing breaks (truncated, bad CRC, not a TFRecord file)
    stops the run with one error naming the file, the record index and the byte offset.
    """
    report = InspectReport(files=files, sample=max_records)
    report.shape = _shape(files, max_seq_length, max_predictions_per_seq)
    ids = Ids(vocab.size, cls=vocab.cls, sep=vocab.sep, mask=vocab.mask, pad=vocab.pad)
    settings = CheckSettings(shape=report.shape or RecordShape(0, 0), ids=ids, show=show)
    planned = plan(files, max_records=max_records, range_bytes=range_bytes)
    total = sum(fileio.file_size(f) for f in files) if workers > 1 else 0
    parallel = workers if total >= parallel_from else 1
    shown = False
    for path, results in run_tasks(planned, settings, workers=parallel, progress=progress):
        _add_file(report, path, results, vocab, show)
        if on_examples is not None and not shown and len(report.examples) >= show:
            on_examples(report.examples)
            shown = True
    if on_examples is not None and not shown:
        on_examples(report.examples)
    return report


def _shape(files: list[str], length: int | None, predictions: int | None) -> RecordShape | None:
    """The shape given, completed from the first record that is an Example."""
    if length and predictions:
        return RecordShape(length, predictions)
    found = first_shape(files)
    if found is None:
        return None
    return RecordShape(length or found.max_seq_length, predictions or found.max_predictions_per_seq)


def _add_file(report: InspectReport, path: str, results, vocab: RecordedVocab, show: int) -> None:
    """Add one file's range results (in order) to ``report``; a broken frame or an
    unreadable file ends the run, naming the record where it breaks."""
    count = 0
    for r in results:
        if r.unreadable is not None:
            raise CorruptRecordError(r.unreadable)
        for index, message in r.problems:
            if len(report.problems) < MAX_PROBLEMS_SHOWN:
                report.problems.append(Problem(path, count + index, message))
        if r.broken is not None:
            raise CorruptRecordError(
                f"{path}: record {count + r.broken.index}: "
                + str(r.broken.error(path)).removeprefix(f"{path}: ")
            )
        report.invalid_records += r.invalid
        report.problem_count += r.problem_count
        report.stats.merge(r.stats)
        for index, features in r.examples:
            if len(report.examples) < show:
                report.examples.append(_example(path, count + index, features, vocab))
        count += r.records
    report.records_per_file[path] = count


def _example(path: str, index: int, features: dict, vocab: RecordedVocab) -> dict:
    segment_a, segment_b = render_record(features, vocab)
    return {
        "file": path,
        "record": index,
        "tokens": int(np.count_nonzero(features["input_mask"])),
        "masked": int(np.count_nonzero(features["masked_lm_weights"] == 1.0)),
        "sop_label": int(features[LABEL_FEATURE][0]),
        "segment_a": segment_a,
        "segment_b": segment_b,
    }


def format_examples(examples: list[dict]) -> list[str]:
    """The decoded examples, each followed by a blank line."""
    lines = []
    for ex in examples:
        order = "swapped" if ex["sop_label"] == 1 else "in order"
        lines += [
            f"{ex['file']}: record {ex['record']}  ({ex['tokens']} tokens, {ex['masked']} masked,"
            f" SOP label {ex['sop_label']} = {order})",
            f"  A: {ex['segment_a']}",
            f"  B: {ex['segment_b']}",
            "",
        ]
    return lines


def format_report(report: InspectReport, *, examples: bool = True) -> str:
    """The human-readable report (examples unless printed already, then statistics)."""
    lines = format_examples(report.examples) if examples else []
    s = report.stats
    summary = s.summary()
    total = sum(report.records_per_file.values())
    valid = "all valid" if not report.invalid_records else f"{report.invalid_records} invalid"
    lines.append(f"files            {len(report.records_per_file)}")
    lines.append(f"records          {total} ({valid})")
    if report.sample is not None:
        lines.append(
            f"sample           only the first {total} records were checked"
            f" (--max-records {report.sample}, spread over the files); the others were not read"
        )
    if report.shape is not None:
        lines.append(
            f"shape            max_seq_length {report.shape.max_seq_length},"
            f" max_predictions_per_seq {report.shape.max_predictions_per_seq}"
        )
    lines.append(f"real tokens      {s.tokens} (mean {summary['mean_length']:.1f} per record)")
    lines.append(
        f"predictions      {s.predictions} ({summary['mask_rate']:.1%} of tokens,"
        f" mean {summary['mean_predictions']:.1f} per record)"
    )
    if s.unmasked_records:
        why = (
            "written for dynamic masking"
            if s.unmasked_records == s.records
            else "no whole word fitted the prediction budget"
        )
        lines.append(f"without masks    {s.unmasked_records} ({why})")
    if s.predictions:
        mix = summary["replacement_mix"]
        lines.append(
            f"replacement mix  [MASK] {mix['mask']:.1%}, kept {mix['kept']:.1%},"
            f" random {mix['random']:.1%}"
        )
    if s.records:
        lines.append(
            f"SOP labels       0 (in order) {s.sop_labels[0] / s.records:.1%},"
            f" 1 (swapped) {s.sop_labels[1] / s.records:.1%}"
        )
        lines.append("sequence lengths")
        peak = max(c for _, _, c in s.length_histogram()) or 1
        for low, high, count in s.length_histogram():
            bar = "#" * round(40 * count / peak)
            lines.append(f"  {low:>5}-{high:<5} {count:>9}  {bar}".rstrip())
    return "\n".join(lines)
