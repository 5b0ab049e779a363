"""``albert-data split-sentences``: raw text → one sentence per line, blank line between documents."""

from __future__ import annotations

import click

from albert_data.commands.claim_option import take_over_option
from albert_data.commands.defaults import option
from albert_data.commands.input_options import input_layout_options, read_config
from albert_data.jobs.beam_progress import LINE_EVERY as BEAM_LINE_EVERY
from albert_data.jobs.reporting import LINE_EVERY

PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}
CONFIG = "albert_data.text.documents:SplitConfig"
REQUEST = "albert_data.jobs.split_sentences:SplitSentencesRequest"


@click.command("split-sentences", context_settings=PASS_THROUGH)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    help="Output file (one shard) or name pattern (several shards).",
)
@input_layout_options
@option("--nfkc/--no-nfkc", default_from=f"{CONFIG}.nfkc", help="Unicode NFKC normalisation.")
@option(
    "--max-sentence-chars",
    type=int,
    default_from=f"{CONFIG}.max_sentence_chars",
    help="Longer sentences are cut at clause punctuation or a space.",
)
@option(
    "--min-sentences",
    type=int,
    default_from=f"{CONFIG}.min_sentences",
    help="Drop documents with fewer sentences.",
)
@option(
    "--min-chars",
    type=int,
    default_from=f"{CONFIG}.min_chars",
    help="Drop documents with fewer characters.",
)
@option(
    "--dedup/--no-dedup",
    default_from=f"{CONFIG}.dedup",
    help="Remove exact duplicate documents.",
)
@option("--num-shards", type=int, default_from=f"{REQUEST}.num_shards")
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
    help="Run as a Beam pipeline on this runner: direct, portable, flink, spark, dataflow or prism (README, Runners). Default: local, one process.",
)
@click.option(
    "--num-workers",
    type=click.IntRange(min=1),
    default=None,
    help="DirectRunner worker processes (default: the processors this process may use: its CPU affinity and its cgroup's CPU quota).",
)
@click.option(
    "--range-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="With --runner: files are read in parallel in byte ranges of this size (default: 1/64 of the input, or 1/8 of a worker's share with more than 8 workers; 256 KB to 64 MB).",
)
@option(
    "--shuffle",
    default_from="albert_data.jobs.beam_job:BeamSettings.shuffle",
    help="With --runner: engine (the runner's GroupByKey), files (local sorted run files), auto (files on the DirectRunner, engine elsewhere).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    help=f"A progress bar on a terminal (otherwise a line every {LINE_EVERY:g} s; with --runner, every {BEAM_LINE_EVERY:g} s).",
)
@take_over_option
@click.pass_context
def split_sentences(ctx, **opts):
    """Split raw text INPUTS (files, globs, directories; .gz/.bz2; gs://) into
    sentence-per-line documents separated by blank lines.

    Any option not listed here is passed to Beam (e.g. --project, --region,
    --temp_location for --runner DataflowRunner).
    """
    from albert_data.commands.beam_args import optional_beam, split_pass_through
    from albert_data.errors import UserError
    from albert_data.jobs.split_sentences import SplitSentencesRequest, run
    from albert_data.pretraining.config_errors import ConfigError
    from albert_data.text.documents import SplitConfig

    inputs, beam_args = split_pass_through(
        list(opts.pop("inputs")) + list(ctx.args), runner=opts.get("runner")
    )
    if not inputs:
        raise UserError("no INPUTS given; name the raw text files, globs or directories to split")
    beam, progress = optional_beam(ctx, opts, beam_args)
    read = read_config(opts, strict=opts.pop("strict"))
    try:
        config = SplitConfig(
            read=read,
            **{
                k: opts.pop(k)
                for k in ("nfkc", "max_sentence_chars", "min_sentences", "min_chars", "dedup")
            },
        )
    except ConfigError as err:
        raise UserError(err.flag_message()) from None
    request = SplitSentencesRequest(
        inputs=tuple(inputs), config=config, beam=beam, progress=progress, **opts
    )
    result = run(request)
    for line in result.summary_lines():
        click.echo(line, err=True)
