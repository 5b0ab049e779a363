"""A relative --model-dir (the usual `train --model-dir run1`): re-running resumes from
its newest checkpoint and export finds it; a damaged newest one is named with the one
before it. (The state file's entries are already joined to the directory by TensorFlow;
joining them again made the directory look empty and the run start over in it.)"""

from __future__ import annotations

import os

from tests.cli_helpers import error_line, invoke
from tests.train_support import cli_train_args, write_records


def test_a_relative_model_dir_resumes_and_exports(tmp_path):
    write_records(tmp_path / "rec")
    args = cli_train_args("rec/*.tfrecord", "m", "--no-jit", "--save-every", 2, "--log-every", 2)
    invoke(*args, "--num-train-steps", 4, cwd=tmp_path)
    again = invoke(*args, "--num-train-steps", 6, cwd=tmp_path)
    assert "resumed from m/ckpt-4 at step 4" in again.stderr
    os.truncate(tmp_path / "m" / "ckpt-6.index", 100)
    export = invoke("export", "--model-dir", "m", "--output", "x", cwd=tmp_path, check=False)
    assert export.returncode == 2
    assert error_line(export).endswith("; use the one before it, --checkpoint m/ckpt-4")
    resume = invoke(*args, "--num-train-steps", 8, cwd=tmp_path, check=False)
    assert resume.returncode == 2
    assert "to resume from the one before it, m/ckpt-4, move m/ckpt-6.*" in error_line(resume)
    assert not (tmp_path / "x").exists()
