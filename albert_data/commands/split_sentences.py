"""``albert-data split-sentences``: raw text → one sentence per line, blank line between documents."""

from __future__ import annotations

import time

import click

PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}


@click.command("split-sentences", context_settings=PASS_THROUGH)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    help="Output file (one shard) or name pattern (several shards).",
)
@click.option(
    "--input-format",
    type=click.Choice(["blank-line", "line", "jsonl"]),
    default="blank-line",
    show_default=True,
    help="blank-line: documents separated by blank lines; line: one document per line; jsonl: one JSON object per line.",
)
@click.option(
    "--text-field", default="text", show_default=True, help="JSONL field holding the text."
)
@click.option(
    "--nfkc/--no-nfkc", default=True, show_default=True, help="Unicode NFKC normalisation."
)
@click.option(
    "--max-sentence-chars",
    default=2000,
    show_default=True,
    help="Longer sentences are cut at clause punctuation or a space.",
)
@click.option(
    "--min-sentences", default=1, show_default=True, help="Drop documents with fewer sentences."
)
@click.option(
    "--min-chars", default=0, show_default=True, help="Drop documents with fewer characters."
)
@click.option(
    "--dedup/--no-dedup", default=True, show_default=True, help="Remove exact duplicate documents."
)
@click.option("--num-shards", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--gzip", is_flag=True, help="Write gzip-compressed output.")
@click.option(
    "--strict",
    is_flag=True,
    help="Fail on undecodable bytes or malformed JSONL lines instead of replacing/skipping them.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing output.")
@click.option(
    "--runner",
    default=None,
    help="Run as a Beam pipeline on this runner (DirectRunner, DataflowRunner, ...). Default: local, one process.",
)
@click.option(
    "--num-workers",
    type=click.IntRange(min=1),
    default=None,
    help="DirectRunner worker processes (default: all cores).",
)
@click.option(
    "--range-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="With --runner: files are read in parallel in byte ranges of this size (default: 1/64 of the input, 1 to 64 MB).",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar (local path).")
@click.pass_context
def split_sentences(
    ctx,
    inputs,
    output,
    input_format,
    text_field,
    nfkc,
    max_sentence_chars,
    min_sentences,
    min_chars,
    dedup,
    num_shards,
    gzip,
    strict,
    overwrite,
    runner,
    num_workers,
    range_bytes,
    progress,
):
    """Split raw text INPUTS (files, globs, directories; .gz/.bz2; gs://) into
    sentence-per-line documents separated by blank lines.

    Any option not listed here is passed to Beam (e.g. --project, --region,
    --temp_location for --runner DataflowRunner).
    """
    from albert_data.commands.beam_args import split_pass_through
    from albert_data.errors import UserError
    from albert_data.files.fileio import expand_inputs
    from albert_data.text.documents import SplitConfig
    from albert_data.text.rawtext import ReadConfig, check_not_binary

    inputs, beam_args = split_pass_through(list(inputs) + list(ctx.args))
    if beam_args and runner is None:
        raise UserError(
            f"unknown option(s) {' '.join(beam_args)}; Beam pipeline options need --runner"
        )
    if not inputs:
        raise UserError("no INPUTS given; name the raw text files, globs or directories to split")
    try:
        config = SplitConfig(
            read=ReadConfig(format=input_format, text_field=text_field, strict=strict),
            nfkc=nfkc,
            max_sentence_chars=max_sentence_chars,
            min_sentences=min_sentences,
            min_chars=min_chars,
            dedup=dedup,
        )
    except ValueError as err:
        raise UserError(str(err)) from err
    files = expand_inputs(inputs)
    for path in files:
        check_not_binary(path)
    start = time.monotonic()
    if runner is None:
        summary = _run_local(files, output, config, num_shards, gzip, overwrite, progress)
    else:
        summary = _run_beam(
            files,
            output,
            config,
            num_shards,
            gzip,
            overwrite,
            runner,
            num_workers,
            beam_args,
            range_bytes,
        )
    click.echo(f"split-sentences done in {time.monotonic() - start:.1f}s", err=True)
    for line in summary.lines():
        click.echo(f"  {line}", err=True)
    for path in summary.outputs:
        click.echo(f"  wrote {path}", err=True)
    if summary.documents_out == 0:
        raise UserError(
            f"no document survived cleaning (in: {summary.documents_in}); lower --min-sentences/--min-chars"
        )


def _run_local(files, output, config, num_shards, gzip, overwrite, progress):
    from tqdm import tqdm

    from albert_data.files.fileio import file_size
    from albert_data.jobs.split_sentences import run_local

    total = sum(file_size(f) for f in files)
    with tqdm(
        total=total, unit="B", unit_scale=True, disable=not progress, desc="split-sentences"
    ) as bar:
        return run_local(
            files,
            output,
            config=config,
            num_shards=num_shards,
            gzip=gzip,
            overwrite=overwrite,
            progress=bar.update,
        )


def _run_beam(
    files, output, config, num_shards, gzip, overwrite, runner, num_workers, extra, range_bytes
):
    from albert_data.jobs.split_sentences import run_beam

    return run_beam(
        files,
        output,
        config=config,
        num_shards=num_shards,
        gzip=gzip,
        overwrite=overwrite,
        runner=runner,
        num_workers=num_workers,
        pass_through=tuple(extra),
        range_bytes=range_bytes,
    )
