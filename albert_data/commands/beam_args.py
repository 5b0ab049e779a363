"""Separating INPUTS from the Beam pipeline options passed through with them.

Commands take ``INPUTS...`` and let unknown options through to Beam; Click then hands
both over mixed in one list. ``--name=value`` and a bare ``--flag`` are options;
``--name value`` takes ``value`` when Beam defines ``--name`` as an option with a value
(``--project p``), and not when it defines a flag (``--save_main_session a.txt``: the
file is an input). An option Beam does not define takes no value here; the command then
refuses it in one line, naming the closest known option. Beam's options are those of the
chosen runner too (its module is imported first, registering them).
"""

from __future__ import annotations

import os


def _takes_value(name: str, runner: str | None) -> bool:
    from pipelines.options import beam_option_arity

    return beam_option_arity(name, runner=runner) == 1


def split_pass_through(
    tokens: list[str], *, runner: str | None = None
) -> tuple[list[str], list[str]]:
    """(inputs, Beam options as ``--name=value`` or ``--flag``) from Click's mixed list."""
    inputs: list[str] = []
    options: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--"):
            inputs.append(token)
        elif (
            "=" in token
            or i + 1 == len(tokens)
            or tokens[i + 1].startswith("--")
            or not _takes_value(token, runner)
        ):
            options.append(token)
        else:
            options.append(f"{token}={tokens[i + 1]}")
            i += 1
        i += 1
    return inputs, options


BEAM_OPTS = ("runner", "num_workers", "range_bytes", "shuffle", "progress")
# The one switch between the local fast path and Beam's stock DirectRunner (README,
# "Runners"): set to 1 to run DirectRunner jobs exactly as Beam ships them.
STOCK_BEAM_ENV = "ALBERT_DATA_STOCK_BEAM"


def stock_beam() -> bool:
    """Whether the user asked for Beam's stock DirectRunner (``ALBERT_DATA_STOCK_BEAM=1``)."""
    return os.environ.get(STOCK_BEAM_ENV, "").strip().lower() in ("1", "true", "yes")


def beam_settings(ctx, opts: dict, beam_args: list[str]):
    """The command's Beam options popped from ``opts`` (Click's parsed options) as
    :class:`~albert_data.jobs.beam_job.BeamSettings`, with the pass-through ones; the
    runner by the name Beam gives it (``flink`` is ``FlinkRunner``)."""
    from albert_data.jobs.beam_job import BeamSettings
    from pipelines.options import resolve_runner

    own = tuple(name for param in ctx.command.params for name in getattr(param, "opts", ()))
    settings = {k: opts.pop(k) for k in BEAM_OPTS if k in opts}
    if "runner" in settings:
        settings["runner"] = resolve_runner(settings["runner"])
    return BeamSettings(
        **settings,
        pass_through=tuple(beam_args),
        command_options=tuple(o for o in own if o.startswith("--")),
        fast_path=not stock_beam(),
    )


def optional_beam(ctx, opts: dict, beam_args: list[str]):
    """``(settings, progress)`` for a command that runs locally unless given ``--runner``:
    the :func:`beam_settings`, or ``None`` without a runner (after refusing Beam options
    given without one, or naming a misspelled option of the command), and ``--progress``."""
    from albert_data.jobs.beam_job import check_settings

    beam = beam_settings(ctx, opts, beam_args)
    if beam.runner is not None:
        return beam, beam.progress
    if beam_args:
        check_settings(beam)  # a misspelled option named, or: Beam's need --runner
    return None, beam.progress
