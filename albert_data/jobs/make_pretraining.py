"""The ``make-pretraining`` launcher: validate options, plan the work, run the Beam
pipeline, publish the shards and ``stats.json`` only when everything succeeded."""

from __future__ import annotations

import json
import math
import os
import pickle
import time
import uuid
from dataclasses import asdict, dataclass, field

from albert_data import __version__
from albert_data.errors import UserError
from albert_data.files.fileio import (
    delete,
    expand_inputs,
    file_size,
    is_remote,
    open_raw,
    open_write,
    remove_tree,
    rename,
)

# Output bytes per input byte and duplicate (English SentencePiece, seq 512: a record
# is ~2.6 kB for ~2.2 kB of text); used only to choose the number of shards.
_OUTPUT_PER_INPUT_BYTE = 1.2
_COMPRESSED_EXPANSION = 3.0
TARGET_SHARD_BYTES = 64 * 1024 * 1024


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
    max_seq_length: int = 512
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    dupe_factor: int = 40
    max_n: int = 3
    favor_shorter_ngram: bool = True
    do_whole_word_mask: bool = True
    random_seed: int = 12345
    masking: str = "static"
    num_shards: int | None = None
    name: str = "pretraining"
    gzip: bool = False
    strict: bool = False
    overwrite: bool = False
    runner: str | None = None
    num_workers: int | None = None
    range_bytes: int | None = None
    pass_through: tuple[str, ...] = ()


@dataclass
class RunResult:
    outputs: list[str]
    stats_path: str
    stats: dict
    elapsed: float
    extra: dict = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        s = self.stats["counts"]
        lines = [
            f"make-pretraining done in {self.elapsed:.1f}s",
            f"  documents read      {s['documents_read']:,} (skipped: {s['documents_skipped'] or 'none'})",
            f"  instances           {s['instances']:,} ({s['tokens']:,} tokens, mean length {s['mean_sequence_length']:.1f})",
            f"  masked tokens       {s['masked_tokens']:,} ({100 * s['masked_fraction']:.2f}% of tokens)",
            f"  SOP swapped         {s['sop']['swapped']:,} ({100 * s['sop']['swapped_fraction']:.1f}%)",
            f"  tokens per second   {s['tokens'] / max(self.elapsed, 1e-9):,.0f}",
        ]
        lines += [f"  wrote {p}" for p in self.outputs]
        lines.append(f"  wrote {self.stats_path}")
        return lines


def pretraining_config(req: MakePretrainingRequest):
    from albert_data.pretraining.document_records import PretrainingConfig
    from albert_data.pretraining.instances import InstanceConfig
    from albert_data.pretraining.masking import MaskingConfig

    if req.max_seq_length < 5:
        raise UserError(
            f"--max-seq-length {req.max_seq_length} is too small for [CLS] A [SEP] B [SEP]; use at least 5 (ALBERT uses 512)"
        )
    for flag, value in (("--masked-lm-prob", req.masked_lm_prob),):
        if not 0.0 < value <= 1.0:
            raise UserError(f"{flag} {value} is outside (0, 1]; ALBERT uses 0.15")
    if not 0.0 <= req.short_seq_prob <= 1.0:
        raise UserError(f"--short-seq-prob {req.short_seq_prob} is outside [0, 1]; ALBERT uses 0.1")
    if req.max_predictions_per_seq < 1:
        raise UserError(
            f"--max-predictions-per-seq {req.max_predictions_per_seq} must be >= 1; ALBERT uses 20"
        )
    if req.max_n < 1:
        raise UserError(f"--max-n {req.max_n} must be >= 1; ALBERT uses 3")
    if req.dupe_factor < 1:
        raise UserError(f"--dupe-factor {req.dupe_factor} must be >= 1")
    if req.num_shards is not None and req.num_shards < 1:
        raise UserError(f"--num-shards {req.num_shards} must be >= 1")
    if req.range_bytes is not None and req.range_bytes < 1:
        raise UserError(f"--range-bytes {req.range_bytes} must be >= 1")
    return PretrainingConfig(
        instances=InstanceConfig(
            max_seq_length=req.max_seq_length, short_seq_prob=req.short_seq_prob
        ),
        masking=MaskingConfig(
            masked_lm_prob=req.masked_lm_prob,
            max_predictions_per_seq=req.max_predictions_per_seq,
            max_n=req.max_n,
            favor_shorter_ngram=req.favor_shorter_ngram,
            do_whole_word_mask=req.do_whole_word_mask,
        ),
        dupe_factor=req.dupe_factor,
        random_seed=req.random_seed,
        masking_mode=req.masking,
    )


def choose_num_shards(input_bytes: int, dupe_factor: int) -> int:
    estimate = input_bytes * _OUTPUT_PER_INPUT_BYTE * dupe_factor
    return max(1, math.ceil(estimate / TARGET_SHARD_BYTES))


def shard_paths(output: str, name: str, num_shards: int, gzip: bool) -> list[str]:
    ext = ".tfrecord.gz" if gzip else ".tfrecord"
    base = output.rstrip("/")
    return [f"{base}/{name}-{i:05d}-of-{num_shards:05d}{ext}" for i in range(num_shards)]


def _existing_entries(output: str) -> list[str]:
    if is_remote(output):
        from apache_beam.io.filesystems import FileSystems

        return [m.path for m in FileSystems.match([output.rstrip("/") + "/*"])[0].metadata_list]
    if not os.path.exists(output):
        return []
    if not os.path.isdir(output):
        raise UserError(f"--output {output} is a file; give a directory")
    return [os.path.join(output, e) for e in os.listdir(output)]


