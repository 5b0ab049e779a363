"""The ``spm-train`` job: a SentencePiece vocabulary trained with ALBERT's recipe.

Streams sentence-per-line input (files, directories, globs, ``.gz``/``.bz2``, ``gs://``
and other Beam file systems), keeps a uniform sample of at most ``input_sentence_size``
lines (reservoir sampling seeded by ``seed``, or a Beam pipeline with ``runner``),
normalises it with :class:`albert_data.text.normalize.Normalization` — the function every
tokenizer applies before encoding — and trains SentencePiece in-process. Writes
``PREFIX.model``, ``PREFIX.vocab`` and the ``PREFIX.json`` sidecar, all under temporary
names first, renamed only once all three are complete.

Every check that can fail (options, inputs, an existing or unwritable output, a prefix
naming a directory) runs before the input is read.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass, field

from albert_data.errors import UserError
from albert_data.files import fileio
from albert_data.jobs.beam_job import BeamSettings, check_settings
from albert_data.jobs.outputs import WorkDir, claimed, clear_leftovers, publish
from albert_data.jobs.reporting import Heartbeat, StepProgress, say
from albert_data.limits import usable_cpus
from albert_data.text.normalize import Normalization
from albert_data.text.rawtext import ReadConfig, ReadCounts, no_documents_problem, read_documents
from vocab.spm_recipe import ALBERT_CONTROL_SYMBOLS, SpmRecipe

OUTPUT_SUFFIXES = (".model", ".vocab", ".json")


@dataclass(frozen=True)
class SpmTrainRequest:
    """The options of one ``spm-train`` run: SentencePiece's recipe (ALBERT's by default;
    :func:`vocab.spm_recipe.recipe_for` gives a language's), how the sample is normalised,
    and how it is drawn."""

    inputs: tuple[str, ...]
    model_prefix: str
    recipe: SpmRecipe = field(default_factory=SpmRecipe)
    normalization: Normalization = field(default_factory=Normalization)
    lang: str = "en"
    seed: int = 12345
    num_threads: int | None = None  # None: every usable processor (limits.usable_cpus)
    jieba: bool = False
    overwrite: bool = False
    take_over: bool = False  # take over another run's live claim on --model-prefix
    verbose: bool = False
    progress: bool = True
    beam: BeamSettings | None = None  # draw the sample with Beam; None: in this process
    # How the inputs are read: None for a sentence per line, as it is (--input-format
    # sentences); else a layout of albert_data.text.rawtext, whose documents are cleaned
    # and split into sentences as split-sentences does.
    read: ReadConfig | None = None

    @property
    def input_format(self) -> str:
        return "sentences" if self.read is None else self.read.format


@dataclass(frozen=True)
class Sample:
    lines: list
    lines_read: int
    sampler: str
    read: ReadCounts | None = None  # what reading counted (not known to the Beam sampler)


@dataclass(frozen=True)
class SpmTrainResult:
    paths: dict[str, str]
    pieces: int
    lines_read: int
    sentences: int
    files: int
    train_seconds: float
    elapsed: float
    prepared: dict | None = None  # PreparedSample.facts(): what preparing the sample changed
    notes: tuple[str, ...] = ()  # null rows skipped, the layout the input seems to have
    unit: str = "lines"  # what was read: lines, or the sentences of documents

    def summary_lines(self) -> list[str]:
        lines = [
            f"read {self.lines_read} {self.unit} from {self.files} file(s); trained on "
            f"{self.sentences} sentences in {self.train_seconds:.1f}s "
            f"({self.elapsed:.1f}s in all)"
        ]
        facts = self.prepared or {}
        if facts.get("long_lines_cut"):
            lines.append(
                f"cut {facts['long_lines_cut']} sampled line(s) longer than "
                f"{facts['max_sentence_length']} bytes (SentencePiece's max_sentence_length, "
                f"--max-sentence-length) into {facts['long_line_pieces']} pieces at sentence "
                f"or word boundaries"
            )
        if facts.get("empty_after_normalization"):
            lines.append(
                f"left out {facts['empty_after_normalization']} sampled line(s) empty once "
                f"normalised (only removed characters or whitespace)"
            )
        return lines + list(self.notes)

    def written_lines(self) -> list[str]:
        return [
            f"wrote {self.paths['.model']} ({self.pieces} pieces)",
            f"wrote {self.paths['.vocab']}",
            f"wrote {self.paths['.json']}",
        ]


# --- checks, all before any input is read ----------------------------------------------


def output_paths(prefix: str) -> dict[str, str]:
    """``PREFIX.model`` etc.; a prefix naming a directory is refused (it would write the
    hidden files ``dir/.model``)."""
    if (
        not prefix
        or prefix.endswith(("/", os.sep))
        or (not fileio.is_remote(prefix) and os.path.isdir(prefix))
    ):
        example = f"{prefix.rstrip('/' + os.sep) or '.'}/spm"
        raise UserError(
            f"--model-prefix {prefix!r} names a directory, not a file-name prefix; give e.g. --model-prefix {example} (writes {example}.model, .vocab and .json)"
        )
    return {suffix: prefix + suffix for suffix in OUTPUT_SUFFIXES}


def check_outputs(paths: dict[str, str], *, overwrite: bool) -> None:
    existing = [p for p in paths.values() if fileio.exists(p)]
    if existing and not overwrite:
        raise UserError(
            f"{existing[0]} already exists; pass --overwrite or choose another --model-prefix"
        )


def check_request(req: SpmTrainRequest) -> None:
    if req.jieba and req.lang != "zh":
        raise UserError("--jieba pre-segments Chinese; use it with --lang zh")
    check_recipe(req.recipe)
    if req.num_threads is not None and not 1 <= req.num_threads <= INT32_MAX:
        raise UserError(
            f"--num-threads {req.num_threads} must be from 1 to {INT32_MAX:,} (SentencePiece's limit)"
        )


INT32_MAX = 2**31 - 1


def check_recipe(recipe: SpmRecipe) -> None:
    symbols = set(recipe.control_symbols) | set(recipe.user_defined_symbols)
    for name in ALBERT_CONTROL_SYMBOLS:
        if name not in symbols:
            raise UserError(
                f"--control-symbols {','.join(recipe.control_symbols)} lacks {name}, which ALBERT "
                f"pretraining needs; add it back"
            )
    for flag, value in (("--pad-id", recipe.pad_id), ("--unk-id", recipe.unk_id)):
        if value < 0:
            raise UserError(
                f"{flag} {value}: ALBERT needs a padding and an unknown symbol; use an id >= 0"
            )
    if recipe.vocab_size < 1:
        raise UserError(f"--vocab-size {recipe.vocab_size} must be positive")
    for name in ("vocab_size", "pad_id", "unk_id", "bos_id", "eos_id", "max_sentence_length"):
        value = getattr(recipe, name)
        if abs(value) > INT32_MAX:  # SentencePiece's trainer keeps these in 32 bits
            raise UserError(
                f"--{name.replace('_', '-')} {value} is too large for SentencePiece: at most {INT32_MAX:,}"
            )
    if recipe.max_sentence_length < 4:
        raise UserError(
            f"--max-sentence-length {recipe.max_sentence_length} is below one UTF-8 character "
            f"(4 bytes); use SentencePiece's default 4192 or more"
        )


# --- sampling --------------------------------------------------------------------------


def iter_lines(path: str, progress: StepProgress):
    """The non-empty, stripped lines of one file (UTF-8, BOM dropped, bad bytes replaced);
    ``progress`` is advanced by the raw (compressed) bytes read. A corrupt compressed file
    raises the reader's one-line :class:`UserError`."""
    stream = fileio.open_read(path, wrap_raw=fileio.counted(progress.update))
    with io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace") as text:
        for line in text:
            line = line.strip()
            if line:
                yield line


