"""``train`` a user can trust (issue 11), on real records made by ``make-pretraining``
with a real SentencePiece vocabulary:

- ``--vocab`` sizes the model; a contradicting ``--vocab-size`` or config is one line;
- the vocabulary is checked against the records' ``stats.json`` (by ``train`` and
  ``export``), ``--allow-vocab-mismatch`` overrides;
- a damaged record file is refused before training, naming the file, record and offset;
- a full disk while saving a checkpoint: one line, the last good checkpoint kept;
- TensorFlow's C++ start-up logs are hidden unless ``--verbose``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import struct
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from albert_data.cli import main
from tests.cli_helpers import BIN
from tests.test_trust_outputs import tmpfs
from tests.train_support import cli_train_args, write_records

SEQ, PREDS = 64, 10


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _error(result, *, only: bool = True) -> str:
    """The one ``error:`` line of a run that exited 2: the only line on stderr, or with
    ``only=False`` (a run that trained first) the last line and the only error."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:] and (len(lines) == 1 or not only), result.stderr
    assert "Traceback" not in result.output, result.output
    return lines[-1]


def _train_args(records, model_dir, *extra) -> list:
    return [
        "train",
        "--records",
        records,
        "--model-dir",
        model_dir,
        "--preset",
        "tiny",
        "--max-seq-length",
        SEQ,
        "--max-predictions-per-seq",
        PREDS,
        "--train-batch-size",
        4,
        "--num-train-steps",
        2,
        "--num-warmup-steps",
        1,
        "--shuffle-buffer",
        16,
        "--no-jit",  # XLA is not what these tests are about
        *extra,
    ]


def _untouched(model_dir) -> None:
    """Nothing was trained: no checkpoint, no TensorBoard events."""
    assert not list(model_dir.glob("ckpt-*")) and not (model_dir / "train").exists()


# ``made``: the session's records and vocabularies (tests/conftest.py).


# --- --vocab sizes the model ------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(made, tmp_path_factory):
    """A model trained 2 steps on ``made``'s records with ``--vocab`` (its vocabulary);
    tests read it and never change it."""
    model_dir = tmp_path_factory.mktemp("trained") / "m"
    result = _invoke(*_train_args(made["records"], model_dir, "--vocab", made["vocab"]))
    return model_dir, result


def test_vocab_sets_the_models_vocab_size(made, trained):
    model_dir, result = trained
    assert result.exit_code == 0, (result.output, result.exception)
    assert "stopped at step 2 (done)" in result.stdout
    assert made["pieces"] != 30000  # the preset's own size, which --vocab replaces
    config = json.loads((model_dir / "albert_config.json").read_text())
    assert config["vocab_size"] == made["pieces"]
    shapes = dict(tf.train.list_variables(str(model_dir / "ckpt-2")))
    assert shapes["model/mlm_head/output_bias/.ATTRIBUTES/VARIABLE_VALUE"] == [made["pieces"]]
    assert [made["pieces"], config["embedding_size"]] in shapes.values()  # word embeddings
    assert not [shape for shape in shapes.values() if 30000 in shape], shapes


def test_vocab_size_contradicting_vocab_is_one_line(made, tmp_path):
    args = _train_args(made["records"], tmp_path / "m", "--vocab", made["vocab"])
    line = _error(_invoke(*args, "--vocab-size", 30000))
    assert line == (
        f"error: --vocab-size 30000 contradicts --vocab {made['vocab']}, which has "
        f"{made['pieces']} pieces; drop --vocab-size (the model takes the vocabulary's size)"
    )
    _untouched(tmp_path / "m")


def test_config_contradicting_vocab_is_one_line(made, tmp_path):
    from albert_data.model import preset

    config = tmp_path / "albert_config.json"
    preset("tiny").to_json(config)  # vocab_size 30000
    args = _train_args(made["records"], tmp_path / "m", "--vocab", made["vocab"])
    args = [a for a in args if a not in ("--preset", "tiny")]
    line = _error(_invoke(*args, "--config", config))
    assert line.startswith(f"error: --config {config} has vocab_size 30000 but --vocab ")
    assert f"{made['vocab']} has {made['pieces']} pieces" in line
    _untouched(tmp_path / "m")


# --- the records' vocabulary ------------------------------------------------------------


