"""``export``: a trained model to a TF SavedModel, a Hugging Face directory and a
Google-named checkpoint.

Every check that can fail runs before TensorFlow is imported and before anything is
written: the formats, the vocabulary options, the config, the vocabulary against the
model's ``vocab_size`` and against the one the records were made with (their
``stats.json``, found beside ``--records`` or in the model directory), and that the output
can be written. The run then claims the output (``jobs.outputs``), writes the formats into
a hidden work directory inside it and publishes them only when all of them succeeded, so
a failure leaves nothing.

A new export format is one entry in :data:`FORMATS`: its name, subdirectory and writer.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from albert_data.errors import UserError
from albert_data.jobs.outputs import WorkDir, claimed, clear_leftovers, publish
from albert_data.jobs.reporting import Say, say
from albert_data.records import provenance


@dataclass(frozen=True)
class ExportInputs:
    """What every format writer gets: the model, its checkpoint step and the tokenizer files."""

    model: object
    step: int
    tokenizer_files: dict[str, bytes]


def _write_saved_model(inputs: ExportInputs, directory: Path) -> str:
    from albert_data.interop.saved_model import export_saved_model

    return export_saved_model(inputs.model, str(directory))


def _write_huggingface(inputs: ExportInputs, directory: Path) -> str:
    from albert_data.interop.huggingface import export_huggingface

    export_huggingface(inputs.model, directory, tokenizer_files=inputs.tokenizer_files)
    return str(directory)


def _write_google(inputs: ExportInputs, directory: Path) -> str:
    from albert_data.interop.checkpoints import write_google_checkpoint

    prefix = write_google_checkpoint(inputs.model, directory, step=inputs.step)
    inputs.model.config.to_json(directory / "albert_config.json")
    return prefix


@dataclass(frozen=True)
class ExportFormat:
    name: str
    subdir: str
    write: Callable[[ExportInputs, Path], str]
    description: str


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "savedmodel",
            "saved_model",
            _write_saved_model,
            "TF SavedModel: input_ids, input_mask, segment_ids -> sequence_output, pooled_output (tf.saved_model.load, tensorflow_hub.KerasLayer)",
        ),
        ExportFormat(
            "hf",
            "hf",
            _write_huggingface,
            "transformers AlbertForPreTraining: config.json, model.safetensors and the tokenizer",
        ),
        ExportFormat(
            "google",
            "google",
            _write_google,
            "model.ckpt-N with Google's variable names + albert_config.json",
        ),
    )
}


@dataclass(frozen=True)
class ExportRequest:
    output: str
    model_dir: str | None = None
    checkpoint: str | None = None
    config_path: str | None = None
    formats: tuple[str, ...] = ()  # empty: every format
    spm_model: str | None = None
    vocab_file: str | None = None
    do_lower_case: bool | None = None
    records: tuple[str, ...] = ()
    allow_vocab_mismatch: bool = False
    verbose: bool = False  # TensorFlow's C++ start-up logs
    take_over: bool = False  # take over another run's live claim on --output

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise UserError(
                f"--format {unknown[0]!r} is not an export format; choose from {', '.join(FORMATS)}"
            )
        if self.spm_model and self.vocab_file:
            raise UserError(
                f"--spm-model {self.spm_model} and --vocab-file {self.vocab_file} both given; pass the one vocabulary the records were made with"
            )
        if not self.model_dir and not self.checkpoint:
            raise UserError("give --model-dir or --checkpoint")

    def chosen_formats(self) -> list[ExportFormat]:
        return [FORMATS[name] for name in dict.fromkeys(self.formats or FORMATS)]


@dataclass(frozen=True)
class ExportResult:
    paths: dict[str, str]
    loaded: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary_lines(self) -> list[str]:
        return [f"{name}: {path}" for name, path in self.paths.items()]


# -- the checks before any work ------------------------------------------------------------


def config_path_of(req: ExportRequest) -> str:
    if req.config_path:
        return req.config_path
    base = Path(req.model_dir) if req.model_dir else Path(req.checkpoint).parent
    path = str(base / "albert_config.json")
    if not Path(path).exists():
        raise UserError(f"{path} does not exist; pass --config albert_config.json")
    return path


def _provenance_files(req: ExportRequest) -> list[str]:
    """Files whose directories may hold the records' ``stats.json``: the ``--records``, and
    the model directory (where a copy of it says what the model was trained on)."""
    from albert_data.files.tfrecord import record_files

    files = record_files(req.records) if req.records else []
    base = req.model_dir or (str(Path(req.checkpoint).parent) if req.checkpoint else None)
    if base:
        files.append(os.path.join(base, provenance.STATS_NAME))
    return files


def _our_tokenizer(req: ExportRequest, recorded: dict):
    """Our tokenizer with the settings the records were made with (where recorded)."""
    from albert_data.records.vocabulary import load_vocab

    return load_vocab(
        req.spm_model or req.vocab_file,
        recorded=recorded,
        kind="spm" if req.spm_model else "wordpiece",
        do_lower_case=req.do_lower_case,
    ).tokenizer


def _wordpiece_for_export(req: ExportRequest, ours, recorded: dict, notes: list[str]):
    """The WordPiece tokenizer to export: ours, with ``--do-lower-case`` overriding what the
    records recorded (with a warning)."""
    from vocab.wordpiece import WordPieceTokenizer

    lower = req.do_lower_case
    if lower is None or lower == ours.do_lower_case:
        return ours
    if "do_lower_case" in recorded:
        flag = "--do-lower-case" if lower else "--no-do-lower-case"
        notes.append(
            f"warning: {flag} overrides the records' stats.json (do_lower_case={ours.do_lower_case}); the exported tokenizer will not encode as the records were made"
        )
    return WordPieceTokenizer(
        ours.id_to_piece(range(ours.vocab_size)),
        do_lower_case=lower,
        normalizer=ours.normalizer,
        path=ours.path,
    )


def no_tokenizer_note(recorded: dict) -> str:
    """The line said when the Hugging Face directory is written without a tokenizer."""
    path = recorded.get("path")
    flag = "--vocab-file" if recorded.get("kind") == "wordpiece" else "--spm-model"
    named = f" ({flag} {path}, which the records' stats.json names)" if path else ""
    return f"note: no vocabulary given, so the Hugging Face directory has no tokenizer (AutoTokenizer cannot load it); pass --spm-model PREFIX.model or --vocab-file vocab.txt, the vocabulary the records were made with{named}"


def tokenizer_files(req: ExportRequest, config, config_path: str, notes: list[str]) -> dict:
    """The Hugging Face tokenizer files, after checking the vocabulary against the model
    and the records; ``{}`` without a vocabulary."""
    from albert_data.interop.hf_tokenizer_files import sentencepiece_files, wordpiece_files
    from albert_data.records.vocabulary import recorded_vocabulary

    vocab_path = req.spm_model or req.vocab_file
    files = _provenance_files(req)
    recorded = recorded_vocabulary(files)
    if not vocab_path:
        if FORMATS["hf"] in req.chosen_formats():
            notes.append(no_tokenizer_note(recorded))
        return {}
    ours = _our_tokenizer(req, recorded)
    if ours.vocab_size != config.vocab_size:
        raise UserError(
            f"{vocab_path} has {ours.vocab_size} pieces but the model's vocab_size is {config.vocab_size} ({config_path}); pass the vocabulary the model was trained with"
        )
    provenance.check_vocabulary(
        files,
        fingerprint=ours.fingerprint(),
        vocab_path=vocab_path,
        allow_mismatch=req.allow_vocab_mismatch,
    )
    max_len = config.max_position_embeddings
    if req.spm_model:
        out = sentencepiece_files(
            req.spm_model,
            do_lower_case=req.do_lower_case,
            model_max_length=max_len,
            hf_dir=str(Path(req.output) / FORMATS["hf"].subdir),
        )
    else:
        exported = _wordpiece_for_export(req, ours, recorded, notes)
        out = wordpiece_files(exported, model_max_length=max_len)
    notes.extend(out.notes)
    return out.files


def check_output(output: str) -> None:
    """``--output`` must be a local directory that can be written, checked before any
    work (the claim on it is then the first thing written)."""
    from albert_data.files.fileio import check_writable, is_remote

    if is_remote(output):
        raise UserError(
            f"--output {output}: export writes a local directory; export locally, then copy it (gsutil -m cp -r)"
        )
    check_writable(output, what="--output", directory=True)


# -- the work --------------------------------------------------------------------------------


@contextlib.contextmanager
def _timed(say: Say, what: str):
    """Say the start of a step, show that it is still running while it runs (a counter
    of the elapsed time on a terminal, a line every few seconds otherwise), and say its
    end when it took a while."""
    from albert_data.jobs.reporting import Heartbeat

    start = time.monotonic()
    say(f"export: {what} ...")
    with Heartbeat(f"export: {what}"):
        yield
    seconds = time.monotonic() - start
    if seconds >= 1:
        say(f"export: {what}: done in {seconds:.1f} s")


def _write_all(req: ExportRequest, inputs: ExportInputs, staging: Path, say: Say) -> dict:
    paths = {}
    for fmt in req.chosen_formats():
        with _timed(say, f"writing {fmt.name} ({fmt.subdir}/)"):
            written = fmt.write(inputs, staging / fmt.subdir)
        paths[fmt.name] = str(Path(req.output) / Path(written).relative_to(staging))
    return paths


def _write_and_publish(
    req: ExportRequest, inputs: ExportInputs, staging: Path, say: Say, claim
) -> dict:
    """Every chosen format into ``staging``, then moved to ``--output``; a write that
    fails (a full disk, a file-size limit: an ``OSError``, or TensorFlow's own
    ``OpError`` when it writes the SavedModel or a checkpoint) is one line."""
    import tensorflow as tf

    try:
        paths = _write_all(req, inputs, staging, say)
        subdirs = [f.subdir for f in req.chosen_formats()]
        publish(
            [str(staging / d) for d in subdirs],
            [str(Path(req.output) / d) for d in subdirs],
            claims=[claim],
        )
    except OSError as err:
        raise UserError(
            f"--output {req.output}: cannot write the export ({public_path(err.filename, staging, req.output)}: {err.strerror}); free space or choose another directory"
        ) from None
    except tf.errors.OpError as err:
        where, why = _op_error_parts(err.message or str(err))
        raise UserError(
            f"--output {req.output}: cannot write the export ({public_path(where, staging, req.output)}: {why or type(err).__name__}); free space or choose another directory"
        ) from None
    return paths


def _op_error_parts(message: str) -> tuple[str, str]:
    """(file, reason) of a TensorFlow write error such as ``{{function_node …}} DIR/f.tmp:
    No space left on device [Op:SaveV2]`` or ``DIR/saved_model.pb.tmp…; No space left on
    device``."""
    text = re.sub(r"\{\{.*?\}\}\s*", "", message.strip().splitlines()[0])
    text = re.sub(r"\s*\[Op:\w+\]$", "", text)
    for separator in ("; ", ": "):
        where, sep, why = text.rpartition(separator)
        if sep and "/" in where:
            return where.strip(), why.strip().lower()
    return "", text.lower()


def public_path(path, staging: Path, output: str) -> str:
    """A file of the staging directory named where it was going (``OUTPUT/saved_model/...``);
    TensorFlow's own temporary suffix (``.tmp<hex>``) dropped."""
    text = str(path or staging)
    text = re.sub(r"(\.tmp[0-9a-f]{16,}|\.tempstate\d+)$", "", text)
    return text.replace(str(staging), output.rstrip("/"), 1)


