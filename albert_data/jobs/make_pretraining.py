"""The ``make-pretraining`` job: validate options, plan the work, run the Beam
pipeline (``pipelines.pretraining.MakePretraining``), publish the shards and
``stats.json`` only when everything succeeded."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

from albert_data import __version__
from albert_data.errors import UserError
from albert_data.files import fileio
from albert_data.jobs.beam_job import (
    BeamSettings,
    InputPlan,
    JobSpec,
    apply_to_ranges,
    check_paths,
    check_settings,
    expand_inputs,
    job_paths,
    plan_inputs,
    progress_totals,
    run_job,
)
from albert_data.jobs.outputs import (
    WorkDir,
    claimed,
    clear_leftovers,
    is_own_entry,
    publish,
)
from albert_data.jobs.reporting import Say, say
from albert_data.pretraining.config_errors import ConfigError
from albert_data.pretraining.document_records import PretrainingConfig, VocabIds
from albert_data.pretraining.output_size import OutputEstimate, estimate_output
from albert_data.text.rawtext import ReadCounts, check_inputs, no_documents_problem

TARGET_SHARD_BYTES = 64 * 1024 * 1024
# The engine shuffle sorts one shard in a worker's memory: shards above this are refused.
MAX_SHARD_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class MakePretrainingRequest:
    """The options of one run, as given on the command line."""

    inputs: tuple[str, ...]
    output: str
    spm_model: str | None = None
    vocab_file: str | None = None
    do_lower_case: bool | None = None
    word_segmenter: str = "auto"
    input_format: str = "sentences"
    text_field: str = "text"
    config: PretrainingConfig = field(default_factory=PretrainingConfig)
    document_separator: str = "file"
    num_shards: int | None = None
    name: str = "pretraining"
    gzip: bool = False
    strict: bool = False
    overwrite: bool = False
    take_over: bool = False  # take over another run's live claim on --output
    beam: BeamSettings = field(default_factory=BeamSettings)

    def __post_init__(self) -> None:
        if self.num_shards is not None:
            fileio.check_num_shards(self.num_shards)
        if not self.name or "/" in self.name or os.sep in self.name or self.name in (".", ".."):
            raise UserError(
                f"--name {self.name!r} is the stem of the file names, not a path; give a name without '/' (the files go in --output)"
            )


@dataclass
class MakePretrainingResult:
    outputs: list[str]
    stats_path: str | None
    stats: dict
    elapsed: float
    dry_run: bool = False

    def summary_lines(self) -> list[str]:
        if self.dry_run:
            return [
                f"make-pretraining: dry run built in {self.elapsed:.1f}s; nothing was submitted or written"
            ]
        return summary_lines(self.stats["counts"], self.elapsed) + [
            *masking_cap_lines(self.stats),
            *(f"  wrote {p}" for p in self.outputs),
            f"  wrote {self.stats_path}",
        ]


def summary_lines(s: dict, elapsed: float) -> list[str]:
    """The console summary: every count of lost, replaced or skipped input, in words."""
    lines = [
        f"make-pretraining done in {elapsed:.1f}s",
        f"  documents read      {s['documents_read']:,}",
        f"  instances           {s['instances']:,} ({s['tokens']:,} tokens, mean length {s['mean_sequence_length']:.1f})",
        f"  masked tokens       {s['masked_tokens']:,} ({100 * s['masked_fraction']:.2f}% of tokens)",
        f"  SOP swapped         {s['sop']['swapped']:,} ({100 * s['sop']['swapped_fraction']:.1f}%)",
        f"  tokens per second   {s['tokens'] / max(elapsed, 1e-9):,.0f}",
    ]
    lines += [f"  {line}" for line in loss_lines(s)]
    return lines + [f"  note: {hint}" for hint in s.get("input_layout", {}).get("hints", [])]


def masking_cap_lines(stats: dict) -> list[str]:
    """One line when ``--max-predictions-per-seq`` keeps masking well below
    ``--masked-lm-prob`` (Google's 20 at 512 tokens masks ~4.7 %, not 15 %): measured on
    static records, the most the trainer will mask for ``--masking dynamic``."""
    config, counts = stats.get("config") or {}, stats.get("counts") or {}
    prob, cap = config.get("masked_lm_prob"), config.get("max_predictions_per_seq")
    mean, length = counts.get("mean_sequence_length"), config.get("max_seq_length")
    if not (prob and cap and mean and length):
        return []
    static = config.get("masking", "static") == "static"
    fraction = counts.get("masked_fraction", 0.0) if static else min(prob, cap / mean)
    if fraction >= 0.8 * prob:
        return []
    needed = math.ceil(prob * length)
    how = "masks" if static else "will mask at most"
    return [
        f"  note: --max-predictions-per-seq {cap} caps masking: it {how} {100 * fraction:.1f}% of the tokens (mean sequence {mean:.0f} tokens), not --masked-lm-prob {prob:g}; --max-predictions-per-seq {needed} would allow {100 * prob:g}% of {length} tokens"
    ]


_SKIP_WORDS = {
    "empty": "empty documents skipped",
    "one_token": "one-token documents skipped",
}


def loss_lines(s: dict) -> list[str]:
    """One line per kind of input that was dropped, replaced, cut or skipped."""
    lines = []
    for reason, count in sorted(s.get("documents_skipped", {}).items()):
        words = _SKIP_WORDS.get(reason, f"documents skipped ({reason.replace('_', ' ')})")
        lines.append(f"{words}: {count:,}")
    for key, words in (
        ("undecodable_bytes_replaced", "undecodable bytes replaced by U+FFFD"),
        ("malformed_lines", "malformed JSONL lines skipped"),
        ("null_rows_skipped", "null Parquet rows skipped"),
        ("ruler_lines", "ruler lines (==== or ----) taken as paragraph ends, not text"),
        (
            "sentences_longer_than_sequence",
            "sentences longer than a sequence, cut at word boundaries",
        ),
        ("long_sentence_pieces", "pieces those long sentences were cut into"),
        ("truncated_tokens", "tokens truncated from over-long pairs"),
        ("one_sentence_documents", "one-sentence documents split at a word boundary"),
    ):
        if s.get(key):
            lines.append(f"{words}: {s[key]:,}")
    return lines or ["nothing was dropped, replaced or cut"]


def read_layout(req: MakePretrainingRequest):
    """How the run reads its inputs (``albert_data.text.rawtext.ReadConfig``)."""
    from albert_data.text.documents import pretraining_read_config

    try:
        return pretraining_read_config(
            req.input_format, req.text_field, req.strict, req.document_separator
        )
    except ValueError as err:
        raise UserError(f"--input-format {req.input_format}: {err}") from None


# The command's options that make up the PretrainingConfig, in the order stats.json lists
# them; each is the field of that name in the config or one of its parts ("masking" is
# PretrainingConfig.masking_mode).
CONFIG_OPTIONS = (
    "max_seq_length",
    "max_predictions_per_seq",
    "masked_lm_prob",
    "short_seq_prob",
    "dupe_factor",
    "max_n",
    "favor_shorter_ngram",
    "do_whole_word_mask",
    "random_seed",
    "masking",
)


def _config_parts(config: PretrainingConfig) -> tuple:
    return (config, config.instances, config.masking)


def pretraining_config(**options) -> PretrainingConfig:
    """The configs of ``make-pretraining``'s options (any of :data:`CONFIG_OPTIONS`; the
    others keep the configs' defaults); their own range checks become one-line errors
    naming the flag."""
    from albert_data.pretraining.instances import InstanceConfig
    from albert_data.pretraining.masking import MaskingConfig

    if "masking" in options:
        options["masking_mode"] = options.pop("masking")

    def take(cls) -> dict:
        return {f.name: options.pop(f.name) for f in fields(cls) if f.name in options}

    try:
        instances, masking = (
            InstanceConfig(**take(InstanceConfig)),
            MaskingConfig(**take(MaskingConfig)),
        )
        return PretrainingConfig(instances=instances, masking=masking, **options)
    except ConfigError as err:
        raise UserError(err.flag_message()) from None


def config_options(config: PretrainingConfig) -> dict:
    """:func:`pretraining_config`'s options back from ``config`` (stats.json's names)."""
    values = {}
    for part in _config_parts(config):
        values.update({f.name: getattr(part, f.name) for f in fields(part)})
    values["masking"] = values.pop("masking_mode")
    return {name: values[name] for name in CONFIG_OPTIONS}


def estimate(req: MakePretrainingRequest, plan: InputPlan, tokenizer, config) -> OutputEstimate:
    """The run's output size, from the records of the head of its inputs
    (``albert_data.pretraining.output_size``); none for a dry run, which does not read them."""
    if req.beam.dry_run:
        return OutputEstimate(0, 0, 0.0, req.config.dupe_factor)
    return estimate_output(
        plan.files,
        plan.sizes,
        fmt=req.input_format,
        text_field=req.text_field,
        document_separator=req.document_separator,
        tokenizer=tokenizer,
        config=config,
        vocab=VocabIds.of(tokenizer),
    )


def choose_num_shards(estimate: float, req: MakePretrainingRequest) -> int:
    """The number of output shards: the user's, checked against the engine shuffle's
    per-worker memory bound, or the smallest power of two that keeps the estimated
    shards within :data:`TARGET_SHARD_BYTES` (32-64 MiB each). A power of two divides
    evenly among the hosts a trainer reads with (``Dataset.shard``) and the workers that
    write the shards at the end of a run."""
    if req.num_shards is None:
        if req.beam.dry_run:
            raise UserError(
                "a dry run does not list or size the inputs, so it cannot choose the number of output files; pass --num-shards"
            )
        needed = max(1, math.ceil(estimate / TARGET_SHARD_BYTES))
        if needed > fileio.MAX_SHARDS:
            raise UserError(
                f"the output is estimated at {estimate / 2**40:,.1f} TB "
                f"(--dupe-factor {req.config.dupe_factor}), more than {fileio.MAX_SHARDS:,} "
                f"shards of {TARGET_SHARD_BYTES // 2**20} MB; lower --dupe-factor or split the input into several runs"
            )
        return min(1 << (needed - 1).bit_length(), fileio.MAX_SHARDS)
    per_shard = estimate / req.num_shards
    if req.beam.strategy == "engine" and per_shard > MAX_SHARD_BYTES:
        fits = math.ceil(estimate / MAX_SHARD_BYTES)
        raise UserError(
            f"--num-shards {req.num_shards} makes shards of about {per_shard / 2**20:,.0f} MB, over the {MAX_SHARD_BYTES // 2**20} MB a worker sorts in memory with the engine shuffle; use --num-shards {fits} or more"
        )
    return req.num_shards


def shard_paths(output: str, name: str, num_shards: int, gzip: bool) -> list[str]:
    return [shard_path(output, name, i, num_shards, gzip) for i in range(num_shards)]


def shard_path(output: str, name: str, index: int, num_shards: int, gzip: bool) -> str:
    ext = ".tfrecord.gz" if gzip else ".tfrecord"
    return f"{output.rstrip('/')}/{name}-{index:05d}-of-{num_shards:05d}{ext}"


def _existing_entries(output: str) -> list[str]:
    if fileio.is_remote(output):
        from apache_beam.io.filesystems import FileSystems

        try:
            found = FileSystems.match([output.rstrip("/") + "/*"])[0].metadata_list
        except Exception:  # noqa: BLE001 - Beam raises many types for "nothing there"
            return []
        return [m.path for m in found if not is_own_entry(m.path)]
    if not os.path.exists(output):
        return []
    if not os.path.isdir(output):
        raise UserError(f"--output {output} is a file; give a directory")
    return [os.path.join(output, e) for e in os.listdir(output) if not is_own_entry(e)]


def check_output(req: MakePretrainingRequest, say: Callable[[str], None]) -> list[str]:
    """Existing entries of the output directory that --overwrite may replace; leftovers
    of dead runs are removed first (this run holds the claim on the directory)."""
    if req.beam.dry_run:
        return []
    clear_leftovers(req.output, say=say)
    existing = _existing_entries(req.output)
    if existing and not req.overwrite:
        raise UserError(
            f"output directory {req.output} is not empty ({len(existing)} entries, e.g. {os.path.basename(existing[0])}); choose an empty directory or pass --overwrite"
        )
    return existing


def run(req: MakePretrainingRequest, *, say: Say = say) -> MakePretrainingResult:
    """Run the job described by ``req`` to the end; raise :class:`UserError` on bad input."""
    from albert_data.text.tokenization import load_tokenizer

    start = time.monotonic()
    config = req.config
    check_settings(req.beam)
    inputs, output = job_paths(req.beam, req.inputs, req.output)
    req = replace(req, inputs=inputs, output=output)
    tokenizer = load_tokenizer(
        spm_model=req.spm_model,
        vocab_file=req.vocab_file,
        do_lower_case=req.do_lower_case,
        word_segmenter=None if req.word_segmenter == "auto" else req.word_segmenter,
    )
    files = expand_inputs(list(req.inputs), req.beam)
    check_paths(req.beam, {"INPUTS": files, "--output": [req.output]})
    if not req.beam.dry_run:
        fileio.check_writable(req.output, what="--output", directory=True)
        shards = max(req.num_shards or 1, 99999)
        widest = shard_path(req.output, req.name, shards - 1, shards, req.gzip)
        fileio.check_name_length(widest, what="--name")
    with claimed(
        req.output,
        directory=True,
        command="make-pretraining",
        take_over=req.take_over,
        say=say,
        enabled=not req.beam.dry_run,
    ) as claim:
        return _claimed_run(
            req, files, claim, tokenizer=tokenizer, config=config, start=start, say=say
        )


def _claimed_run(req, files, claim, *, tokenizer, config, start, say) -> MakePretrainingResult:
    """The run, once this run holds the claim on ``--output``."""
    existing = check_output(req, say)
    read = read_layout(req)
    if not req.beam.dry_run:
        check_inputs(files, read)
    plan = plan_inputs(files, req.beam, read)
    if not req.beam.dry_run and plan.total_bytes == 0:
        raise UserError(
            f"all {len(files)} input file(s) are empty (first: {files[0]}); give sentence-per-line documents"
        )
    size = estimate(req, plan, tokenizer, config)
    num_shards = choose_num_shards(size.total_bytes, req)
    finals = shard_paths(req.output, req.name, num_shards, req.gzip)
    work = _create_work_dir(req, finals[0], claim)
    with work.removed_at_end():
        counts = _run_pipeline(
            req, plan=plan, tokenizer=tokenizer, config=config, work=work, finals=finals, say=say
        )
        if counts is None:
            return MakePretrainingResult([], None, {}, time.monotonic() - start, dry_run=True)
        report = _report(
            req, plan=plan, tokenizer=tokenizer, finals=finals, counts=counts, start=start
        )
        report["output_estimate"] = size.describe()
        report["shuffle_intermediate"] = intermediate_files(work)
        stats_path = f"{req.output.rstrip('/')}/stats.json"
        # stats.json is written beside the shards in the work directory and published
        # with them: a disk that fills while writing it leaves no output at all.
        with fileio.open_write(work.file("stats.json"), compress=False) as fh:
            fh.write(
                json.dumps(report, indent=2, ensure_ascii=False, default=_jsonable).encode("utf-8")
            )
        if req.overwrite:
            fileio.delete(_stale_outputs(existing, req.name))
        publish(
            [work.file(os.path.basename(p)) for p in [*finals, stats_path]],
            [*finals, stats_path],
            claims=[claim],
        )
        return MakePretrainingResult(finals, stats_path, report, time.monotonic() - start)


def intermediate_files(work: WorkDir) -> dict:
    """Files and bytes the ``files`` shuffle wrote (none for ``engine``: the runner's)."""
    runs = work.file("runs")
    if fileio.is_remote(runs) or not os.path.isdir(runs):
        return {"files": 0, "bytes": 0}
    names = os.listdir(runs)
    return {
        "files": len(names),
        "bytes": sum(os.path.getsize(os.path.join(runs, n)) for n in names),
    }


def _create_work_dir(req: MakePretrainingRequest, first_output: str, claim) -> WorkDir:
    try:
        return WorkDir.create(req.output, "make-pretraining", dry_run=req.beam.dry_run, claim=claim)
    except OSError as err:  # named after the output, for the one-line report
        raise OSError(err.errno, err.strerror, first_output) from err


def _transform(req, *, tokenizer, config, work, finals, progress_dir, local: bool):
    """The composite transform of this run, its pluggable parts chosen by ``req``;
    ``local``: its workers run on this machine (they read the model file themselves)."""
    from pipelines.pretraining import MakePretraining, ReadDocuments
    from pipelines.shuffle import ShuffleToShards

    return MakePretraining(
        tokenizer=tokenizer.reading_model_file() if local else tokenizer,
        config=config,
        vocab=VocabIds.of(tokenizer),
        shuffle=ShuffleToShards(
            num_shards=len(finals), strategy=req.beam.strategy, work_dir=work.path
        ),
        temps=[work.file(os.path.basename(p)) for p in finals],
        compress=req.gzip,
        source=ReadDocuments(
            fmt=req.input_format,
            text_field=req.text_field,
            strict=req.strict,
            document_separator=req.document_separator,
            progress_dir=progress_dir,
        ),
    )


def _run_pipeline(req, *, plan, tokenizer, config, work, finals, say):
    """Run the pipeline; the merged counts (``None`` for a dry run)."""
    from pipelines.options import counters

    progress_dir = work.progress_dir(req.beam)
    local_files = not any(fileio.is_remote(p) for p in [*plan.files, req.output])

    def build(pipeline, lanes):  # Beam is imported once the job's workers are starting
        import apache_beam as beam

        transform = _transform(
            req,
            tokenizer=tokenizer,
            config=config,
            work=work,
            finals=finals,
            progress_dir=progress_dir,
            local=req.beam.direct and local_files,
        )
        out = apply_to_ranges(
            pipeline,
            plan,
            name="MakePretraining",
            transform=transform,
            error_path=work.file("error.txt"),
            lanes=lanes,
        )
        out[transform.STATS] | "WriteStats" >> beam.Map(_write_json, work.file("stats.json"))

    spec = JobSpec(
        job_name="albert-data-make-pretraining",
        build=build,
        error_path=work.file("error.txt"),
        progress_dir=progress_dir,
        progress_total=progress_totals(plan),
        description="make-pretraining",
        ranges=len(plan.ranges),
        local_files=local_files,
    )
    result = run_job(req.beam, spec, say=say)
    if result is None:
        return None
    counts = _read_json(work.file("stats.json"))
    read = ReadCounts.from_counters(counters(result))
    if counts is None or counts["documents_read"] == 0:
        known = no_documents_problem(plan.files, read_layout(req), read)
        if known is not None:
            raise UserError(known)
        raise UserError(
            f"no documents found in {len(plan.files)} input file(s) (first: {plan.files[0]}); give one sentence per line with a blank line between documents"
        )
    add_read_counts(counts, req.input_format, read)
    if counts["instances"] == 0:
        skipped = ", ".join(f"{n} {r}" for r, n in counts["documents_skipped"].items()) or "none"
        raise UserError(
            f"no training instance could be made from {counts['documents_read']} document(s) (skipped: {skipped}); the documents are empty or a single token long"
        )
    return counts


def _recorded_options(req: MakePretrainingRequest) -> dict:
    """The run's options as stats.json records them: one flat table, as on the command
    line."""
    recorded = {}
    for f in fields(req):
        if f.name == "config":
            recorded.update(config_options(req.config))
        elif f.name not in ("inputs", "output", "beam"):
            recorded[f.name] = getattr(req, f.name)
    return recorded


def add_read_counts(counts: dict, fmt: str, read: ReadCounts) -> None:
    """What reading met, into the run's counts (``stats.json``)."""
    counts["undecodable_bytes_replaced"] = read.replaced_bytes
    counts["malformed_lines"] = read.malformed_lines
    if fmt == "parquet":
        counts["null_rows_skipped"] = read.null_rows
    if fmt == "wrapped":
        counts["ruler_lines"] = read.ruler_lines
    counts["input_layout"] = layout_report(fmt, read)


def layout_report(fmt: str, read) -> dict:
    """What the lines of the input looked like, and the hints drawn from it."""
    probe = read.probe()
    return {
        "lines_probed": probe.lines,
        "lines_without_end_punctuation": probe.unpunctuated,
        "line_widths_by_10_columns": list(probe.widths),
        "large_files_read_as_one_document": read.whole_file_documents,
        "hints": read.hints(fmt),
    }


def _report(req, *, plan, tokenizer, finals, counts, start) -> dict:
    elapsed = time.monotonic() - start
    return {
        "albert_data_version": __version__,
        "command": "make-pretraining",
        "inputs": plan.files,
        "input_bytes": plan.total_bytes,
        "byte_ranges": len(plan.ranges),
        "outputs": finals,
        "config": _recorded_options(req),
        "record_shape": {
            "max_seq_length": req.config.instances.max_seq_length,
            "max_predictions_per_seq": req.config.masking.max_predictions_per_seq,
        },
        "vocabulary": {**tokenizer.describe(), "fingerprint": tokenizer.fingerprint()},
        "runner": req.beam.runner or "DirectRunner",
        "num_workers": req.beam.workers_for(len(plan.ranges)),
        "shuffle": req.beam.strategy,
        "beam_options": list(req.beam.pass_through),
        "counts": counts,
        "elapsed_seconds": round(elapsed, 3),
        "tokens_per_second": round(counts["tokens"] / max(elapsed, 1e-9)),
    }


def _write_json(value, path: str) -> None:
    with fileio.open_write(path, compress=False) as fh:
        fh.write(json.dumps(value, default=_jsonable).encode("utf-8"))


def _read_json(path: str):
    try:
        with fileio.open_raw(path) as fh:
            return json.loads(fh.read().decode("utf-8"))
    except (FileNotFoundError, OSError):
        return None


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _stale_outputs(existing: list[str], name: str) -> list[str]:
    base = [os.path.basename(p) for p in existing]
    return [
        p
        for p, b in zip(existing, base)
        if b == "stats.json" or (b.startswith(f"{name}-") and ".tfrecord" in b)
    ]
