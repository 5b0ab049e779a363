"""``albert-data sample``: the bundled sample corpus, or a bigger one generated from it."""

from __future__ import annotations

import click

from albert_data.commands.claim_option import take_over_option


@click.command("sample")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option(
    "-o",
    "--output",
    required=True,
    help="Where to write the raw text (blank line between documents).",
)
@click.option(
    "--size",
    default=None,
    help="Generate about this much text instead (e.g. 20MB), seeded from the sample.",
)
@click.option(
    "--seed", default=12345, show_default=True, type=int, help="Seed of the generated corpus."
)
@click.option(
    "--sentence-per-line", is_flag=True, help="Write split sentences (what make-pretraining reads)."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@take_over_option
def sample(lang, output, size, seed, sentence_per_line, overwrite, take_over):
    """Write the sample corpus shipped with albert-data (written by this project).

    Without --size: the bundled raw text (several dozen documents). With --size: a
    seeded corpus of about that many bytes recombined from it, for benchmarks.
    """
    import os

    from albert_data.errors import UserError
    from albert_data.files.fileio import check_writable, open_write, parent_dir
    from albert_data.jobs.outputs import WorkDir, claimed, clear_leftovers, publish
    from albert_data.text.corpus import sample_text, write_corpus

    def say(line: str) -> None:
        click.echo(line, err=True)

    target = _parse_size(size) if size is not None else None
    check_writable(output, what="-o")
    with claimed(output, directory=False, command="sample", take_over=take_over, say=say) as claim:
        if os.path.exists(output) and not overwrite:
            raise UserError(
                f"output {output} already exists; choose another -o or pass --overwrite"
            )
        parent = parent_dir(output)
        clear_leftovers(parent, say=say)
        try:
            work = WorkDir.create(parent, "sample", claim=claim)
        except OSError as err:  # named after the output, for the one-line report
            raise OSError(err.errno, err.strerror, output) from err
        with work.removed_at_end():
            tmp = work.file(os.path.basename(output))
            if target is None and not sentence_per_line:
                with open_write(tmp, compress=False) as fh:
                    fh.write(sample_text(lang).encode("utf-8"))
            else:
                if target is None:
                    target = len(sample_text(lang).encode("utf-8"))
                write_corpus(
                    tmp, lang, seed=seed, target_bytes=target, sentence_per_line=sentence_per_line
                )
            publish([tmp], [output], claims=[claim])
    click.echo(f"wrote {output} ({os.path.getsize(output):,} bytes)", err=True)


def _parse_size(text: str) -> int:
    from albert_data.errors import UserError

    units = {
        "": 1,
        "B": 1,
        "KB": 1000,
        "MB": 1000**2,
        "GB": 1000**3,
        "K": 1000,
        "M": 1000**2,
        "G": 1000**3,
    }
    value = text.strip().upper()
    number = value.rstrip("KMGB")
    unit = value[len(number) :]
    try:
        amount = float(number) * units[unit]
    except (ValueError, KeyError):
        raise UserError(f"--size {text!r} is not a size; write e.g. 500KB, 20MB or 1GB") from None
    import math

    if not math.isfinite(amount) or amount > 2**63:
        raise UserError(f"--size {text!r} is not a size; write e.g. 500KB, 20MB or 1GB")
    if amount < 1:
        raise UserError(f"--size {text!r} must be positive")
    return int(amount)
