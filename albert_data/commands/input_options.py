"""The input layout options every command that reads text offers, under the same names:
``--input-format``, ``--text-field`` and ``--document-separator``
(``albert_data.text.rawtext.ReadConfig``)."""

from __future__ import annotations

import click

from albert_data.commands.defaults import option as config_option

# What each layout is, for the --help of every command (make-pretraining adds `sentences`).
LAYOUTS = {
    "sentences": "one sentence per line, a blank line between documents (taken as they are)",
    "blank-line": "one paragraph per line, a blank line between documents",
    "line": "one document per line",
    "jsonl": "one JSON object per line, its --text-field the document",
    "wrapped": (
        "hard-wrapped text (books, man pages, .rst): lines joined into paragraphs, blank "
        "lines between paragraphs, documents separated by --document-separator"
    ),
    "parquet": "Parquet files, one document per row of the --text-field column",
}
RAW_LAYOUTS = ("blank-line", "line", "jsonl", "wrapped", "parquet")


def input_layout_options(command=None, *, formats=RAW_LAYOUTS, default="blank-line"):
    """Decorate a command with the three layout options."""

    def decorate(fn):
        help_text = "; ".join(f"{name}: {LAYOUTS[name]}" for name in formats) + "."
        options = [
            click.option(
                "--input-format",
                type=click.Choice(list(formats)),
                default=default,
                show_default=True,
                help=help_text,
            ),
            config_option(
                "--text-field",
                default_from="albert_data.text.rawtext:ReadConfig.text_field",
                help="The JSONL field or Parquet column holding the text.",
            ),
            click.option(
                "--document-separator",
                default=None,
                help=(
                    "With --input-format wrapped: file (each file is one document; the "
                    "default), two-blank-lines, or the text of a line that separates "
                    "documents (e.g. ---)."
                ),
            ),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate(command) if command is not None else decorate


def read_config(opts: dict, *, strict: bool):
    """The ``ReadConfig`` of the layout options (popped from ``opts``)."""
    from albert_data.errors import UserError
    from albert_data.text.rawtext import ReadConfig

    fmt = opts.pop("input_format")
    separator = opts.pop("document_separator")
    if separator is not None and fmt != "wrapped":
        raise UserError(
            f"--document-separator {separator!r} applies to --input-format wrapped (with "
            f"--input-format {fmt} documents are separated by the layout itself); drop it or "
            f"use --input-format wrapped"
        )
    try:
        return ReadConfig(
            format="blank-line" if fmt == "sentences" else fmt,
            text_field=opts.pop("text_field"),
            strict=strict,
            document_separator=separator or "file",
        )
    except ValueError as err:
        raise UserError(f"--document-separator {separator!r}: {err}") from None
