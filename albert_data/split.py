"""The local (single-process) ``split-sentences`` runner."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from albert_data.documents import SplitConfig, SplitSummary, clean_document, output_paths, shard_of
from albert_data.errors import UserError
from albert_data.fileio import delete, exists, file_size, open_write, rename, temp_name
from albert_data.rawtext import ReadCounts, read_documents


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
            raise UserError(
                f"no documents found in {len(inputs)} input file(s) (first: {inputs[0]}); check the files are not empty and --input-format matches them"
            )
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