def run(req: ExportRequest, *, say: Say = say) -> ExportResult:
    """Check everything, load the model, write every chosen format, publish them."""
    from albert_data.model.config import AlbertConfig  # plain JSON: no TensorFlow yet

    config_path = config_path_of(req)
    config = AlbertConfig.from_json(config_path)
    notes: list[str] = []
    files = tokenizer_files(req, config, config_path, notes)
    for line in notes:
        say(line)
    from albert_data.jobs.tensorflow_console import quiet_tensorflow

    quiet_tensorflow(req.verbose)  # the checks passed: now TensorFlow, quietly
    check_output(req.output)
    with claimed(
        req.output, directory=True, command="export", take_over=req.take_over, say=say
    ) as claim:
        clear_leftovers(req.output, say=say)
        work = WorkDir.create(req.output, "export", claim=claim)
        with work.removed_at_end():
            from albert_data.interop.loading import load_trained_model

            with _timed(say, f"loading {req.checkpoint or req.model_dir}"):
                model, report = load_trained_model(req.model_dir, req.checkpoint, config_path)
            inputs = ExportInputs(model=model, step=report.step, tokenizer_files=files)
            paths = _write_and_publish(req, inputs, Path(work.path), say, claim)
    return ExportResult(paths=paths, loaded=report.summary().splitlines()[0], notes=tuple(notes))