def _mismatch_line_names_both(line: str, made, given) -> None:
    assert line.startswith(f"error: {given} (fingerprint ")
    ours = line.split("(fingerprint ", 1)[1][:12]
    assert ours != made["stats"]["fingerprint"][:12]
    assert f"{made['records']}/stats.json names {made['vocab']}" in line
    assert f"(fingerprint {made['stats']['fingerprint'][:12]})" in line
    assert "--allow-vocab-mismatch" in line


def test_train_refuses_another_vocabulary_naming_both(made, tmp_path):
    args = _train_args(made["records"], tmp_path / "m", "--vocab", made["other"])
    _mismatch_line_names_both(_error(_invoke(*args)), made, made["other"])
    _untouched(tmp_path / "m")


def test_allow_vocab_mismatch_trains_anyway(made, tmp_path):
    args = _train_args(made["records"], tmp_path / "m", "--vocab", made["other"])
    result = _invoke(*args, "--allow-vocab-mismatch")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "stopped at step 2 (done)" in result.stdout


def test_export_refuses_another_vocabulary_naming_both(made, trained, tmp_path):
    model_dir, result = trained
    assert result.exit_code == 0, (result.output, result.exception)
    export = ["export", "--model-dir", model_dir, "--format", "google", "--records"]
    export += [made["records"], "--spm-model"]
    out = tmp_path / "out"
    _mismatch_line_names_both(
        _error(_invoke(*export, made["other"], "--output", out)), made, made["other"]
    )
    assert not out.exists()
    allowed = _invoke(*export, made["other"], "--output", out, "--allow-vocab-mismatch")
    assert allowed.exit_code == 0, (allowed.output, allowed.exception)
    assert (out / "google" / "albert_config.json").exists()


# --- corrupt record files ---------------------------------------------------------------


