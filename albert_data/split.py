"""``split-sentences`` runners: the local (single-process) one, and the part-file
encoding the Beam pipeline uses to order and de-duplicate each shard with bounded
memory (``pipelines/split_sentences.py``).

Both write each shard's documents in input order, a document going to the shard chosen
by its content hash; of identical documents the first in input order is kept. So both
paths write the same bytes.
"""

from __future__ import annotations

import contextlib
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from albert_data.docranges import auto_range_bytes, plan_ranges
from albert_data.documents import (
    CleanDocument,
    SplitConfig,
    SplitSummary,
    clean_document,
    output_paths,
    shard_of,
)
from albert_data.errors import UserError
from albert_data.fileio import (
    delete,
    exists,
    file_size,
    open_write,
    parent_dir,
    remove_tree,
    rename,
    temp_name,
)
from albert_data.partfiles import external_sort
from albert_data.rawtext import ReadCounts, read_documents

# A document in a part file. Key: its file's index in the input order; data: its byte
# offset in the file, its sentence count, its text. With de-duplication the key is the
# first 8 bytes of the content digest instead, and the data starts with the rest of the
# digest and the file index, so that copies of a document are adjacent, earliest first.
_PLACE = struct.Struct(">QI")  # offset, sentences
_FILE = struct.Struct(">I")
_DIGEST_REST = 12  # SHA-1 is 20 bytes, 8 of them in the key


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


def part_entry(
    file_index: int, offset: int, doc: CleanDocument, *, dedup: bool
) -> tuple[int, bytes]:
    """The (key, data) of a kept document in a part file (see ``_PLACE``)."""
    body = _PLACE.pack(offset, len(doc.sentences)) + doc.text.encode("utf-8")
    if not dedup:
        return file_index, body
    digest = doc.digest
    return (
        int.from_bytes(digest[:8], "big"),
        digest[8:] + _FILE.pack(file_index) + body,
    )


@dataclass
class ShardCounts:
    documents: int = 0
    sentences: int = 0
    duplicates: int = 0


def shard_documents(
    entries: Iterable[tuple[int, bytes]], *, dedup: bool, scratch_dir: str, counts: ShardCounts
) -> Iterator[bytes]:
    """The texts of one shard in input order, from its parts' entries merged in key
    order; with ``dedup``, only the first copy of each document (the others counted).
    Memory stays bounded: the reordering after de-duplication is an external sort."""
    if dedup:
        entries = external_sort(_first_copies(entries, counts), scratch_dir=scratch_dir)
    for _file_index, data in entries:
        _offset, sentences = _PLACE.unpack_from(data)
        counts.documents += 1
        counts.sentences += sentences
        yield data[_PLACE.size :]


def _first_copies(entries: Iterable[tuple[int, bytes]], counts: ShardCounts):
    previous = None
    for key, data in entries:
        digest = (key, data[:_DIGEST_REST])
        if digest == previous:
            counts.duplicates += 1
            continue
        previous = digest
        file_index = _FILE.unpack_from(data, _DIGEST_REST)[0]
        yield file_index, data[_DIGEST_REST + _FILE.size :]
