"""TensorFlow, imported quietly: ``train`` and ``export`` hide its C++ start-up logs.

Without this a machine with no GPU prints ``E0000 … failed call to cuInit … UNKNOWN
ERROR`` and oneDNN notes, which read like failures. ``--verbose`` keeps them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


def quiet_tensorflow(verbose: bool) -> None:
    """Import TensorFlow with its start-up logs hidden unless ``verbose``: the log level and
    absl's verbosity are set before the import, and what its native code writes to
    stderr while it loads (before its logging is initialised, no setting reaches it) is
    dropped, or replayed should the import fail. No effect once TensorFlow is imported."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if verbose else "3"
    if verbose or "tensorflow" in sys.modules:
        return
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    with native_stderr_hidden():
        import tensorflow  # noqa: F401


@contextlib.contextmanager
def native_stderr_hidden():
    """Send file descriptor 2 to a scratch file for the block; replay it if the block
    raises, so a failing import still shows its cause."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            os.write(2, sink.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
