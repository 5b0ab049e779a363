"""``albert-data spm-train``: a SentencePiece vocabulary trained with ALBERT's recipe.

Click options → :class:`albert_data.jobs.spm_train.SpmTrainRequest` → ``run`` → the
summary. The work is in ``albert_data/jobs/spm_train.py``.
"""

from __future__ import annotations

import click

from albert_data.commands.claim_option import take_over_option
from albert_data.commands.defaults import option
from albert_data.commands.input_options import RAW_LAYOUTS, input_layout_options
from albert_data.jobs.reporting import LINE_EVERY

RECIPE = "vocab.spm_recipe:SpmRecipe"
NORMALIZATION = "albert_data.text.normalize:Normalization"
REQUEST = "albert_data.jobs.spm_train:SpmTrainRequest"


def _split_symbols(value: str) -> tuple[str, ...]:
    return tuple(s for s in value.split(",") if s)


def _take(opts: dict, config: type) -> dict:
    """The options named after ``config``'s fields, removed from ``opts``."""
    import dataclasses

    return {f.name: opts.pop(f.name) for f in dataclasses.fields(config) if f.name in opts}


@click.command(
    "spm-train",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("inputs", nargs=-1, required=True)
@input_layout_options(formats=("sentences", *RAW_LAYOUTS), default="sentences")
@click.option(
    "--model-prefix",
    required=True,
    help="Writes PREFIX.model, PREFIX.vocab, PREFIX.json (a file-name prefix: dir/ is refused).",
)
@option("--vocab-size", type=int, default_from=f"{RECIPE}.vocab_size")
@option(
    "--model-type",
    type=click.Choice(["unigram", "bpe", "char", "word"]),
    default_from=f"{RECIPE}.model_type",
)
@option("--lang", type=click.Choice(["en", "zh"]), default_from=f"{REQUEST}.lang")
@option(
    "--character-coverage",
    type=float,
    default_from="vocab.spm_recipe:CHARACTER_COVERAGE",
    shown=lambda _: None,
    described=lambda by_lang: (
        "ALBERT's for --lang: " + ", ".join(f"{lang} {value}" for lang, value in by_lang.items())
    ),
)
@option(
    "--input-sentence-size",
    type=click.IntRange(min=1),
    default_from=f"{RECIPE}.input_sentence_size",
    help="Sentences sampled uniformly from the input.",
)
@option(
    "--max-sentence-length",
    type=click.IntRange(min=4),
    default_from=f"{RECIPE}.max_sentence_length",
    help="SentencePiece's limit in UTF-8 bytes; a longer line is cut at sentence or word "
    "boundaries into pieces that fit (counted in the summary and the .json sidecar).",
)
@option("--seed", type=int, default_from=f"{REQUEST}.seed", help="Seed of the sample.")
@click.option(
    "--num-threads",
    type=click.IntRange(min=1),
    default=None,
    help="Default: the processors this process may use (CPU affinity, cgroup CPU quota).",
)
@option("--nfkc/--no-nfkc", default_from=f"{NORMALIZATION}.nfkc", help="Unicode NFKC first.")
@option("--lower-case/--no-lower-case", default_from=f"{NORMALIZATION}.lower_case")
@option("--strip-accents/--keep-accents", default_from=f"{NORMALIZATION}.strip_accents")
@option(
    "--rewrite-quotes/--no-rewrite-quotes",
    default_from=f"{NORMALIZATION}.rewrite_quotes",
    help="ALBERT's preprocess_text: `` and '' become \".",
)
@option(
    "--jieba/--no-jieba",
    default_from=f"{REQUEST}.jieba",
    help="Pre-segment Chinese with jieba (--lang zh); recorded and applied again at encoding. "
    "Every word then starts with a ▁, often a bare one: plain --lang zh needs no jieba here "
    "(whole-word masking uses jieba anyway).",
)
@option(
    "--hard-vocab-limit/--no-hard-vocab-limit",
    default_from=f"{RECIPE}.hard_vocab_limit",
    help="--no-hard-vocab-limit accepts fewer pieces when the corpus is small.",
)
@option("--pad-id", type=int, default_from=f"{RECIPE}.pad_id")
@option("--unk-id", type=int, default_from=f"{RECIPE}.unk_id")
@option("--bos-id", type=int, default_from=f"{RECIPE}.bos_id")
@option("--eos-id", type=int, default_from=f"{RECIPE}.eos_id")
@option("--control-symbols", default_from=f"{RECIPE}.control_symbols", shown=",".join)
@option("--user-defined-symbols", default_from=f"{RECIPE}.user_defined_symbols", shown=",".join)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@take_over_option
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
    Beam file systems too). Every default is ALBERT's recipe (shown with each option).
    """
    from albert_data.commands.beam_args import optional_beam, split_pass_through
    from albert_data.jobs.spm_train import SpmTrainRequest, run
    from albert_data.text.normalize import Normalization
    from vocab.spm_recipe import SpmRecipe, recipe_for

    positional, beam_args = split_pass_through(
        list(inputs) + list(ctx.args), runner=opts.get("runner")
    )
    beam, progress = optional_beam(ctx, opts, beam_args)
    opts["control_symbols"] = _split_symbols(opts["control_symbols"])
    opts["user_defined_symbols"] = _split_symbols(opts["user_defined_symbols"])
    from albert_data.commands.input_options import read_config

    fmt = opts["input_format"]
    read = read_config(opts, strict=False)
    recipe = recipe_for(opts["lang"], **_take(opts, SpmRecipe))
    normalization = Normalization(**_take(opts, Normalization))
    request = SpmTrainRequest(
        inputs=tuple(positional),
        recipe=recipe,
        normalization=normalization,
        read=None if fmt == "sentences" else read,
        beam=beam,
        progress=progress,
        **opts,
    )
    result = run(request)
    for line in result.summary_lines():
        click.echo(line, err=True)
    for line in result.written_lines():
        click.echo(line)
