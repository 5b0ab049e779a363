"""What ``albert-data inspect`` does: decode TFRecords back to pieces, validate every
record, and gather statistics. The Click command in ``commands/inspect.py`` only parses
options and prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from albert_data.errors import UserError
from albert_data.files import fileio
from albert_data.files.tfrecord import CorruptRecordError, read_records
from albert_data.records.schema import (
    FLOAT_FEATURES_P,
    INT_FEATURES_L,
    INT_FEATURES_P,
    LABEL_FEATURE,
    RecordShape,
    parse,
)
from albert_data.records.validate import RecordStats, validate_record

MAX_PROBLEMS_SHOWN = 10
PROGRESS_EVERY = 512  # records between two progress reports
_RECORD_NAME = re.compile(r"\.tf_?record", re.IGNORECASE)


@dataclass(frozen=True)
class InspectVocab:
    """What decoding and validation need from a vocabulary."""

    pieces: tuple[str, ...]
    pad: int
    cls: int
    sep: int
    mask: int
    fingerprint: str = ""  # the tokenizer's, as make-pretraining records it in stats.json

    @property
    def size(self) -> int:
        return len(self.pieces)

    def piece(self, token_id: int) -> str:
        token_id = int(token_id)
        return self.pieces[token_id] if 0 <= token_id < self.size else f"<id {token_id}?>"


def load_vocab(path: str, *, recorded: dict | None = None) -> InspectVocab:
    """A SentencePiece ``.model`` or a WordPiece ``vocab.txt``, loaded with the project's
    tokenizers. Decoding ids needs no settings, but the fingerprint does: it is taken
    with the settings ``recorded`` in the records' ``stats.json`` (its ``vocabulary``
    entry) when given, else with the defaults ``make-pretraining`` uses."""
    from albert_data.text.tokenization import load_tokenizer

    is_spm = path.endswith(".model") or _looks_like_protobuf(path)
    source = {"spm_model": path} if is_spm else {"vocab_file": path}
    tokenizer = None
    if recorded:
        try:
            tokenizer = load_tokenizer(**source, **_load_options(recorded, is_spm=is_spm))
        except UserError:
            tokenizer = None  # settings this vocabulary cannot have: it is another one
    if tokenizer is None:
        tokenizer = load_tokenizer(**source)
    size = int(tokenizer.vocab_size)
    pieces = tuple(tokenizer.id_to_piece(np.arange(size)))
    s = tokenizer.special
    return InspectVocab(
        pieces=pieces,
        pad=s.pad,
        cls=s.cls,
        sep=s.sep,
        mask=s.mask,
        fingerprint=tokenizer.fingerprint(),
    )


def _load_options(recorded: dict, *, is_spm: bool) -> dict:
    """``load_tokenizer`` options that rebuild the tokenizer ``recorded`` describes."""
    norm = recorded.get("normalization") or {}
    segmenter = recorded.get("word_segmenter")
    options: dict = {"word_segmenter": segmenter if segmenter in ("none", "jieba") else None}
    if is_spm:
        names = ("nfkc", "lower_case", "strip_accents", "rewrite_quotes")
        options.update({k: bool(norm[k]) for k in names if k in norm})
    else:
        options["do_lower_case"] = recorded.get("do_lower_case")
        names = ("nfkc", "strip_accents", "rewrite_quotes")
        options.update({k: True for k in names if norm.get(k)})
    return options


def recorded_vocabulary(files: list[str]) -> dict | None:
    """The ``vocabulary`` entry of the first ``stats.json`` beside ``files`` that has one."""
    import json

    from albert_data.records.provenance import stats_paths

    for path in stats_paths(files):
        try:
            with fileio.open_raw(path) as fh:
                entry = json.loads(fh.read().decode("utf-8")).get("vocabulary")
        except (OSError, ValueError, UnicodeDecodeError, AttributeError):
            continue
        if isinstance(entry, dict):
            return entry
    return None


def _looks_like_protobuf(path: str) -> bool:
    """A SentencePiece model starts with field 1 (pieces), length-delimited: byte 0x0A.
    Read through ``fileio`` so that a remote vocabulary (``gs://``...) works too."""
    if not fileio.exists(path):
        raise UserError(f"--vocab {path}: no such file; check the path")
    try:
        with fileio.open_raw(path) as f:
            return f.read(1) == b"\x0a"
    except OSError as err:
        raise UserError(f"{path}: cannot read the vocabulary ({err.strerror or err})") from None


def record_files(patterns: Iterable[str]) -> list[str]:
    """Files named by paths, globs and directories; from a directory (local or remote) only
    the ``*.tfrecord*`` / ``*.tf_record*`` files, so that ``stats.json`` beside them is skipped."""
    files: list[str] = []
    for pattern in patterns:
        matched = fileio.expand_inputs([pattern], what="records")
        is_directory = matched != [pattern] and not any(c in pattern for c in "*?[")
        if is_directory:
            matched = [f for f in matched if _RECORD_NAME.search(f.rsplit("/", 1)[-1])]
            if not matched:
                raise UserError(
                    f"{pattern}: the directory holds no *.tfrecord or *.tfrecord.gz file;"
                    " pass the record files"
                )
        files.extend(matched)
    return list(dict.fromkeys(files))


# --- decoding ---------------------------------------------------------------------------


def render_record(features: dict[str, np.ndarray], vocab: InspectVocab) -> list[str]:
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
            "invalid_records": self.invalid_records,
            "problem_count": self.problem_count,
            "problems": [str(p) for p in self.problems],
            "aggregate_problems": self.aggregate_problems,
            "stats": self.stats.summary(),
            "examples": self.examples,
        }


