"""Bad input to ``albert-data train``: one clear ``error:`` line each, before any training."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from albert_data.cli import main
from albert_data.model import build_pretraining_model
from tests.train_support import cli_train_args, tiny_config, write_records


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def _error(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def records(tmp_path):
    write_records(tmp_path / "rec")
    return str(tmp_path / "rec" / "*")


def _no_training(model_dir):
    assert not list(model_dir.glob("ckpt-*")) and not (model_dir / "train").exists()


def test_empty_glob(tmp_path):
    line = _error(_run(*cli_train_args(str(tmp_path / "nothing" / "*.tfrecord"), tmp_path / "m")))
    assert "no record file matches" in line and "nothing" in line
    _no_training(tmp_path / "m")


def test_corrupt_record_file(tmp_path, records):
    bad = tmp_path / "rec" / "b.tfrecord"
    bad.write_bytes(b"this is not a tfrecord file at all, just some bytes" * 3)
    line = _error(_run(*cli_train_args(records, tmp_path / "m")))
    assert "b.tfrecord is not a readable TFRecord file" in line
    _no_training(tmp_path / "m")


def test_sequence_length_differs_from_flag(tmp_path, records):
    line = _error(_run(*cli_train_args(records, tmp_path / "m"), "--max-seq-length", 64))
    assert "sequence length 32 but --max-seq-length is 64" in line
    _no_training(tmp_path / "m")


def test_prediction_count_differs_from_flag(tmp_path, records):
    line = _error(_run(*cli_train_args(records, tmp_path / "m"), "--max-predictions-per-seq", 20))
    assert "5 prediction slots but --max-predictions-per-seq is 20" in line


def test_vocab_smaller_than_record_ids(tmp_path, records):
    line = _error(_run(*cli_train_args(records, tmp_path / "m"), "--vocab-size", 50))
    assert "vocab_size is 50" in line and "token id" in line


def test_config_with_missing_keys(tmp_path, records):
    config = tmp_path / "albert_config.json"
    data = tiny_config().to_dict()
    del data["intermediate_size"]
    config.write_text(json.dumps(data))
    args = [a for a in cli_train_args(records, tmp_path / "m") if a not in ("--preset", "tiny")]
    line = _error(_run(*args, "--config", config))
    assert "missing keys intermediate_size" in line


def test_hidden_not_divisible_by_heads(tmp_path, records):
    config = tmp_path / "albert_config.json"
    config.write_text(json.dumps({**tiny_config().to_dict(), "num_attention_heads": 3}))
    args = [a for a in cli_train_args(records, tmp_path / "m") if a not in ("--preset", "tiny")]
    line = _error(_run(*args, "--config", config))
    assert "hidden_size=64 is not divisible by num_attention_heads=3" in line


def test_batch_not_divisible_by_accumulation(tmp_path, records):
    line = _error(_run(*cli_train_args(records, tmp_path / "m"), "--grad-accum-steps", 3))
    assert "--train-batch-size 8 is not divisible" in line


def test_init_checkpoint_with_other_shapes(tmp_path, records):
    from albert_data.interop.checkpoints import write_google_checkpoint

    other = build_pretraining_model(dataclasses.replace(tiny_config(), embedding_size=16))
    write_google_checkpoint(other, tmp_path / "google", step=7)
    line = _error(
        _run(*cli_train_args(records, tmp_path / "m"), "--init-checkpoint", tmp_path / "google")
    )
    assert (
        "bert/embeddings/word_embeddings has shape [100, 16] but the model needs [100, 32]" in line
    )
    _no_training(tmp_path / "m")


def test_missing_init_checkpoint(tmp_path, records):
    line = _error(
        _run(
            *cli_train_args(records, tmp_path / "m"),
            "--init-checkpoint",
            tmp_path / "none" / "model.ckpt-1",
        )
    )
    assert "no checkpoint there" in line


def test_model_dir_of_another_config(tmp_path, records):
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    dataclasses.replace(tiny_config(), hidden_size=128).to_json(model_dir / "albert_config.json")
    line = _error(_run(*cli_train_args(records, model_dir)))
    assert "different model config" in line


def test_static_masking_on_unmasked_records(tmp_path):
    write_records(tmp_path / "rec", dynamic=True)
    line = _error(
        _run(*cli_train_args(str(tmp_path / "rec" / "*"), tmp_path / "m"), "--masking", "static")
    )
    assert "carry no masked positions" in line


@pytest.mark.parametrize(
    "option, value, choices",
    [
        ("precision", "fp8", "fp32, bf16, mixed_fp16"),
        ("optimizer", "sgd", "lamb, adamw"),
        ("strategy", "gpu", "auto, one_device, mirrored, tpu, multi_worker"),
        ("masking", "random", "auto, static, dynamic"),
    ],
)
def test_a_choice_the_configs_do_not_know_names_the_flag(option, value, choices):
    # Click refuses these first; the configs check them too, for callers of the job layer.
    from albert_data.errors import UserError
    from albert_data.jobs.train import train_request

    with pytest.raises(UserError) as err:
        train_request(model_dir="m", records=("r",), **{option: value})
    assert str(err.value) == f"--{option} {value!r} is not one of {choices}"
