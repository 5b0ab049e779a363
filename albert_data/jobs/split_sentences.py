"""``split-sentences`` runners: the local (single-process) one and the Beam one
(``pipelines/split_sentences.py``).

Both write each shard's documents in input order, a document going to the shard chosen
by its content hash; of identical documents the first in input order is kept. So both
paths write the same bytes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

from albert_data.errors import UserError
from albert_data.files.docranges import auto_range_bytes, plan_ranges
from albert_data.files.fileio import (
    delete,
    exists,
    file_size,
    open_write,
    parent_dir,
    remove_tree,
    rename,
    temp_name,
)
from albert_data.text.documents import (
    SplitConfig,
    SplitSummary,
    clean_document,
    output_paths,
    shard_of,
)
from albert_data.text.rawtext import ReadCounts, read_documents


def check_outputs(paths: list[str], *, overwrite: bool) -> None:
    existing = [p for p in paths if exists(p)]
    if existing and not overwrite:
        raise UserError(
            f"output {existing[0]} already exists; choose another --output or pass --overwrite"
        )


def run_local(
    inputs: list[str],
    output: str,
    *,
    config: SplitConfig,
    num_shards: int = 1,
    gzip: bool = False,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SplitSummary:
    """Split ``inputs`` into sentence-per-line documents; write atomically; return counts.

    Documents keep their input order inside each shard; a document goes to the shard
    chosen by its content hash, as in the Beam path, so both write the same files.
    """
    finals = output_paths(output, num_shards=num_shards, gzip=gzip)
    check_outputs(finals, overwrite=overwrite)
    temps = [temp_name(p) for p in finals]
    summary = SplitSummary(outputs=finals)
    seen: set[bytes] = set()
    counts = ReadCounts()
    first_in_shard = [True] * num_shards
    try:
        with contextlib.ExitStack() as stack:
            handles = [stack.enter_context(open_write(t, compress=gzip)) for t in temps]
            for path in inputs:
                for raw in read_documents(path, config.read, counts):
                    summary.documents_in += 1
                    doc = clean_document(raw, config)
                    if doc.dropped == "empty":
                        summary.dropped_empty += 1
                        continue
                    if doc.dropped == "short":
                        summary.dropped_short += 1
                        continue
                    digest = doc.digest
                    if config.dedup:
                        if digest in seen:
                            summary.duplicates += 1
                            continue
                        seen.add(digest)
                    shard = shard_of(digest, num_shards)
                    prefix = b"" if first_in_shard[shard] else b"\n"
                    first_in_shard[shard] = False
                    handles[shard].write(prefix + doc.text.encode("utf-8"))
                    summary.documents_out += 1
                    summary.sentences += len(doc.sentences)
                if progress is not None:
                    progress(file_size(path))
        if summary.documents_in == 0:
            raise UserError(no_documents_message(inputs))
        for tmp, final in zip(temps, finals):
            rename(tmp, final)
    except BaseException:
        delete(temps)
        raise
    summary.files = counts.files
    summary.bytes = counts.bytes
    summary.replaced_bytes = counts.replaced_bytes
    summary.malformed_lines = counts.malformed_lines
    return summary


def run_beam(
    inputs: list[str],
    output: str,
    *,
    config: SplitConfig,
    num_shards: int = 1,
    gzip: bool = False,
    overwrite: bool = False,
    runner: str | None = None,
    num_workers: int | None = None,
    pass_through: tuple[str, ...] = (),
    range_bytes: int | None = None,
) -> SplitSummary:
    """The same as :func:`run_local` as a Beam pipeline on ``runner``; large files are
    read in byte ranges, in parallel."""
    import apache_beam as beam

    from pipelines import split_sentences as pipeline_module
    from pipelines.errors import raise_first_error
    from pipelines.options import build_options, check_paths_for_runner, counter, run_pipeline

    check_paths_for_runner(runner, {"INPUTS": inputs, "--output": [output]})
    finals = output_paths(output, num_shards=num_shards, gzip=gzip)
    check_outputs(finals, overwrite=overwrite)
    temps = [temp_name(p) for p in finals]
    sizes = [file_size(p) for p in inputs]
    range_bytes = range_bytes or auto_range_bytes(sum(sizes))
    ranges = [
        (i, r)
        for i, (path, size) in enumerate(zip(inputs, sizes))
        for r in plan_ranges(path, size, range_bytes=range_bytes)
    ]
    work = f"{parent_dir(finals[0])}/.albert-data-split-{uuid.uuid4().hex[:12]}"
    options = build_options(
        runner=runner,
        pass_through=list(pass_through),
        num_workers=num_workers,
        job_name="albert-data-split-sentences",
    )
    try:
        pipeline = beam.Pipeline(options=options)
        pipeline_module.build(
            pipeline, ranges=ranges, temps=temps, config=config, gzip=gzip, work_dir=work
        )
        result = run_pipeline(pipeline)
        raise_first_error(pipeline_module.error_path(work))
        summary = SplitSummary(outputs=finals)
        for name in SUMMARY_COUNTERS:
            setattr(summary, name, counter(result, name))
        if summary.documents_in == 0:
            raise UserError(no_documents_message(inputs))
        for tmp, final in zip(temps, finals):
            rename(tmp, final)
        return summary
    except BaseException:
        delete(temps)
        raise
    finally:
        remove_tree(work)


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


def no_documents_message(inputs: list[str]) -> str:
    return f"no documents found in {len(inputs)} input file(s) (first: {inputs[0]}); check the files are not empty and --input-format matches them"
