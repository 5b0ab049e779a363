"""Saving and restoring a run's checkpoints.

A failed save (a full disk, a vanished directory) must not cost the run: the partial
files of the new checkpoint (``ckpt-N_temp/``, ``ckpt-N.*``, a half-written state file)
are removed, the ``checkpoint`` state file still names the last good checkpoint, and
the run stops with one line naming the path.
"""

from __future__ import annotations

import posixpath

import tensorflow as tf

from albert_data.errors import UserError
from albert_data.training.checkpoint_files import (
    damage_reason,
    earlier_checkpoint,
    is_damaged,
    newest_checkpoint,
)
from albert_data.training.config import TrainConfig
from albert_data.training.strategy import is_chief, write_dir

CHECKPOINT_NAME = "ckpt"


def restore(checkpoint: tf.train.Checkpoint, prefix: str) -> None:
    """Restore ``prefix`` into ``checkpoint``; one that does not fit is a user error."""
    try:
        checkpoint.restore(prefix).assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as err:
        if is_damaged(err):
            earlier = earlier_checkpoint(prefix)
            fallback = (
                f"to resume from the one before it, {earlier}, move {prefix}.* out of the directory and re-run"
                if earlier
                else "remove its files to start again, or use a new --model-dir"
            )
            raise UserError(
                f"cannot resume from {prefix}: the checkpoint is damaged (truncated or corrupt: {damage_reason(err)}); {fallback}"
            ) from None
        raise UserError(
            f"cannot resume from {prefix} ({str(err).splitlines()[0][:200]}); it was written "
            "with another --optimizer, --precision or model; use those or a new --model-dir"
        ) from None


def _checkpoint_bytes(prefix: str | None) -> int | None:
    if not prefix:
        return None
    try:
        return sum(f.length for f in map(tf.io.gfile.stat, tf.io.gfile.glob(prefix + ".*")))
    except tf.errors.OpError:
        return None


def remove_partial(directory: str, step: int) -> None:
    """Delete what a failed save of ``ckpt-<step>`` may have left in ``directory``."""
    base = posixpath.join(directory, f"{CHECKPOINT_NAME}-{step}")
    for path in tf.io.gfile.glob(base + "_temp*") + tf.io.gfile.glob(base + ".*"):
        if tf.io.gfile.isdir(path):
            tf.io.gfile.rmtree(path)
        else:
            tf.io.gfile.remove(path)
    for path in tf.io.gfile.glob(posixpath.join(directory, "checkpoint.tmp*")):
        tf.io.gfile.remove(path)


class Saver:
    """Checkpoints through a ``CheckpointManager``. In a multi-worker run every worker
    saves (TF requires it), but only the chief into ``--model-dir``; the others save to
    a temporary directory and delete it at once (their weights equal the chief's)."""

    def __init__(self, checkpoint: tf.train.Checkpoint, run: TrainConfig, strategy):
        self.model_dir = run.model_dir
        self.chief = is_chief(strategy)
        self.directory = write_dir(run.model_dir, strategy)
        self.manager = tf.train.CheckpointManager(
            checkpoint,
            self.directory,
            max_to_keep=run.keep_checkpoints,
            checkpoint_name=CHECKPOINT_NAME,
        )
        self.latest = newest_checkpoint(run.model_dir)

    def save(self, step: int) -> str:
        """Save ``ckpt-<step>`` and return its prefix (in ``--model-dir``)."""
        try:
            path = self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as err:
            self._failed(step, err)
        if not self.chief:
            tf.io.gfile.rmtree(self.directory)
            path = posixpath.join(self.model_dir, posixpath.basename(path))
        self.latest = path
        return path

    def _failed(self, step: int, err: Exception) -> None:
        remove_partial(self.directory, step)
        target = posixpath.join(self.directory, f"{CHECKPOINT_NAME}-{step}")
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        reason = "no space left on device" if "No space left" in message else message[-200:]
        size = _checkpoint_bytes(self.latest)
        needs = f" (a checkpoint takes about {size:,} bytes)" if size else ""
        kept = (
            f"the last good checkpoint {self.latest} is kept"
            if self.latest
            else "no checkpoint was kept"
        )
        raise UserError(
            f"cannot save checkpoint {target}: {reason}{needs}; the partial files were removed "
            f"and {kept}; free space in {self.directory} (or pass another --model-dir) and re-run "
            "to resume"
        ) from None
