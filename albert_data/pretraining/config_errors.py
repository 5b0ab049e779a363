"""One place for the range checks of the pretraining settings.

The configs (:class:`InstanceConfig`, :class:`MaskingConfig`, :class:`PretrainingConfig`)
check their own fields and raise :class:`ConfigError`, which names the field, the value,
what is allowed and ALBERT's value; the job layer turns it into the command's one-line
error by naming the flag (``--`` + the field with dashes), so no check is written twice.
"""

from __future__ import annotations

import dataclasses


class ConfigError(ValueError):
    """A setting outside what the algorithm accepts."""

    def __init__(self, field: str, value: object, rule: str, albert: object = None) -> None:
        self.field, self.value, self.rule, self.albert = field, value, rule, albert
        super().__init__(self.describe(field))

    def describe(self, name: str) -> str:
        """The message with ``name`` (a field or a command-line flag) in front."""
        shown = f"{self.value!r}" if isinstance(self.value, str) else f"{self.value}"
        albert = f"; ALBERT uses {self.albert}" if self.albert is not None else ""
        return f"{name} {shown} {self.rule}{albert}"

    def flag_message(self) -> str:
        return self.describe("--" + self.field.replace("_", "-"))


def require(ok: bool, field: str, value: object, rule: str, albert: object = None) -> None:
    """Raise :class:`ConfigError` unless ``ok``."""
    if not ok:
        raise ConfigError(field, value, rule, albert)


def require_albert(config: object, ok: bool, field: str, rule: str) -> None:
    """:func:`require` for ``config``'s ``field``, whose default is ALBERT's value (the
    message quotes it; the value is written once, in the dataclass)."""
    if not ok:
        default = next(f.default for f in dataclasses.fields(config) if f.name == field)
        raise ConfigError(field, getattr(config, field), rule, default)
