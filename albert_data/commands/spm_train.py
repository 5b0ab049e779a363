"""``albert-data spm-train``: a SentencePiece vocabulary trained with ALBERT's recipe.

Click options → :class:`albert_data.jobs.spm_train.SpmTrainRequest` → ``run`` → the
summary. The work is in ``albert_data/jobs/spm_train.py``.
"""

from __future__ import annotations

import click

from albert_data.jobs.reporting import LINE_EVERY


def _split_symbols(value: str) -> tuple[str, ...]:
    return tuple(s for s in value.split(",") if s)


@click.command(
    "spm-train",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--model-prefix",
    required=True,
    help="Writes PREFIX.model, PREFIX.vocab, PREFIX.json (a file-name prefix: dir/ is refused).",
)
@click.option("--vocab-size", type=int, default=30000, show_default=True)
@click.option(
    "--model-type",
    type=click.Choice(["unigram", "bpe", "char", "word"]),
    default="unigram",
    show_default=True,
)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option(
    "--character-coverage",
    type=float,
    default=None,
    help="Default 0.99995 (ALBERT), 0.9995 for --lang zh.",
)
@click.option(
    "--input-sentence-size",
    type=click.IntRange(min=1),
    default=10_000_000,
    show_default=True,
    help="Sentences sampled uniformly from the input.",
)
@click.option("--seed", type=int, default=12345, show_default=True, help="Seed of the sample.")
@click.option("--num-threads", type=click.IntRange(min=1), default=None, help="Default: all cores.")
@click.option("--nfkc/--no-nfkc", default=True, show_default=True, help="Unicode NFKC first.")
@click.option("--lower-case/--no-lower-case", default=True, show_default=True)
@click.option("--strip-accents/--keep-accents", default=False, show_default=True)
@click.option(
    "--rewrite-quotes/--no-rewrite-quotes",
    default=False,
    show_default=True,
    help="ALBERT's preprocess_text: `` and '' become \".",
)
@click.option(
    "--jieba/--no-jieba",
    default=False,
    show_default=True,
    help="Pre-segment Chinese with jieba (--lang zh); recorded and applied again at encoding.",
)
@click.option(
    "--hard-vocab-limit/--no-hard-vocab-limit",
    default=True,
    show_default=True,
    help="--no-hard-vocab-limit accepts fewer pieces when the corpus is small.",
)
@click.option("--pad-id", type=int, default=0, show_default=True)
@click.option("--unk-id", type=int, default=1, show_default=True)
@click.option("--bos-id", type=int, default=-1, show_default=True)
@click.option("--eos-id", type=int, default=-1, show_default=True)
@click.option("--control-symbols", default="[CLS],[SEP],[MASK]", show_default=True)
@click.option("--user-defined-symbols", default='(,),",-,.,–,£,€', show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--verbose", is_flag=True, help="Show SentencePiece's own log.")
@click.option(
    "--runner",
    default=None,
    help="Draw the sample with this Beam runner (other Beam options as --name=value).",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help=f"A progress bar on a terminal (otherwise, and with --no-progress, a line every {LINE_EVERY:g} s).",
)
@click.pass_context
def spm_train(ctx: click.Context, inputs: tuple[str, ...], **opts) -> None:
    """Train a SentencePiece vocabulary with ALBERT's recipe on sentence-per-line INPUTS.

    INPUTS are files, directories or globs (.gz/.bz2 read transparently; gs:// and other
    Beam file systems too). Defaults: unigram, 30 000 pieces, <pad>=0, <unk>=1, no BOS/EOS,
    [CLS] [SEP] [MASK] = 2 3 4, user symbols ( ) " - . – £ €, lower-cased text.
    """
    from albert_data.commands.beam_args import split_pass_through
    from albert_data.jobs.spm_train import SpmTrainRequest, run

    positional, beam_args = split_pass_through(list(inputs) + list(ctx.args))
    if beam_args:  # a misspelled option is named with the closest one, --runner or not
        from pipelines.options import check_known_options

        names = tuple(o for p in ctx.command.params for o in (*p.opts, *p.secondary_opts))
        check_known_options(beam_args, command_options=names)
    opts["control_symbols"] = _split_symbols(opts["control_symbols"])
    opts["user_defined_symbols"] = _split_symbols(opts["user_defined_symbols"])
    request = SpmTrainRequest(inputs=tuple(positional), pass_through=tuple(beam_args), **opts)
    result = run(request)
    for line in result.summary_lines():
        click.echo(line, err=True)
    for line in result.written_lines():
        click.echo(line)
