"""Reading and writing checkpoints: Google's TF1 ALBERT checkpoints and this trainer's own.

``--init-checkpoint`` accepts either. Google's are matched by variable name (see
:mod:`albert_data.interop.google_names`); every shape is checked before any value is
assigned, so a mismatch leaves the model untouched. This trainer's own checkpoints
(``tf.train.Checkpoint`` object graphs) are restored by structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from albert_data.errors import UserError
from albert_data.interop.google_names import google_weights
from albert_data.training.checkpoint_files import (
    damage_reason,
    earlier_checkpoint,
    is_damaged,
    newest_checkpoint,
)

OWN_STEP_KEY = "step/.ATTRIBUTES/VARIABLE_VALUE"
OPTIMIZER_SLOT_SUFFIXES = ("/adam_m", "/adam_v", "/lamb_m", "/lamb_v", "/Momentum")


@dataclass
class LoadReport:
    """Which variables an ``--init-checkpoint`` provided."""

    path: str
    kind: str  # "google" or "own"
    step: int = 0
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"init checkpoint {self.path} ({self.kind}): loaded {len(self.loaded)} variables"]
        if self.missing:
            lines.append(
                f"  not in the checkpoint, left at their initial values ({len(self.missing)}): "
                + ", ".join(self.missing)
            )
        slots = [n for n in self.ignored if n.endswith(OPTIMIZER_SLOT_SUFFIXES)]
        others = [n for n in self.ignored if n not in slots]
        if others:
            lines.append(f"  checkpoint variables not used ({len(others)}): " + ", ".join(others))
        if slots:
            lines.append(f"  optimizer slots not used: {len(slots)}")
        return "\n".join(lines)


def resolve_checkpoint(path: str) -> str:
    """A checkpoint prefix from a prefix or a directory holding a ``checkpoint`` file."""
    if tf.io.gfile.isdir(path):
        latest = newest_checkpoint(path)
        if latest is None:
            raise UserError(f"--init-checkpoint {path}: the directory holds no checkpoint")
        return latest
    if not tf.io.gfile.exists(path + ".index"):
        raise UserError(
            f"--init-checkpoint {path}: no checkpoint there ({path}.index does not exist); "
            "give the prefix, e.g. .../model.ckpt-best or .../ckpt-1000"
        )
    return path


def _variable_shapes(prefix: str) -> dict[str, list[int]]:
    try:
        return dict(tf.train.list_variables(prefix))
    except (tf.errors.OpError, ValueError, IndexError) as err:
        if is_damaged(err):
            raise _damaged(prefix, err) from None
        raise UserError(f"--init-checkpoint {prefix}: cannot be read: {err}") from None


def _damaged(prefix: str, err: BaseException) -> UserError:
    earlier = earlier_checkpoint(prefix)
    fallback = f"use the one before it, --checkpoint {earlier}" if earlier else "re-create it"
    return UserError(
        f"checkpoint {prefix} is damaged (truncated or corrupt: {damage_reason(err)}); {fallback}"
    )


def is_google_checkpoint(shapes: dict[str, list[int]]) -> bool:
    return any(name.startswith("bert/") for name in shapes)


def load_google_checkpoint(model, prefix: str, shapes: dict | None = None) -> LoadReport:
    """Assign Google-named variables to ``model``; raise on any shape mismatch first."""
    shapes = shapes if shapes is not None else _variable_shapes(prefix)
    reader = tf.train.load_checkpoint(prefix)
    report = LoadReport(path=prefix, kind="google")
    pending = []
    for weight in google_weights(model):
        if weight.name not in shapes:
            report.missing.append(weight.name)
            continue
        found, wanted = tuple(shapes[weight.name]), weight.google_shape
        if found != wanted:
            raise UserError(
                f"--init-checkpoint {prefix}: {weight.name} has shape {list(found)} but the model "
                f"needs {list(wanted)}; use the albert_config.json that came with the checkpoint"
            )
        pending.append(weight)
    for weight in pending:
        value = weight.from_google(reader.get_tensor(weight.name))
        weight.variable.assign(value.astype(np.dtype(weight.variable.dtype)))
        report.loaded.append(weight.name)
    if "global_step" in shapes:
        report.step = int(reader.get_tensor("global_step"))
    used = {w.name for w in pending}
    report.ignored = sorted(n for n in shapes if n not in used)
    return report


def load_own_checkpoint(model, prefix: str) -> LoadReport:
    """Restore the model part of one of this trainer's checkpoints (optimizer ignored)."""
    status = tf.train.Checkpoint(model=model).read(prefix)
    try:
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError) as err:
        raise UserError(
            f"--init-checkpoint {prefix}: does not fit this model ({str(err).splitlines()[0]}); "
            "use the albert_config.json it was trained with"
        ) from None
    status.expect_partial()
    report = LoadReport(path=prefix, kind="own", loaded=[v.path for v in model.weights])
    reader = tf.train.load_checkpoint(prefix)
    if reader.has_tensor(OWN_STEP_KEY):
        report.step = int(reader.get_tensor(OWN_STEP_KEY))
    return report


def init_from_checkpoint(model, path: str) -> LoadReport:
    """Load ``--init-checkpoint`` (Google TF1 or own) into a built model."""
    prefix = resolve_checkpoint(path)
    shapes = _variable_shapes(prefix)
    if is_google_checkpoint(shapes):
        return load_google_checkpoint(model, prefix, shapes)
    try:
        return load_own_checkpoint(model, prefix)
    except (tf.errors.OpError, ValueError, IndexError) as err:
        if is_damaged(err):
            raise _damaged(prefix, err) from None
        raise UserError(
            f"--init-checkpoint {prefix}: cannot be restored into this model: "
            f"{str(err).splitlines()[0]}"
        ) from None


def write_google_checkpoint(model, directory: str | Path, step: int = 0) -> str:
    """Write the model under Google's variable names as ``model.ckpt-<step>`` (TF1 bundle)."""
    directory = str(directory)
    tf.io.gfile.makedirs(directory)
    prefix = f"{directory}/model.ckpt-{step}"
    weights = google_weights(model)
    names = [w.name for w in weights] + ["global_step"]
    tensors = [tf.constant(w.to_google(np.asarray(w.variable.numpy()))) for w in weights]
    tensors.append(tf.constant(step, tf.int64))
    tf.raw_ops.SaveV2(
        prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors
    )
    state = f'model_checkpoint_path: "model.ckpt-{step}"\nall_model_checkpoint_paths: "model.ckpt-{step}"\n'
    with tf.io.gfile.GFile(f"{directory}/checkpoint", "w") as f:
        f.write(state)
    return prefix
