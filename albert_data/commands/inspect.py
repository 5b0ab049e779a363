"""``albert-data inspect``: decode pretraining TFRecords, validate every record, print statistics.

Click options → :class:`albert_data.jobs.inspect.InspectRequest` → ``run`` → the report.
"""

from __future__ import annotations

import sys

import click

from albert_data.jobs.reporting import LINE_EVERY


@click.command("inspect")
@click.argument("records", nargs=-1, required=True)
@click.option(
    "--vocab",
    required=True,
    help="The vocabulary the records were written with: SentencePiece .model or WordPiece vocab.txt (local, gs:// or any Beam file system).",
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
@click.option(
    "--allow-vocab-mismatch",
    is_flag=True,
    help="Inspect with a vocabulary other than the one stats.json records (the ids are then decoded with it).",
)
@click.option(
    "--max-records",
    type=click.IntRange(min=1),
    default=None,
    help="Check a sample: at most N records, the first of each file (N spread evenly over"
    " the files; make-pretraining shuffles records into its shards). The summary says it"
    " was a sample.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes checking records  [default: one per processor this process may use]",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help=f"A progress bar on a terminal, a line every {LINE_EVERY:g} s otherwise;"
    " --no-progress prints no progress at all.",
)
def inspect(records, vocab, **opts):
    """Decode RECORDS (.tfrecord / .tfrecord.gz files, globs or directories) back to pieces,
    validate every record and print statistics. The --show examples are printed first,
    as soon as they are found; the records are checked on every processor.

    Masked positions are shown as [MASK→original], (kept:original) or {random→original}.
    Refuses a --vocab other than the one the records' stats.json names. Exits non-zero,
    naming the file and record index, if any record breaks an invariant or the
    [MASK]/kept/random mix is implausible.
    """
    from albert_data.jobs.inspect import InspectRequest, run

    def show(lines: list[str]) -> None:
        for line in lines:
            click.echo(line)

    result = run(InspectRequest(records=tuple(records), vocab=vocab, **opts), show_examples=show)
    for line in result.summary_lines():
        click.echo(line)
    for line in result.problem_lines():
        click.echo(line, err=True)
    if not result.ok:
        sys.exit(1)
