"""Optional dependencies: a command that needs one says which extra installs it."""

from __future__ import annotations

import importlib.util

from albert_data.errors import UserError

TRAIN_EXTRA = "train"


def require(module: str, *, command: str, extra: str = TRAIN_EXTRA) -> None:
    """Refuse to run ``command`` without ``module``, naming the extra that brings it."""
    if importlib.util.find_spec(module) is None:
        raise UserError(
            f"{command} needs {module}, which is not installed; install it with pip install 'albert-data[{extra}]' (or make install)"
        )
