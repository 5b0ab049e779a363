"""Click options whose default is read from the dataclass that owns it.

A default is written once: in the core's config (``MaskingConfig.masked_lm_prob``,
``SpmRecipe.vocab_size``, ``OptimizerConfig.num_train_steps``) or, for a setting only a
command has, in its request. An option names where its default lives
(``"module:Class.field"``, nested fields with more dots) and reads it when the command
runs or shows its help; the module is imported only then, so ``albert-data --help``
stays light.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

import click


def read_default(spec: str) -> Any:
    """The default of ``"module:Class.field[.field...]"``: the field's ``default`` or
    ``default_factory()``, then the defaults of the nested fields named after it."""
    module, _, path = spec.partition(":")
    owner, *names = path.split(".")
    value: Any = getattr(importlib.import_module(module), owner)  # a class or a constant
    for name in names:
        value = _field_default(value if isinstance(value, type) else type(value), name)
    return value


def _field_default(cls: type, name: str) -> Any:
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            break
    raise LookupError(f"{cls.__name__}.{name} has no default")


class DefaultFrom(click.Option):
    """A :class:`click.Option` whose default is :func:`read_default` of ``default_from``,
    passed through ``shown`` (e.g. to join a tuple the option takes as one string);
    ``described``, if given, makes the help's ``[default: ...]`` from the value read."""

    def __init__(
        self,
        *decls: str,
        default_from: str,
        shown: Callable[[Any], Any] | None = None,
        described: Callable[[Any], str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("show_default", True)
        super().__init__(*decls, **kwargs)
        self._default_from = default_from
        self._shown = shown
        self._described = described

    def get_default(self, ctx: click.Context, call: bool = True) -> Any:
        if self._default_from is not None:
            value = read_default(self._default_from)
            self.default = self._shown(value) if self._shown else value
            if self._described is not None:
                self.show_default = self._described(value)
            self._default_from = None
        return super().get_default(ctx, call=call)


def option(*decls: str, default_from: str, **kwargs: Any):
    """``@click.option`` with its default read from ``default_from`` (see module doc)."""
    return click.option(*decls, cls=DefaultFrom, default_from=default_from, **kwargs)