def inspect_files(
    files: list[str],
    vocab: InspectVocab,
    *,
    max_seq_length: int | None = None,
    max_predictions_per_seq: int | None = None,
    show: int = 3,
    progress: Callable[[int], None] | None = None,
) -> InspectReport:
    """Decode, validate and count every record of ``files``; keep ``show`` examples.

    ``progress``, if given, is called with the bytes of the files read since its last
    call. A file whose framing breaks (truncated, bad CRC, not a TFRecord file) is a
    problem of the record index where it breaks; the other files are still read.
    """
    report = InspectReport(files=files)
    for path in files:
        count = 0
        for index, features in _decoded(path, report, progress):
            count += 1
            if features is None:
                continue
            if report.shape is None:
                report.shape = RecordShape(
                    max_seq_length or _size(features, INT_FEATURES_L),
                    max_predictions_per_seq
                    or _size(features, (*INT_FEATURES_P, *FLOAT_FEATURES_P)),
                )
            problems = validate_record(
                features,
                shape=report.shape,
                vocab_size=vocab.size,
                cls_id=vocab.cls,
                sep_id=vocab.sep,
                mask_id=vocab.mask,
                pad_id=vocab.pad,
            )
            if problems:
                _record_problems(report, path, index, problems)
                continue
            report.stats.add(features, mask_id=vocab.mask)
            if len(report.examples) < show:
                report.examples.append(_example(path, index, features, vocab))
        report.records_per_file[path] = count
    return report


def _decoded(
    path: str, report: InspectReport, progress: Callable[[int], None] | None
) -> Iterator[tuple[int, dict | None]]:
    """(index, features) of each record (``None`` for a record that is not an Example).
    Broken framing ends the file: a one-line error naming the file, the index of the
    record where it breaks and the byte offset."""
    reported = index = 0
    with fileio.open_raw(path) as raw:
        try:
            for data in read_records(raw, name=path):
                if progress is not None and index % PROGRESS_EVERY == 0:
                    reported = _report_bytes(raw, reported, progress)
                try:
                    features = parse(data)
                except (ValueError, UnicodeDecodeError) as err:
                    _record_problems(report, path, index, [f"not a tf.train.Example ({err})"])
                    features = None
                yield index, features
                index += 1
        except CorruptRecordError as err:
            raise CorruptRecordError(
                f"{path}: record {index}: {str(err).removeprefix(f'{path}: ')}"
            ) from None
        if progress is not None:
            _report_bytes(raw, reported, progress)


def _report_bytes(raw, reported: int, progress: Callable[[int], None]) -> int:
    try:
        position = raw.tell()
    except (OSError, ValueError):
        return reported
    if position > reported:
        progress(position - reported)
    return max(position, reported)


def _size(features: dict, names: tuple[str, ...]) -> int:
    """The length of the first of ``names`` present (they all have the same length)."""
    return next((int(np.asarray(features[n]).size) for n in names if n in features), 0)


def _record_problems(report: InspectReport, path: str, index: int, problems: list[str]) -> None:
    report.invalid_records += 1
    report.problem_count += len(problems)
    for message in problems:
        if len(report.problems) < MAX_PROBLEMS_SHOWN:
            report.problems.append(Problem(path, index, message))


def _example(path: str, index: int, features: dict, vocab: InspectVocab) -> dict:
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


def format_report(report: InspectReport) -> str:
    """The human-readable report (examples, then statistics)."""
    lines = []
    for ex in report.examples:
        order = "swapped" if ex["sop_label"] == 1 else "in order"
        lines += [
            f"{ex['file']}: record {ex['record']}  ({ex['tokens']} tokens, {ex['masked']} masked,"
            f" SOP label {ex['sop_label']} = {order})",
            f"  A: {ex['segment_a']}",
            f"  B: {ex['segment_b']}",
            "",
        ]
    s = report.stats
    summary = s.summary()
    total = sum(report.records_per_file.values())
    valid = "all valid" if not report.invalid_records else f"{report.invalid_records} invalid"
    lines.append(f"files            {len(report.records_per_file)}")
    lines.append(f"records          {total} ({valid})")
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
