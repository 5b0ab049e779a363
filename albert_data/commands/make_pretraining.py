"""``albert-data make-pretraining``: documents → n-gram-masked MLM + SOP TFRecords (Beam)."""

from __future__ import annotations

import click

from albert_data.commands.claim_option import take_over_option
from albert_data.commands.defaults import option
from albert_data.commands.input_options import RAW_LAYOUTS, input_layout_options
from albert_data.jobs.beam_progress import LINE_EVERY

CONFIG = "albert_data.pretraining.document_records:PretrainingConfig"
REQUEST = "albert_data.jobs.make_pretraining:MakePretrainingRequest"
PRETRAINING_LAYOUTS = ("sentences", *RAW_LAYOUTS)
PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True}


@click.command("make-pretraining", context_settings=PASS_THROUGH)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Output directory (local or gs://...).")
@click.option(
    "--spm-model",
    default=None,
    help="SentencePiece PREFIX.model (its PREFIX.json sidecar is read too).",
)
@click.option("--vocab-file", default=None, help="WordPiece vocab.txt (BERT style).")
@click.option(
    "--do-lower-case/--no-do-lower-case",
    default=None,
    help="Lower-case before tokenising (default: the sidecar's setting, else on).",
)
@option(
    "--word-segmenter",
    type=click.Choice(["auto", "none", "jieba"]),
    default_from=f"{REQUEST}.word_segmenter",
    help="Word boundaries for whole-word masking; auto = jieba for Chinese vocabularies.",
)
@input_layout_options(formats=PRETRAINING_LAYOUTS, default="sentences")
@option("--max-seq-length", default_from=f"{CONFIG}.instances.max_seq_length", type=int)
@option(
    "--max-predictions-per-seq",
    default_from=f"{CONFIG}.masking.max_predictions_per_seq",
    type=int,
)
@option("--masked-lm-prob", default_from=f"{CONFIG}.masking.masked_lm_prob", type=float)
@option("--short-seq-prob", default_from=f"{CONFIG}.instances.short_seq_prob", type=float)
@option(
    "--dupe-factor",
    default_from=f"{CONFIG}.dupe_factor",
    type=int,
    help="Passes over each document, each with different instances and masks.",
)
@option(
    "--max-n",
    "--ngram",
    "max_n",
    default_from=f"{CONFIG}.masking.max_n",
    type=int,
    help="Longest masked n-gram, in words.",
)
@option(
    "--favor-shorter-ngram/--no-favor-shorter-ngram",
    default_from=f"{CONFIG}.masking.favor_shorter_ngram",
    help="p(n) ∝ 1/n instead of uniform.",
)
@option(
    "--do-whole-word-mask/--no-do-whole-word-mask",
    default_from=f"{CONFIG}.masking.do_whole_word_mask",
)
@option("--random-seed", default_from=f"{CONFIG}.random_seed", type=int)
@option(
    "--masking",
    type=click.Choice(["static", "dynamic"]),
    default_from=f"{CONFIG}.masking_mode",
    help="dynamic: write no masks (token_boundary kept) and mask during training.",
)
@click.option(
    "--num-shards",
    default=None,
    type=int,
    help="Output files (default: a power of two making 32-64 MB files, estimated from the records of the first 256 KB of input).",
)
@option(
    "--name",
    default_from=f"{REQUEST}.name",
    help="Output file name stem: NAME-00000-of-000NN.tfrecord.",
)
@click.option("--gzip", is_flag=True, help="Write .tfrecord.gz (TFRecord GZIP compression).")
@click.option("--strict", is_flag=True, help="Fail on undecodable bytes or malformed JSONL lines.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Write into a non-empty output directory, replacing earlier records.",
)
@click.option(
    "--runner",
    default=None,
    help="Beam runner: direct (default: DirectRunner, multi-processing on all cores), portable, flink, spark, dataflow or prism (README, Runners).",
)
@click.option(
    "--num-workers",
    type=int,
    default=None,
    help="DirectRunner worker processes (default: the processors this process may use: its CPU affinity and its cgroup's CPU quota).",
)
@click.option(
    "--range-bytes",
    default=None,
    type=int,
    help="Files are read in parallel in byte ranges of this size (default: 1/64 of the input, or 1/8 of a worker's share with more than 8 workers; 256 KB to 64 MB).",
)
@option(
    "--shuffle",
    default_from="albert_data.jobs.beam_job:BeamSettings.shuffle",
    help="How records reach their shard: engine (the runner's GroupByKey), files (local sorted run files, bounded memory), auto (files on the DirectRunner, engine elsewhere).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    help=f"A progress bar on a terminal (otherwise a line every {LINE_EVERY:g} s).",
)
@take_over_option
@click.pass_context
def make_pretraining(ctx, **opts):
    """Write ALBERT pretraining TFRecords (n-gram masked LM + sentence order) from
    sentence-per-line documents INPUTS (files, globs, directories; .gz; gs://).

    Any option not listed here is passed to Beam, e.g. --project, --region,
    --temp_location for --runner DataflowRunner.
    """
    from albert_data.commands.beam_args import beam_settings, split_pass_through
    from albert_data.errors import UserError
    from albert_data.jobs.make_pretraining import (
        CONFIG_OPTIONS,
        MakePretrainingRequest,
        pretraining_config,
        run,
    )

    inputs, beam_args = split_pass_through(
        list(opts.pop("inputs")) + list(ctx.args), runner=opts.get("runner")
    )
    if not inputs:
        raise UserError("no INPUTS given; name the sentence-per-line files, globs or directories")
    beam = beam_settings(ctx, opts, beam_args)
    from albert_data.commands.input_options import read_config

    read_config(dict(opts), strict=False)  # the same checks as every reader's options
    opts["document_separator"] = opts["document_separator"] or "file"
    config = pretraining_config(**{name: opts.pop(name) for name in CONFIG_OPTIONS})
    request = MakePretrainingRequest(inputs=tuple(inputs), config=config, beam=beam, **opts)
    result = run(request)
    for line in result.summary_lines():
        click.echo(line, err=True)