def sample_locally(files: list[str], req: SpmTrainRequest) -> Sample:
    import numpy as np

    from vocab.reservoir import Reservoir

    reservoir = Reservoir(req.recipe.input_sentence_size, np.random.default_rng(req.seed))
    total = sum(fileio.file_size(f) for f in files)
    counts = ReadCounts()
    with StepProgress("spm-train reading", total=total, bar=req.progress) as progress:
        for path in files:
            if req.read is None:
                reservoir.extend(probed(iter_lines(path, progress), counts))
            else:
                reservoir.extend(document_sentences(path, req.read, counts, progress.update))
    return Sample(reservoir.sample(), reservoir.seen, "reservoir", counts)


def probed(lines, counts: ReadCounts, batch: int = 4096):
    """``lines`` unchanged; their shape counted into ``counts`` (``text.layout``)."""
    from albert_data.text.layout import LineProbe

    probe, pending = LineProbe(), []
    for line in lines:
        pending.append(line)
        if len(pending) >= batch:
            probe.add(pending)
            pending.clear()
        yield line
    probe.add(pending)
    counts.add_probe(probe)


def document_sentences(path: str, read: ReadConfig, counts: ReadCounts, on_bytes=None):
    """The sentences of the documents of one file in the layout ``read``, cleaned and
    split as split-sentences does (``albert_data.text.documents.clean_document``)."""
    from albert_data.text.documents import SplitConfig, clean_document

    split = SplitConfig(read=read)
    for raw in read_documents(path, read, counts, on_bytes=on_bytes):
        yield from clean_document(raw, split).sentences


