"""The ``albert-data`` command line: the composition root.

Each command lives in ``albert_data/commands/<name>.py`` and imports only Click and
standard-library-only modules at module level (its options' defaults are read from the
core's configs when the command runs or shows its help: ``commands/defaults.py``);
numpy, TensorFlow, Beam and SentencePiece are imported inside the command that needs
them, so ``albert-data --help`` answers instantly.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import sys
import tempfile
import threading

import click

from albert_data import __version__, limits  # limits: loaded before memory runs out
from albert_data.commands.numbers import check_numbers
from albert_data.errors import UserError
from albert_data.jobs import interrupts

# (module in albert_data.commands, click command object name). A command is listed
# here only once it really works.
COMMANDS: list[tuple[str, str]] = [
    ("sample", "sample"),
    ("split_sentences", "split_sentences"),
    ("make_pretraining", "make_pretraining"),
    ("inspect", "inspect"),
    ("spm_train", "spm_train"),
    ("train", "train"),
    ("export", "export"),
]


_TERMINATED = interrupts.TERMINATED  # shared with the job layer (outputs.publish)


def one_line(err: BaseException) -> str | None:
    """The one line for an ``OSError`` of a full disk or an unwritable location, or for a
    machine limit (memory, threads, open files) met anywhere; ``None`` otherwise."""
    from albert_data.files.fileio import describe_os_error

    if isinstance(err, OSError):
        message = describe_os_error(err)
        if message is not None:
            return message
    return limits.describe(err)


def _on_sigterm(signum, _frame) -> None:
    """SIGTERM (``kill``, a scheduler, Kubernetes, ``timeout``) ends a command as Ctrl-C
    does: ``KeyboardInterrupt`` in the main thread, so every cleanup runs. Further
    SIGTERMs are ignored while it cleans up (a scheduler's next step is SIGKILL)."""
    _TERMINATED.append(signum)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _handle_sigterm() -> None:
    _TERMINATED.clear()  # a command run earlier in this process (tests) is not this one
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def _interrupted(err: BaseException) -> bool:
    """Whether ``err`` came of Ctrl-C or SIGTERM: a ``KeyboardInterrupt`` raised inside
    code that turned it into another error (a C extension's import cut short reports
    ``ImportError: initialization failed``)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def _exit_interrupted():
    if _TERMINATED:
        click.echo("terminated (SIGTERM)", err=True)
        sys.exit(128 + signal.SIGTERM)
    click.echo("interrupted", err=True)
    sys.exit(130)


class _Group(click.Group):
    """Turns :class:`UserError`, an ``OSError`` of a full disk or an unwritable location
    and a machine limit met anywhere, into a one-line message and a non-zero exit; Ctrl-C into
    ``interrupted`` and exit 130, SIGTERM into ``terminated (SIGTERM)`` and exit 143."""

    def invoke(self, ctx: click.Context):
        # Python finds $TMPDIR's directory the first time it is asked by writing and
        # removing a probe file there; a SIGTERM turned into an exception between the
        # two would leave the probe behind. Asked here, before SIGTERM is handled.
        tempfile.gettempdir()
        _handle_sigterm()
        try:
            return super().invoke(ctx)
        except Exception as err:  # noqa: BLE001 - only those told in one line are caught
            if _interrupted(err):
                _exit_interrupted()
            if isinstance(err, UserError):
                click.echo(f"error: {err}", err=True)
                sys.exit(err.exit_code)
            message = one_line(err)
            if message is None:
                raise
            click.echo(f"error: {message}", err=True)
            sys.exit(UserError.exit_code)
        except KeyboardInterrupt:
            _exit_interrupted()
        finally:
            # The command is over and the process is about to end: the garbage
            # collector's last passes over a Beam- or TensorFlow-sized heap (a noticeable
            # share of a short command's CPU) would only free memory the OS takes back.
            gc.freeze()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="albert-data")
def main() -> None:
    """Prepare ALBERT pretraining data and train an ALBERT encoder on it.

    \b
    raw text -> split-sentences -> spm-train -> make-pretraining -> inspect -> train
    """


# TensorFlow's C++ start-up chatter (CUDA probes, oneDNN notes) is noise on the console;
# warnings and errors still show. A user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

for _module, _attr in COMMANDS:
    _command = getattr(importlib.import_module(f"albert_data.commands.{_module}"), _attr)
    check_numbers(_command)
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
