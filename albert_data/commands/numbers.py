"""Every numeric option of every command, checked one way, before the command runs.

Click parses ``nan``, ``inf`` and integers of any size, and a ``FloatRange`` lets NaN
through (every comparison with it is false). :func:`check_numbers` gives each numeric
option a type that refuses, in one line naming the flag: a float that is not finite, an
integer that does not fit in 64 bits, and a seed (an option named ``--seed`` or
``--*-seed``) outside 0 .. 2**63-1 — what every consumer of a seed (numpy, TensorFlow,
the records' PCG64 states) takes as it is. Ranges of the settings themselves are the
configs' (``ConfigError``) or Click's own.
"""

from __future__ import annotations

import math

import click

from albert_data.errors import UserError

INT64_MAX = 2**63 - 1


class CheckedNumber(click.ParamType):
    """``inner`` (Click's INT, FLOAT, IntRange or FloatRange) behind the checks above."""

    def __init__(self, inner: click.ParamType, flag: str):
        self.inner, self.flag = inner, flag
        self.name = inner.name
        self.is_float = isinstance(inner, click.types.FloatParamType)
        self.is_seed = flag == "--seed" or flag.endswith("-seed")

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            text = value.strip()
            if self.is_float:
                try:
                    number = float(text)
                except ValueError:
                    return self.inner.convert(value, param, ctx)  # Click's own message
                if not math.isfinite(number):
                    raise UserError(f"{self.flag} {value} is not a finite number; give a number")
            else:
                try:
                    number = int(text)
                except ValueError:
                    return self.inner.convert(value, param, ctx)
                self._check_int(number, value)
        elif isinstance(value, int) and not self.is_float:
            self._check_int(value, value)
        return self.inner.convert(value, param, ctx)

    def _check_int(self, number: int, shown) -> None:
        if self.is_seed and not 0 <= number <= INT64_MAX:
            raise UserError(
                f"{self.flag} {shown} is not a seed: give an integer from 0 to {INT64_MAX} (2**63 - 1)"
            )
        if abs(number) > INT64_MAX:
            raise UserError(f"{self.flag} {shown} is too large: at most {INT64_MAX} (2**63 - 1)")

    def get_metavar(self, param, *args, **kwargs):
        return self.inner.get_metavar(param, *args, **kwargs)

    def __repr__(self) -> str:
        return repr(self.inner)


def check_numbers(command: click.Command) -> None:
    """Put :class:`CheckedNumber` around every numeric option of ``command``."""
    for param in command.params:
        kind = param.type
        if not isinstance(param, click.Option) or isinstance(kind, CheckedNumber):
            continue
        if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
            flag = max(param.opts, key=len)
            param.type = CheckedNumber(kind, flag)