def read_notes(sample: Sample, fmt: str) -> tuple[str, ...]:
    """Summary lines for what reading met (null rows; the layout the input seems to have)."""
    if sample.read is None:
        return ()
    from albert_data.text.documents import read_lines

    return tuple(read_lines(sample.read)) + tuple(f"note: {h}" for h in sample.read.hints(fmt))


def sample_with_beam(files: list[str], req: SpmTrainRequest) -> Sample:
    """The ``input_sentence_size`` lines with the smallest seeded keys, drawn by a Beam
    pipeline and written under ``--temp_location`` (a local temporary directory by default).

    Beam's text reader ends a truncated gzip file in silence, so local compressed inputs
    are decompressed to their end first (remote ones cannot be checked from here)."""
    import numpy as np

    for path in files:
        if fileio.compression_of(path) and not fileio.is_remote(path):
            fileio.verify_complete(path)
    say(f"spm-train: sampling {len(files)} file(s) with Beam ({req.beam.runner})")
    lines, lines_read = _sample_on_runner(files, req)
    lines.sort()  # shard order depends on the runner; the seeded shuffle below does not
    order = np.random.default_rng(req.seed).permutation(len(lines))
    return Sample([lines[i] for i in order], lines_read, "beam-smallest-keys")


def _sample_on_runner(files: list[str], req: SpmTrainRequest) -> tuple[list[str], int]:
    """On a local runner as the other Beam commands run: Beam's console output in a log
    file, a temporary directory of the run's own (removed at the end), Beam's local
    engine without the DirectRunner's Prism attempt, and a heartbeat while it runs."""
    from albert_data.jobs.beam_console import private_temp_dir, quiet_console

    if not req.beam.local:
        return _sample_remotely(files, req)
    from albert_data.jobs.reporting import Heartbeat

    with (
        quiet_console(enabled=True) as console,
        private_temp_dir(),
        Heartbeat("spm-train: sampling with Beam", stream=console.stream),
    ):
        return _run_sample_pipeline(files, req)


def _sample_remotely(files: list[str], req: SpmTrainRequest) -> tuple[list[str], int]:
    """On a remote runner: local paths made absolute (its workers may not share this
    working directory), Beam's temporary directories and log kept out of $TMPDIR and the
    console, and a failed job told in one line."""
    from albert_data.jobs.beam_console import private_temp_dir, quiet_console
    from pipelines.options import job_failure

    files = [f if fileio.is_remote(f) else os.path.abspath(f) for f in files]
    with quiet_console(enabled=True), private_temp_dir():
        try:
            return _run_sample_pipeline(files, req)
        except (UserError, OSError):
            raise
        except Exception as err:  # noqa: BLE001 - each runner fails its own way
            raise UserError(job_failure(err, runner=req.beam.runner, options={})) from None


def _run_sample_pipeline(files: list[str], req: SpmTrainRequest) -> tuple[list[str], int]:
    from pipelines.spm_sample import draw_sample

    beam = req.beam
    return draw_sample(
        files,
        k=req.recipe.input_sentence_size,
        seed=req.seed,
        runner=beam.runner,
        pass_through=list(beam.pass_through),
        fast_path=beam.direct and beam.fast_path,
        read=req.read,
        ranges=None if req.read is None else document_ranges(files, req.read),
    )


def document_ranges(files: list[str], read: ReadConfig) -> list:
    """The parallel units of the Beam sampler for a document layout: byte ranges, whole
    wrapped files, Parquet row groups (:func:`albert_data.text.input_plan.plan_inputs`)."""
    from albert_data.text.input_plan import plan_inputs

    return [r for _, r in plan_inputs(files, read).ranges]


