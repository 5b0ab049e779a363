"""train takes the record shape from the records' stats.json, refuses a flag that
contradicts it, and warns about a run no longer than its warm-up."""

from __future__ import annotations

import json
import shutil

import pytest

from albert_data.errors import UserError
from albert_data.jobs.train import (
    TrainRequest,
    run,
    schedule_warnings,
    train_request,
    with_record_shape,
)


def request(records, tmp_path, **changes) -> TrainRequest:
    return train_request(records=(str(records),), model_dir=str(tmp_path / "model"), **changes)


def test_the_shape_comes_from_stats_json(made, tmp_path):
    resolved = with_record_shape(request(made["records"], tmp_path))
    assert (resolved.max_seq_length, resolved.max_predictions_per_seq) == (64, 10)
    same = with_record_shape(
        request(made["records"], tmp_path, max_seq_length=64, max_predictions_per_seq=10)
    )
    assert same == resolved


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"max_seq_length": 512}, "--max-seq-length 512"),
        ({"max_predictions_per_seq": 20}, "--max-predictions-per-seq 20"),
    ],
)
def test_a_contradicting_flag_is_refused_in_one_line(made, tmp_path, changes, flag):
    with pytest.raises(UserError) as err:
        with_record_shape(request(made["records"], tmp_path, **changes))
    message = str(err.value)
    assert "\n" not in message and message.startswith(flag)
    assert "stats.json" in message and "drop" in message


def test_without_stats_json_googles_defaults_stay(made, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for shard in made["records"].iterdir():
        if shard.name != "stats.json":
            shutil.copy(shard, bare / shard.name)
    resolved = with_record_shape(request(bare, tmp_path))
    assert (resolved.max_seq_length, resolved.max_predictions_per_seq) == (512, 20)


def test_records_of_two_shapes_are_refused(made, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(made["records"], other)
    stats = json.loads((other / "stats.json").read_text())
    stats["record_shape"] = {"max_seq_length": 128, "max_predictions_per_seq": 20}
    (other / "stats.json").write_text(json.dumps(stats))
    both = train_request(
        records=(str(made["records"]), str(other)), model_dir=str(tmp_path / "model")
    )
    with pytest.raises(UserError, match="records of one shape"):
        with_record_shape(both)


def test_a_run_shorter_than_its_warm_up_is_warned_about():
    (line,) = schedule_warnings(train_request(records=("r",), model_dir="m", num_train_steps=300))
    assert "--num-warmup-steps 3125" in line and "--num-train-steps 300" in line
    assert "--num-warmup-steps 8" in line  # 2.5 % of the run
    assert schedule_warnings(train_request(records=("r",), model_dir="m")) == []


def test_training_on_records_made_at_64_needs_no_shape_flags(made, tmp_path):
    lines: list[str] = []
    result = run(
        request(
            made["records"],
            tmp_path,
            preset="tiny",  # max_position_embeddings 128: Google's default 512 would not fit
            vocab=str(made["vocab"]),
            train_batch_size=4,
            num_train_steps=2,
            shuffle_buffer=16,
            log_every=1,
            save_every=10,
            jit=False,
        ),
        say=lines.append,
    )
    assert result.step == 2
    assert any(line.startswith("warning: --num-warmup-steps 3125") for line in lines)
