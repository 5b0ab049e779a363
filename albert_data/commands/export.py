"""``albert-data export``: SavedModel, Hugging Face directory and Google-named checkpoint."""

from __future__ import annotations

import click

from albert_data.commands.claim_option import take_over_option
from albert_data.jobs.export import FORMATS


@click.command("export")
@click.option(
    "--model-dir", help="A training directory: its newest checkpoint and albert_config.json."
)
@click.option(
    "--checkpoint", help="A specific checkpoint prefix (own or Google's) instead of the newest."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="albert_config.json (default: the one in --model-dir).",
)
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory to write; each format goes in its own subdirectory.",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(list(FORMATS)),
    multiple=True,
    help=f"Repeatable; default all of {', '.join(FORMATS)} (see below).",
)
@click.option(
    "--spm-model",
    type=click.Path(exists=True, dir_okay=False),
    help="SentencePiece .model the records were made with, shipped with the Hugging Face export.",
)
@click.option(
    "--vocab-file",
    type=click.Path(exists=True, dir_okay=False),
    help="WordPiece vocab.txt the records were made with (make-pretraining --vocab-file): "
    "the Hugging Face export gets vocab.txt, tokenizer.json and tokenizer_config.json.",
)
@click.option(
    "--do-lower-case/--no-do-lower-case",
    default=None,
    help="Lower-casing of the exported tokenizer. Default: what the records recorded "
    "(stats.json) for --vocab-file, what the --spm-model's sidecar (PREFIX.json) records, "
    "else yes (what every command assumes without one).",
)
@click.option(
    "--records",
    multiple=True,
    help="The records the model was trained on (files, globs or directories; repeatable): "
    "their stats.json says which vocabulary and settings they were made with. A stats.json "
    "in --model-dir is read too.",
)
@click.option(
    "--allow-vocab-mismatch",
    is_flag=True,
    help="Export with a vocabulary other than the one the records' stats.json names.",
)
@click.option("--verbose", is_flag=True, help="Show TensorFlow's C++ start-up logs.")
@take_over_option
def export(
    model_dir,
    checkpoint,
    config_path,
    output,
    formats,
    spm_model,
    vocab_file,
    do_lower_case,
    records,
    allow_vocab_mismatch,
    verbose,
    take_over,
):
    """Export a trained model to OUTPUT/saved_model (TF SavedModel, serving signature
    input_ids, input_mask, segment_ids -> sequence_output, pooled_output), OUTPUT/hf
    (transformers AlbertForPreTraining: config.json, model.safetensors and the tokenizer)
    and OUTPUT/google (model.ckpt-N with Google's variable names + albert_config.json).
    """
    from albert_data.extras import require
    from albert_data.jobs.export import ExportRequest, run

    require("tensorflow", command="export")

    request = ExportRequest(
        output=output,
        model_dir=model_dir,
        checkpoint=checkpoint,
        config_path=config_path,
        formats=tuple(formats),
        spm_model=spm_model,
        vocab_file=vocab_file,
        do_lower_case=do_lower_case,
        records=tuple(records),
        allow_vocab_mismatch=allow_vocab_mismatch,
        verbose=verbose,
        take_over=take_over,
    )
    result = run(request)
    click.echo(result.loaded, err=True)
    for line in result.summary_lines():
        click.echo(line)
