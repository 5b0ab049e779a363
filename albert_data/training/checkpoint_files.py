"""Which checkpoints a directory holds, and telling a damaged one from one that does not
fit: a truncated or corrupt checkpoint (a disk that filled, a copy cut short) is named,
with the one before it to fall back to."""

from __future__ import annotations

import posixpath

import tensorflow as tf

_DAMAGE = ("Read less bytes", "bad magic number", "truncated", "corrupt", "Data loss", "checksum")


def is_damaged(err: BaseException) -> bool:
    """Whether reading a checkpoint failed because its files are cut short or corrupt."""
    if isinstance(err, IndexError | tf.errors.DataLossError):
        return True
    return any(marker.lower() in str(err).lower() for marker in _DAMAGE)


def listed_checkpoints(directory: str) -> list[str]:
    """The checkpoints the directory's ``checkpoint`` state file lists, oldest first,
    whose files are there."""
    try:
        state = tf.train.get_checkpoint_state(directory)
    except (tf.errors.OpError, ValueError):
        return []
    if state is None:
        return []
    paths = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    if state.model_checkpoint_path and state.model_checkpoint_path not in paths:
        paths.append(state.model_checkpoint_path)
    # get_checkpoint_state has joined relative entries to ``directory`` already (joining
    # them again made a relative --model-dir look empty, and a run start over in it)
    return [p for p in paths if tf.io.gfile.exists(p + ".index")]


def newest_checkpoint(directory: str) -> str | None:
    """The newest listed checkpoint whose files are there (``tf.train.latest_checkpoint``
    gives up, and a run would start over, when the newest one's files were moved away)."""
    found = listed_checkpoints(directory)
    return found[-1] if found else None


def earlier_checkpoint(prefix: str) -> str | None:
    """The checkpoint listed before ``prefix`` in its directory, if any."""
    found = listed_checkpoints(posixpath.dirname(prefix) or ".")
    if prefix in found:
        found = found[: found.index(prefix)]
    found = [p for p in found if p != prefix]
    return found[-1] if found else None


def damage_reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:160]
