"""The one exception type a user is meant to see: a message naming the file, the value and the fix."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or configuration; the CLI prints ``error: <message>`` and exits non-zero.

    The message is a single line that names what was wrong (file, value) and what to do.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))