@dataclass(frozen=True)
class PreparedSample:
    """The sentences SentencePiece trains on, exactly (none longer than its limit), and
    what preparing them changed: lines empty once normalised (left out) and lines longer
    than ``max_sentence_length`` bytes (cut into ``long_line_pieces`` pieces)."""

    sentences: list
    empty_lines: int = 0
    long_lines: int = 0
    long_line_pieces: int = 0

    def facts(self, max_bytes: int) -> dict:
        return {
            "sentences": len(self.sentences),
            "empty_after_normalization": self.empty_lines,
            "long_lines_cut": self.long_lines,
            "long_line_pieces": self.long_line_pieces,
            "max_sentence_length": max_bytes,
        }


def prepare_sample(
    lines: list[str], normalization, segmenter, progress=None, *, max_bytes: int
) -> PreparedSample:
    """The sample normalised (and pre-segmented) as the tokenizers will see text, each
    line longer than ``max_bytes`` UTF-8 bytes cut at sentence or word boundaries
    (SentencePiece would skip it); ``progress``, if given, is told the lines done, every
    10 000."""
    from vocab.long_lines import cut_long_line, utf8_length

    prepared, empty, long_lines, pieces = [], 0, 0, 0
    for i, line in enumerate(lines):
        if progress is not None and i and i % 10_000 == 0:
            progress(10_000)
        text = normalization(line)
        if segmenter is not None:
            text = segmenter.presegment(text)[0]
        if not text:
            empty += 1
        elif len(text) * 4 <= max_bytes or utf8_length(text) <= max_bytes:
            prepared.append(text)
        else:
            cut = cut_long_line(text, max_bytes)
            long_lines += 1
            pieces += len(cut)
            prepared += cut
    return PreparedSample(prepared, empty, long_lines, pieces)


# --- training and writing --------------------------------------------------------------


def describe_inputs(files: list[str]) -> str:
    return files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more files)"


def size_error(err, inputs: str, sentences: int, coverage: float) -> UserError:
    from vocab.spm_recipe import VocabSizeTooLarge

    if isinstance(err, VocabSizeTooLarge):
        return UserError(
            f"{inputs}: the sample ({sentences} sentences) supports at most {err.max_size} pieces, "
            f"not --vocab-size {err.vocab_size}; use --vocab-size {err.max_size}, or "
            f"--no-hard-vocab-limit to accept fewer pieces, or give more text"
        )
    return UserError(
        f"{inputs}: --vocab-size {err.vocab_size} cannot hold the {err.required} characters and "
        f"symbols needed at --character-coverage {coverage}; use --vocab-size {err.required} or "
        f"more, or lower --character-coverage"
    )


def train(
    sentences: list[str], recipe, files: list[str], *, threads: int, verbose: bool, progress=True
):
    """The serialized model; a line before and after SentencePiece's (silent) training."""
    from vocab.base import VocabError
    from vocab.sentencepiece_tokenizer import SentencePieceTokenizer
    from vocab.spm_recipe import VocabSizeTooLarge, VocabSizeTooSmall, train_spm

    where = describe_inputs(files)
    if not sentences:
        raise UserError(f"{where}: no text to train on (empty input); give sentence-per-line files")
    say(
        f"spm-train: training SentencePiece ({recipe.model_type}, {recipe.vocab_size} pieces) "
        f"on {len(sentences):,} sentences with {threads} thread(s)"
    )
    start = time.monotonic()
    try:
        with Heartbeat("spm-train training", bar=progress):
            model = train_spm(sentences, recipe, num_threads=threads, verbose=verbose)
        SentencePieceTokenizer(model)  # every special symbol resolvable
    except (VocabSizeTooLarge, VocabSizeTooSmall) as err:
        raise size_error(err, where, len(sentences), recipe.character_coverage) from None
    except VocabError as err:
        raise UserError(f"{where}: {err}") from None
    say(f"spm-train: SentencePiece trained in {time.monotonic() - start:.1f}s")
    return model


def vocab_text(model: bytes) -> str:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model)
    return "".join(
        f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}\n" for i in range(sp.get_piece_size())
    )


def write_outputs(paths: dict[str, str], model: bytes, sidecar, *, claim=None) -> None:
    """Write every output in a work directory beside them, then publish them all (while
    ``claim`` is still this run's); nothing is left behind on failure (a full disk
    included)."""
    sidecar_text = json.dumps(sidecar.to_dict(), indent=2, ensure_ascii=False) + "\n"
    contents = {
        ".model": model,
        ".vocab": vocab_text(model).encode("utf-8"),
        ".json": sidecar_text.encode("utf-8"),
    }
    parent = fileio.parent_dir(paths[".model"])
    clear_leftovers(parent, say=say)
    try:
        work = WorkDir.create(parent, "spm-train", claim=claim)
    except OSError as err:  # named after the output, for the one-line report
        raise OSError(err.errno, err.strerror, paths[".model"]) from err
    temps = {s: work.file(p.rsplit("/", 1)[-1]) for s, p in paths.items()}
    with work.removed_at_end():
        for suffix in OUTPUT_SUFFIXES:
            try:
                with fileio.open_write(temps[suffix], compress=False) as fh:
                    fh.write(contents[suffix])
            except OSError as err:
                raise OSError(err.errno, err.strerror, paths[suffix]) from err
        publish(
            [temps[s] for s in OUTPUT_SUFFIXES], [paths[s] for s in OUTPUT_SUFFIXES], claims=[claim]
        )


