"""``albert-data export``: SavedModel, Hugging Face directory and Google-named checkpoint."""

from __future__ import annotations

import dataclasses

import click

from albert_data.errors import UserError

FORMATS = ("savedmodel", "hf", "google")


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
    type=click.Choice(FORMATS),
    multiple=True,
    help="Repeatable; default all three.",
)
@click.option(
    "--spm-model",
    type=click.Path(exists=True, dir_okay=False),
    help="SentencePiece .model to ship with the Hugging Face export.",
)
@click.option(
    "--do-lower-case/--no-do-lower-case",
    default=None,
    help="tokenizer_config.json for the Hugging Face export. Default: what the --spm-model's "
    "sidecar (PREFIX.json) records, else yes (what every command assumes without one).",
)
def export(model_dir, checkpoint, config_path, output, formats, spm_model, do_lower_case):
    """Export a trained model to OUTPUT/saved_model (TF SavedModel, serving signature
    input_ids, input_mask, segment_ids -> sequence_output, pooled_output), OUTPUT/hf
    (transformers AlbertForPreTraining: config.json, model.safetensors, spiece.model)
    and OUTPUT/google (model.ckpt-N with Google's variable names + albert_config.json).
    """
    from pathlib import Path

    from albert_data.interop.loading import load_trained_model

    tokenizer = _tokenizer_options(spm_model, do_lower_case) if spm_model else {}
    model, report = load_trained_model(model_dir, checkpoint, config_path)
    click.echo(report.summary().splitlines()[0], err=True)
    out = Path(output)
    for fmt in formats or FORMATS:
        path = _export_one(fmt, model, out, spm_model, tokenizer, report.step)
        click.echo(f"{fmt}: {path}")


def _tokenizer_options(spm_model: str, do_lower_case: bool | None) -> dict:
    """``do_lower_case`` and ``keep_accents`` for the Hugging Face tokenizer, and the
    ``normalization`` and ``pre_segmentation`` its tokenizer.json reproduces: what the
    SentencePiece model's sidecar records, an explicit ``--do-lower-case/--no-do-lower-case``
    winning (with a warning if they disagree)."""
    from albert_data.text.normalize import Normalization
    from vocab.base import VocabError
    from vocab.sidecar import read_sidecar, sidecar_path

    try:
        sidecar = read_sidecar(spm_model)
    except VocabError as err:
        raise UserError(str(err)) from None
    if sidecar is None:
        # What every other command assumes for a vocabulary without a sidecar.
        lower = Normalization().lower_case if do_lower_case is None else do_lower_case
        return {
            "do_lower_case": lower,
            "keep_accents": True,
            "normalization": Normalization(lower_case=lower),
            "pre_segmentation": "none",
        }
    recorded = Normalization.from_dict(sidecar.normalization)
    if do_lower_case is not None and do_lower_case != recorded.lower_case:
        flag = "--do-lower-case" if do_lower_case else "--no-do-lower-case"
        click.echo(
            f"warning: {flag} overrides {sidecar_path(spm_model)} (lower_case={recorded.lower_case}); the "
            "exported tokenizer will not normalise text as the vocabulary was trained",
            err=True,
        )
    lower = recorded.lower_case if do_lower_case is None else do_lower_case
    return {
        "do_lower_case": lower,
        "keep_accents": not recorded.strip_accents,
        "normalization": dataclasses.replace(recorded, lower_case=lower),
        "pre_segmentation": sidecar.pre_segmentation,
    }


def _tokenizer_json(spm_model: str, options: dict) -> str | None:
    """The tokenizer.json text, or None (with a note) when the model has no equivalent."""
    from albert_data.interop.hf_tokenizer import tokenizer_json
    from vocab.sentencepiece_tokenizer import SentencePieceTokenizer

    tokenizer = SentencePieceTokenizer.from_file(
        spm_model,
        normalizer=options["normalization"],
        pre_segmentation=options["pre_segmentation"],
    )
    try:
        return tokenizer_json(tokenizer)
    except UserError as err:
        click.echo(f"note: no tokenizer.json written: {err}", err=True)
        return None


def _export_one(fmt, model, out, spm_model, tokenizer, step):
    if fmt == "savedmodel":
        from albert_data.interop.saved_model import export_saved_model

        return export_saved_model(model, str(out / "saved_model"))
    if fmt == "hf":
        from albert_data.interop.huggingface import export_huggingface

        return export_huggingface(
            model,
            out / "hf",
            spm_model=spm_model,
            do_lower_case=tokenizer.get("do_lower_case", False),
            keep_accents=tokenizer.get("keep_accents", True),
            tokenizer_json=_tokenizer_json(spm_model, tokenizer) if spm_model else None,
        )
    from albert_data.interop.checkpoints import write_google_checkpoint

    prefix = write_google_checkpoint(model, out / "google", step=step)
    model.config.to_json(out / "google" / "albert_config.json")
    return prefix