def _frames(path) -> list[tuple[int, int]]:
    """(byte offset, data length) of each record of a TFRecord file."""
    data, frames, offset = path.read_bytes(), [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        frames.append((offset, length))
        offset += 8 + 4 + length + 4
    return frames


@pytest.fixture
def copied(made, tmp_path):
    """A copy of the records (the first shard holding enough of them) to damage."""
    out = tmp_path / "rec"
    shutil.copytree(made["records"], out)
    shards = sorted(out.glob("*.tfrecord*"))
    shard = max(shards, key=lambda p: len(_frames(p)))
    assert len(_frames(shard)) > 8, [len(_frames(p)) for p in shards]
    return out, shard


@pytest.mark.parametrize("damage", ["truncated", "length checksum"])
def test_corrupt_record_is_refused_before_training(copied, made, tmp_path, damage):
    out, shard = copied
    frames = _frames(shard)
    index = len(frames) - 3  # past what the shape check samples: only a full walk sees it
    offset, length = frames[index]
    data = bytearray(shard.read_bytes())
    if damage == "truncated":
        shard.write_bytes(bytes(data[: offset + 12 + length // 2]))
        what = f"is truncated (needs {length} data bytes)"
    else:
        data[offset + 9] ^= 0xFF  # a byte of the length's masked CRC-32C
        shard.write_bytes(bytes(data))
        what = "has a bad length checksum"
    model_dir = tmp_path / "m"
    line = _error(_invoke(*_train_args(out, model_dir, "--vocab", made["vocab"])))
    assert line == (
        f"error: {shard} is not a readable TFRecord file: record {index} (byte offset "
        f"{offset}) {what}; re-create the file or remove it from the glob"
    )
    _untouched(model_dir)


def test_bad_data_checksum_met_while_training_names_the_file_and_record(tmp_path):
    """A damaged record body passes the framing walk (only its data checksum is wrong,
    which is checked as TensorFlow reads it); the error names the file and record."""
    write_records(tmp_path / "rec", name="a.tfrecord")
    damaged = write_records(tmp_path / "rec", seed=1, name="b.tfrecord")
    offset, length = _frames(damaged)[5]  # past the one record the shape check reads of b
    data = bytearray(damaged.read_bytes())
    data[offset + 12 + length // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    args = cli_train_args(str(tmp_path / "rec" / "*"), tmp_path / "m")
    line = _error(_invoke(*args, "--num-train-steps", 20, "--no-jit"), only=False)
    assert line == (
        f"error: --records: a corrupt record was met while training: {damaged} is not a "
        f"readable TFRecord file: record 5 (byte offset {offset}) has a bad data checksum; "
        "re-create the file or remove it from the glob"
    )


# --- a full disk while saving a checkpoint ----------------------------------------------


def _fill(directory, *, leave: int) -> None:
    """Fill the file system of ``directory`` until ``leave`` bytes or fewer are free."""
    with open(directory / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize > leave:
            fh.write(b"\0" * 4096)


def test_full_disk_copying_the_records_stats_leaves_no_partial_copy(made, tmp_path):
    """train copies the records' stats.json into --model-dir written whole, then renamed:
    when the disk is full the copy fails with ENOSPC and no partial file is left."""
    from albert_data.records.provenance import record_in_model_dir

    shards = sorted(str(p) for p in made["records"].glob("*.tfrecord*"))
    with tmpfs(tmp_path / "disk", "size=64k") as disk:
        model_dir = disk / "m"
        model_dir.mkdir()
        _fill(disk, leave=0)
        with pytest.raises(OSError) as err:
            record_in_model_dir(shards, str(model_dir))
        assert err.value.errno == errno.ENOSPC
        assert list(model_dir.iterdir()) == []
    copied = record_in_model_dir(shards, str(tmp_path / "ok"))
    assert open(copied, "rb").read() == (made["records"] / "stats.json").read_bytes()
    assert sorted(p.name for p in (tmp_path / "ok").iterdir()) == ["stats.json"]


def _values(prefix: str) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(prefix)
    return {n: reader.get_tensor(n) for n, _ in tf.train.list_variables(prefix) if "/" in n}


def test_full_disk_while_saving_keeps_the_last_good_checkpoint(made, trained, tmp_path):
    with tmpfs(tmp_path / "disk", "size=4m") as disk:
        model_dir = disk / "m"
        # ``trained``: a run of these settings (2 steps) that ended with ckpt-2.
        assert trained[1].exit_code == 0, (trained[1].output, trained[1].exception)
        shutil.copytree(trained[0], model_dir)
        args = _train_args(made["records"], model_dir, "--vocab", made["vocab"])
        args += ["--num-train-steps", 6, "--log-every", 1]
        good = _values(str(model_dir / "ckpt-2"))
        checkpoint_bytes = sum(f.stat().st_size for f in model_dir.glob("ckpt-2.*"))
        _fill(disk, leave=checkpoint_bytes // 4)  # room for logs, not for a checkpoint

        line = _error(_invoke(*args), only=False)
        assert line.startswith(
            f"error: cannot save checkpoint {model_dir}/ckpt-6: no space left on device"
        )
        assert f"the last good checkpoint {model_dir}/ckpt-2 is kept" in line
        assert sorted(p.name for p in model_dir.glob("ckpt-*")) == [
            "ckpt-2.data-00000-of-00001",
            "ckpt-2.index",
        ]
        state = (model_dir / "checkpoint").read_text()
        assert re.search(r'^model_checkpoint_path: "ckpt-2"$', state, re.M), state
        assert not list(model_dir.glob("*temp*")) and not list(model_dir.glob("*.tmp*"))
        kept = _values(str(model_dir / "ckpt-2"))
        assert kept.keys() == good.keys()
        for name, value in good.items():
            np.testing.assert_array_equal(kept[name], value, err_msg=name)

        (disk / "filler").unlink()  # with space again, the run resumes from ckpt-2
        again = _invoke(*args)
        assert again.exit_code == 0, (again.output, again.exception)
        assert "resumed from" in again.stderr and "at step 2" in again.stderr
        assert "stopped at step 6 (done)" in again.stdout


# --- TensorFlow's C++ logs --------------------------------------------------------------

NATIVE_LOG = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ |WARNING: All log messages before)")


def _native_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if NATIVE_LOG.match(line)]


def test_tensorflow_start_up_logs_hidden_unless_verbose(made, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    base = [str(BIN), *map(str, _train_args(made["records"], tmp_path / "m"))]
    base += ["--vocab", str(made["vocab"]), "--num-train-steps", "1"]
    quiet = subprocess.run(base, capture_output=True, text=True, env=env, timeout=600)
    assert quiet.returncode == 0, quiet.stderr
    assert _native_lines(quiet.stderr) == [], quiet.stderr
    assert "stopped at step 1 (done)" in quiet.stdout

    verbose = subprocess.run(
        [*base, "--model-dir", str(tmp_path / "v"), "--verbose"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert verbose.returncode == 0, verbose.stderr
    assert _native_lines(verbose.stderr), verbose.stderr
    assert "stopped at step 1 (done)" in verbose.stdout