def build_sidecar(
    req: SpmTrainRequest, recipe, normalization, sample: Sample, prepared: dict, **facts
):
    """The ``.json`` sidecar; ``prepared`` is :meth:`PreparedSample.facts`, ``facts`` are
    ``files`` and ``threads``."""
    import datetime

    import sentencepiece

    from albert_data import __version__
    from vocab.jieba_words import jieba_version
    from vocab.sidecar import Sidecar

    return Sidecar(
        normalization=normalization.to_dict(),
        recipe=recipe.to_dict(),
        lang=req.lang,
        pre_segmentation="jieba" if req.jieba else "none",
        sample={
            **prepared,
            "lines_read": sample.lines_read,
            "input_format": req.input_format,
            "sampler": sample.sampler,
            "seed": req.seed,
            "input_files": facts["files"],
            "num_threads": facts["threads"],
        },
        versions={
            "sentencepiece": sentencepiece.__version__,
            "jieba": jieba_version() if req.jieba else None,
            "albert_data": __version__,
        },
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def run(req: SpmTrainRequest) -> SpmTrainResult:
    """Check everything, claim the outputs, sample the input, normalise the sample,
    train, write the outputs."""
    start = time.monotonic()
    if not req.inputs:
        raise UserError("no INPUTS given; name sentence-per-line files, directories or globs")
    if req.beam is not None:
        check_settings(req.beam)
    check_request(req)
    recipe, normalization = req.recipe, req.normalization
    paths = output_paths(req.model_prefix)
    fileio.check_writable(paths[".model"], what="--model-prefix")
    with claimed(
        req.model_prefix,
        directory=False,
        command="spm-train",
        take_over=req.take_over,
        say=say,
        public=paths[".model"],
    ) as claim:
        check_outputs(paths, overwrite=req.overwrite)
        return _claimed_run(
            req, paths, claim, recipe=recipe, normalization=normalization, start=start
        )


def _claimed_run(req: SpmTrainRequest, paths, claim, *, recipe, normalization, start):
    """The work, once this run holds the claim on ``--model-prefix``."""
    import sentencepiece as spm

    from albert_data.text.rawtext import check_inputs
    from vocab.jieba_words import JiebaSegmenter

    files = fileio.expand_inputs(req.inputs)
    check_inputs(files, req.read or ReadConfig())
    sample = sample_with_beam(files, req) if req.beam else sample_locally(files, req)
    if not sample.lines and req.read is not None and sample.read is not None:
        known = no_documents_problem(files, req.read, sample.read)
        if known is not None:
            raise UserError(known)
    segmenter = JiebaSegmenter() if req.jieba else None
    with StepProgress(
        "spm-train normalising", total=len(sample.lines), unit="sentences", bar=req.progress
    ) as progress:
        prepared = prepare_sample(
            sample.lines,
            normalization,
            segmenter,
            progress.update,
            max_bytes=recipe.max_sentence_length,
        )
    sentences = prepared.sentences
    facts = prepared.facts(recipe.max_sentence_length)
    threads = req.num_threads or usable_cpus()
    train_start = time.monotonic()
    model = train(
        sentences, recipe, files, threads=threads, verbose=req.verbose, progress=req.progress
    )
    train_seconds = time.monotonic() - train_start
    sidecar = build_sidecar(req, recipe, normalization, sample, facts, files=files, threads=threads)
    write_outputs(paths, model, sidecar, claim=claim)
    return SpmTrainResult(
        paths=paths,
        pieces=spm.SentencePieceProcessor(model_proto=model).get_piece_size(),
        lines_read=sample.lines_read,
        sentences=len(sentences),
        files=len(files),
        train_seconds=train_seconds,
        elapsed=time.monotonic() - start,
        prepared=facts,
        notes=read_notes(sample, req.input_format),
        unit="lines" if req.read is None else "sentences",
    )
