"""Separating INPUTS from the Beam pipeline options passed through with them.

Commands take ``INPUTS...`` and let unknown options through to Beam; Click then hands
both over mixed in one list. ``--name=value`` and a bare ``--flag`` are options;
``--name value`` takes ``value`` unless it names an existing local file, directory or
glob match (then it is an input). ``--name=value`` is never ambiguous.
"""

from __future__ import annotations

import glob
import os


def _is_local_input(token: str) -> bool:
    return os.path.exists(token) or bool(glob.glob(token))


def _is_bare_option(tokens: list[str], i: int) -> bool:
    """``tokens[i]`` (``--name``) carries no separate value."""
    if "=" in tokens[i] or i + 1 == len(tokens) or tokens[i + 1].startswith("-"):
        return True
    return _is_local_input(tokens[i + 1])


def split_pass_through(tokens: list[str]) -> tuple[list[str], list[str]]:
    """(inputs, Beam options as ``--name=value`` or ``--flag``) from Click's mixed list."""
    inputs: list[str] = []
    options: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--"):
            inputs.append(token)
        elif _is_bare_option(tokens, i):
            options.append(token)
        else:
            options.append(f"{token}={tokens[i + 1]}")
            i += 1
        i += 1
    return inputs, options


BEAM_OPTS = ("runner", "num_workers", "range_bytes", "shuffle", "progress")


def beam_settings(ctx, opts: dict, beam_args: list[str]):
    """The command's Beam options popped from ``opts`` (Click's parsed options) as
    :class:`~albert_data.jobs.beam_job.BeamSettings`, with the pass-through ones."""
    from albert_data.jobs.beam_job import BeamSettings

    own = tuple(name for param in ctx.command.params for name in getattr(param, "opts", ()))
    return BeamSettings(
        **{k: opts.pop(k) for k in BEAM_OPTS if k in opts},
        pass_through=tuple(beam_args),
        command_options=tuple(o for o in own if o.startswith("--")),
    )
