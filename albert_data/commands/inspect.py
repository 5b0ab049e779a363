"""``albert-data inspect``: decode pretraining TFRecords, validate every record, print statistics."""

from __future__ import annotations

import json
import sys

import click


@click.command("inspect")
@click.argument("records", nargs=-1, required=True)
@click.option(
    "--vocab",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The vocabulary the records were written with: SentencePiece .model or WordPiece vocab.txt.",
)
@click.option(
    "--max-seq-length",
    type=click.IntRange(min=1),
    default=None,
    help="Expected record length L (default: taken from the first record).",
)
@click.option(
    "--max-predictions-per-seq",
    type=click.IntRange(min=1),
    default=None,
    help="Expected number of prediction slots P (default: taken from the first record).",
)
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="How many records to print decoded.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def inspect(records, vocab, max_seq_length, max_predictions_per_seq, show, as_json):
    """Decode RECORDS (.tfrecord / .tfrecord.gz files, globs or directories) back to pieces,
    validate every record and print statistics.

    Masked positions are shown as [MASK→original], (kept:original) or {random→original}.
    Exits non-zero, naming the file and record index, if any record breaks an invariant
    or the [MASK]/kept/random mix is implausible.
    """
    from albert_data.records.inspection import (
        format_report,
        inspect_files,
        load_vocab,
        record_files,
    )

    files = record_files(records)
    vocabulary = load_vocab(vocab)
    report = inspect_files(
        files,
        vocabulary,
        max_seq_length=max_seq_length,
        max_predictions_per_seq=max_predictions_per_seq,
        show=show,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_report(report))
    if not report.records_per_file or not sum(report.records_per_file.values()):
        click.echo(f"warning: no records in {', '.join(files)}", err=True)
    for problem in report.problems:
        click.echo(f"error: {problem}", err=True)
    if report.invalid_records:
        total = sum(report.records_per_file.values())
        click.echo(
            f"error: {report.invalid_records} of {total} records invalid"
            f" ({report.problem_count} problems, first {len(report.problems)} shown)",
            err=True,
        )
    for problem in report.aggregate_problems:
        click.echo(f"error: {', '.join(files)}: {problem}", err=True)
    if not report.ok:
        sys.exit(1)