def _vocab_ids(tokenizer):
    import numpy as np

    from albert_data.pretraining.document_records import VocabIds

    regular = np.asarray(tokenizer.regular_ids(), dtype=np.int32)
    if regular.size == 0:
        raise UserError("the vocabulary has no regular pieces to use as random replacements")
    sp = tokenizer.special
    return VocabIds(cls=sp.cls, sep=sp.sep, mask=sp.mask, regular=regular)


def run(req: MakePretrainingRequest) -> RunResult:
    import apache_beam as beam

    from albert_data.files.docranges import auto_range_bytes, plan_ranges
    from albert_data.text.tokenization import load_tokenizer
    from pipelines import pretraining as pipeline_module
    from pipelines.errors import raise_first_error
    from pipelines.options import build_options, check_paths_for_runner, counter, run_pipeline

    start = time.monotonic()
    config = pretraining_config(req)
    if req.pass_through and req.runner is None:
        raise UserError(
            f"unknown option(s) {' '.join(req.pass_through)}; Beam options need --runner"
        )
    tokenizer = load_tokenizer(
        spm_model=req.spm_model,
        vocab_file=req.vocab_file,
        do_lower_case=req.do_lower_case,
        word_segmenter=None if req.word_segmenter == "auto" else req.word_segmenter,
    )
    vocab = _vocab_ids(tokenizer)
    files = expand_inputs(req.inputs)
    check_paths_for_runner(req.runner, {"INPUTS": files, "--output": [req.output]})
    existing = _existing_entries(req.output)
    if existing and not req.overwrite:
        raise UserError(
            f"output directory {req.output} is not empty ({len(existing)} entries, e.g. {os.path.basename(existing[0])}); choose an empty directory or pass --overwrite"
        )
    sizes = {f: file_size(f) for f in files}
    input_bytes = sum(s * (3 if f.endswith((".gz", ".bz2")) else 1) for f, s in sizes.items())
    if input_bytes == 0:
        raise UserError(
            f"all {len(files)} input file(s) are empty (first: {files[0]}); give sentence-per-line documents"
        )
    range_bytes = req.range_bytes or auto_range_bytes(sum(sizes.values()))
    ranges = [
        (i, r)
        for i, f in enumerate(files)
        for r in plan_ranges(f, sizes[f], range_bytes=range_bytes)
    ]
    num_shards = req.num_shards or choose_num_shards(input_bytes, req.dupe_factor)
    finals = shard_paths(req.output, req.name, num_shards, req.gzip)
    work = f"{req.output.rstrip('/')}/.albert-data-{uuid.uuid4().hex[:12]}"
    temps = [f"{work}/{os.path.basename(p)}" for p in finals]
    stats_tmp = f"{work}/stats.pickle"
    options = build_options(
        runner=req.runner,
        pass_through=list(req.pass_through),
        num_workers=req.num_workers,
        job_name="albert-data-make-pretraining",
    )
    try:
        pipeline = beam.Pipeline(options=options)
        pipeline_module.build(
            pipeline,
            ranges=ranges,
            tokenizer=tokenizer,
            config=config,
            vocab=vocab,
            temps=temps,
            parts_dir=f"{work}/parts",
            stats_path=stats_tmp,
            error_path=f"{work}/error.txt",
            fmt=req.input_format,
            text_field=req.text_field,
            strict=req.strict,
            compress=req.gzip,
        )
        result = run_pipeline(pipeline)
        raise_first_error(f"{work}/error.txt")
        stats = _load_stats(stats_tmp)
        if stats is None or stats.documents == 0:
            raise UserError(
                f"no documents found in {len(files)} input file(s) (first: {files[0]}); give one sentence per line with a blank line between documents"
            )
        stats.replaced_bytes = counter(result, "replaced_bytes")
        stats.malformed_lines = counter(result, "malformed_lines")
        if stats.instances == 0:
            raise UserError(
                f"no training instance could be made from {stats.documents} document(s) ({dict(stats.skipped)}); the documents are empty or a single token long"
            )
        if req.overwrite:
            delete(_stale_outputs(existing, req.name))
        for tmp, final in zip(temps, finals):
            rename(tmp, final)
        elapsed = time.monotonic() - start
        report = {
            "albert_data_version": __version__,
            "command": "make-pretraining",
            "inputs": files,
            "input_bytes": sum(sizes.values()),
            "byte_ranges": len(ranges),
            "outputs": finals,
            "config": {
                k: v
                for k, v in asdict(req).items()
                if k not in ("inputs", "output", "pass_through")
            },
            "record_shape": {
                "max_seq_length": req.max_seq_length,
                "max_predictions_per_seq": req.max_predictions_per_seq,
            },
            "vocabulary": {**tokenizer.describe(), "fingerprint": tokenizer.fingerprint()},
            "runner": req.runner or "DirectRunner",
            "num_workers": req.num_workers or os.cpu_count(),
            "beam_options": list(req.pass_through),
            "counts": stats.to_json(),
            "elapsed_seconds": round(elapsed, 3),
            "tokens_per_second": round(stats.tokens / max(elapsed, 1e-9)),
        }
        stats_path = f"{req.output.rstrip('/')}/stats.json"
        with open_write(stats_path, compress=False) as fh:
            fh.write(
                json.dumps(report, indent=2, ensure_ascii=False, default=_jsonable).encode("utf-8")
            )
        return RunResult(finals, stats_path, report, elapsed)
    finally:
        remove_tree(work)


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _load_stats(path: str):
    try:
        with open_raw(path) as fh:
            return pickle.loads(fh.read())
    except (FileNotFoundError, OSError):
        return None


def _stale_outputs(existing: list[str], name: str) -> list[str]:
    base = [os.path.basename(p) for p in existing]
    return [
        p
        for p, b in zip(existing, base)
        if b == "stats.json" or (b.startswith(f"{name}-") and ".tfrecord" in b)
    ]
