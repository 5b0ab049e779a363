"""Files that are almost right: an empty ``.model`` is named as such (no SentencePiece warnings); a
truncated checkpoint is named, with the one before it to fall back to, by ``export`` and
by ``train`` when it resumes."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.cli_helpers import error_line, invoke
from tests.train_support import cli_train_args, write_records


def test_an_empty_model_is_named(tmp_path):
    empty = tmp_path / "empty.model"
    empty.write_bytes(b"")
    (tmp_path / "d.txt").write_text("One sentence. Two.\n")
    proc = invoke(
        "make-pretraining",
        tmp_path / "d.txt",
        "-o",
        tmp_path / "r",
        "--spm-model",
        empty,
        check=False,
    )
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        f"error: {empty}: an empty file, not a SentencePiece model; train one with albert-data spm-train"
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model directory holding ckpt-2 and ckpt-4."""
    root = tmp_path_factory.mktemp("trained")
    write_records(root / "rec")
    model = root / "model"
    args = cli_train_args(str(root / "rec" / "*"), model, "--num-train-steps", 4)
    invoke(*args, "--save-every", 2, "--no-jit", "--log-every", 2)
    return root


@pytest.mark.parametrize("damage", ["data", "index"])
def test_a_truncated_checkpoint_is_named_with_the_one_before(trained, tmp_path, damage):
    model = tmp_path / "model"
    shutil.copytree(trained / "model", model)
    cut = model / ("ckpt-4.data-00000-of-00001" if damage == "data" else "ckpt-4.index")
    os.truncate(cut, cut.stat().st_size // 3)
    export = invoke("export", "--model-dir", model, "--output", tmp_path / "e", check=False)
    assert export.returncode == 2
    line = error_line(export)
    assert line.startswith(f"error: checkpoint {model}/ckpt-4 is damaged (truncated or corrupt: ")
    assert line.endswith(f"); use the one before it, --checkpoint {model}/ckpt-2")
    args = cli_train_args(str(trained / "rec" / "*"), model, "--num-train-steps", 6, "--no-jit")
    resume = invoke(*args, check=False)
    assert resume.returncode == 2
    line = error_line(resume)
    assert line.startswith(f"error: cannot resume from {model}/ckpt-4: the checkpoint is damaged")
    assert line.endswith(
        f"to resume from the one before it, {model}/ckpt-2, move {model}/ckpt-4.* out of the "
        "directory and re-run"
    )
    for path in model.glob("ckpt-4.*"):  # as the line says
        path.rename(tmp_path / path.name)
    if damage == "index":
        # With ckpt-4.* moved out the directory is the same whichever file was cut: the
        # resume that follows the advice is trained once, in the "data" case.
        return
    again = invoke(*args, "--log-every", 2)
    assert f"resumed from {model}/ckpt-2 at step 2" in again.stderr
    assert "stopped at step 6 (done)" in again.stdout
