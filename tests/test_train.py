"""The trainer end to end on tiny models and synthetic records in the real schema."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from albert_data.errors import UserError
from albert_data.training.config import DataConfig
from albert_data.training.data import check_records, make_dataset
from albert_data.training.optimizer import WarmupPolynomialDecay, uses_weight_decay
from albert_data.training.trainer import train
from tests.train_support import PREDS, SEQ, VOCAB, configs, write_records


def _checkpoint_values(prefix: str) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(prefix)
    return {
        name: reader.get_tensor(name)
        for name, _ in tf.train.list_variables(prefix)
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    }


def test_tiny_model_overfits_a_small_batch(tmp_path):
    write_records(tmp_path / "rec")
    result = train(**configs(str(tmp_path / "rec" / "*"), tmp_path / "model", steps=150))
    first, last = result.history[0][1], result.history[-1][1]
    assert result.step == 150 and result.stopped == "done"
    assert last["loss"] < 0.5 * first["loss"], result.history
    assert last["sentence_order_accuracy"] > 0.9
    assert (tmp_path / "model" / "ckpt-150.index").exists()
    assert list((tmp_path / "model" / "train").glob("events.out.tfevents.*"))


def test_nan_loss_stops_with_a_clear_error_and_no_checkpoint(tmp_path):
    write_records(tmp_path / "rec")
    kwargs = configs(
        str(tmp_path / "rec" / "*"), tmp_path / "model", steps=50, lr=1e30, save_every=1
    )
    kwargs["optimizer_config"] = dataclasses.replace(
        kwargs["optimizer_config"], num_warmup_steps=0, clip_norm=0
    )
    with pytest.raises(
        UserError, match=r"loss became (nan|inf) at step \d+; stopped without saving"
    ):
        train(**kwargs)


def _eval_scalars(logdir) -> dict[int, dict[str, float]]:
    """TensorBoard scalars by step, read back from the event files' protos."""
    from tensorflow.core.util import event_pb2

    found: dict[int, dict[str, float]] = {}
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        for raw in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(raw.numpy())
            for value in event.summary.value:
                scalar = float(tf.make_ndarray(value.tensor))
                found.setdefault(event.step, {})[value.tag] = scalar
    return found


def test_eval_every_and_resume_with_the_same_and_another_optimizer(tmp_path):
    """Evaluation during training and at the end, with Google's metric names; a run
    stopped by --max-steps-this-run resumes from its checkpoint and counts the eval
    interval from there; resuming with another optimizer is a user error."""
    write_records(tmp_path / "rec")
    write_records(tmp_path / "eval", seed=5)
    logs: list[str] = []
    kwargs = configs(
        str(tmp_path / "rec" / "*"),
        tmp_path / "model",
        steps=10,
        max_steps_this_run=7,
        log_every=1,
        eval_patterns=(str(tmp_path / "eval" / "*"),),
        eval_batch_size=8,
        eval_steps=2,
        eval_every=3,
    )
    result = train(**kwargs, say=logs.append)
    assert result.step == 7 and result.stopped == "max_steps"
    # At steps 3 and 6 during training, then once at the end (7), each after its train step.
    eval_lines = [line for line in logs if line.startswith("eval at step")]
    assert [int(line.split()[3].rstrip(":")) for line in eval_lines] == [3, 6, 7]
    train_lines = [line for line in logs if line.startswith("step ")]
    assert logs.index(eval_lines[0]) == logs.index(train_lines[2]) + 1  # right after step 3
    scalars = _eval_scalars(tmp_path / "model" / "eval")
    assert sorted(scalars) == [3, 6, 7]
    for step_scalars in scalars.values():
        assert {"masked_lm_accuracy", "masked_lm_loss", "sentence_order_accuracy"} <= set(
            step_scalars
        )
        assert step_scalars["loss"] > 0
    # Each evaluation used the weights of its step.
    assert scalars[7]["masked_lm_loss"] != scalars[3]["masked_lm_loss"]
    text = (tmp_path / "model" / "eval_results.txt").read_text()
    for name in (  # Google's metric names
        "masked_lm_accuracy",
        "masked_lm_loss",
        "sentence_order_accuracy",
        "sentence_order_loss",
        "global_step = 7",
    ):
        assert name in text
    assert 0 <= result.eval_metrics["masked_lm_accuracy"] <= 1
    assert result.eval_metrics["masked_lm_loss"] == pytest.approx(scalars[7]["masked_lm_loss"])

    # The same call again resumes from step 7's checkpoint and runs to the end (10); it
    # counts the eval interval from where it restarted (7 -> 10), and an interval ending
    # on the last step evaluates it once, not twice.
    logs.clear()
    result = train(**kwargs, say=logs.append)
    assert any("resumed from" in line and "at step 7" in line for line in logs), logs
    assert result.step == 10 and result.stopped == "done"
    assert [line.split()[3] for line in logs if line.startswith("eval at step")] == ["10:"]
    assert "global_step = 10" in (tmp_path / "model" / "eval_results.txt").read_text()

    # Resuming with another optimizer (mixed_fp16 wraps LAMB for loss scaling) is refused.
    run = dataclasses.replace(kwargs["run"], precision="mixed_fp16", num_train_steps=12)
    with pytest.raises(UserError, match="cannot resume from .*ckpt-10"):
        train(**{**kwargs, "run": run}, say=lambda _: None)


def test_schedule_warms_up_then_decays_linearly_to_zero():
    schedule = WarmupPolynomialDecay(0.00176, num_train_steps=100, num_warmup_steps=10)
    values = [float(schedule(s)) for s in (0, 5, 10, 55, 100)]
    np.testing.assert_allclose(values, [0, 0.00088, 0.001584, 0.000792, 0], atol=1e-9)


def test_weight_decay_skips_layer_norm_and_biases():
    from albert_data.model import build_pretraining_model
    from tests.train_support import tiny_config

    model = build_pretraining_model(tiny_config())
    decayed = {v.path for v in model.trainable_variables if uses_weight_decay(v)}
    assert all(p.endswith(("kernel", "embeddings", "position_embeddings")) for p in decayed)
    assert not any(("layer_norm" in p) or p.endswith("bias") for p in decayed)


# --- the input pipeline -------------------------------------------------------------------


def test_pipeline_batches_fixed_shapes_from_several_files(tmp_path):
    for i in range(3):
        write_records(tmp_path, 10, seed=i, name=f"part-{i}.tfrecord")
    config = DataConfig(
        patterns=(str(tmp_path / "part-*"),), max_seq_length=SEQ, max_predictions_per_seq=PREDS
    )
    info = check_records(config, VOCAB)
    assert len(info.files) == 3 and not info.dynamic
    batch = next(iter(make_dataset(config, info.files, batch_size=4, vocab_size=VOCAB)))
    assert batch["input_ids"].shape == (4, SEQ) and batch["input_ids"].dtype == tf.int32
    assert batch["masked_lm_weights"].shape == (4, PREDS)
    assert batch["next_sentence_labels"].shape == (4,)


def test_gzip_records_are_read(tmp_path):
    plain = write_records(tmp_path / "plain")
    gz = tmp_path / "gz" / "a.tfrecord.gz"
    gz.parent.mkdir()
    with tf.io.TFRecordWriter(str(gz), options="GZIP") as writer:
        for record in tf.data.TFRecordDataset(str(plain)):
            writer.write(record.numpy())
    config = DataConfig(
        patterns=(str(gz.parent),), max_seq_length=SEQ, max_predictions_per_seq=PREDS
    )
    info = check_records(config, VOCAB)
    assert info.compression == "GZIP"
    batch = next(
        iter(make_dataset(config, info.files, batch_size=4, vocab_size=VOCAB, compression="GZIP"))
    )
    assert batch["input_ids"].shape == (4, SEQ)


def test_dynamic_records_are_masked_on_the_fly_reproducibly(tmp_path):
    write_records(tmp_path, 16, dynamic=True)
    config = DataConfig(
        patterns=(str(tmp_path / "*"),), max_seq_length=SEQ, max_predictions_per_seq=PREDS
    )
    info = check_records(config, VOCAB)
    assert info.dynamic

    def first_batches():
        ds = make_dataset(config, info.files, batch_size=8, vocab_size=VOCAB, dynamic=True, seed=7)
        return [b for _, b in zip(range(2), ds)]

    one, two = first_batches(), first_batches()
    for a, b in zip(one, two):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    batch = one[0]
    weights = batch["masked_lm_weights"].numpy()
    assert (weights.sum(axis=1) >= 1).all()
    ids, positions, labels = (
        batch[k].numpy() for k in ("input_ids", "masked_lm_positions", "masked_lm_ids")
    )
    real = weights > 0
    shown = np.take_along_axis(ids, positions, axis=1)[real]
    assert (shown == 4).mean() >= 0.5  # mostly [MASK] (80% in expectation)
    assert (labels[real] >= 5).all()  # never [CLS]/[SEP]/[MASK]
    result = train(**configs(str(tmp_path / "*"), tmp_path / "model", steps=3))
    assert result.step == 3


@pytest.mark.parametrize(("precision", "jit"), [("bf16", False), ("mixed_fp16", True)])
def test_reduced_precision_and_xla_train(tmp_path, precision, jit):
    write_records(tmp_path / "rec")
    kwargs = configs(
        str(tmp_path / "rec" / "*"), tmp_path / "model", steps=2, precision=precision, jit=jit
    )
    result = train(**kwargs, say=lambda _: None)
    assert result.step == 2 and np.isfinite(result.metrics["loss"])
    assert (tmp_path / "model" / "ckpt-2.index").exists()


def test_xla_and_gradient_accumulation_give_the_plain_steps_weights(tmp_path):
    """Three steps three ways, from the same records and seed: the plain step (no XLA,
    one micro-batch), XLA, and two accumulated micro-batches; the same weights."""
    write_records(tmp_path / "rec")
    results = {}
    for name, run in {
        "plain": {"jit": False},
        "xla": {"jit": True},
        "accum-2": {"jit": False, "grad_accum_steps": 2},
    }.items():
        kwargs = configs(str(tmp_path / "rec" / "*"), tmp_path / name, steps=3, **run)
        results[name] = _checkpoint_values(train(**kwargs, say=lambda _: None).checkpoint)
    plain = results["plain"]
    for other, tolerance in (("xla", 1e-4), ("accum-2", 1e-4)):
        assert results[other].keys() == plain.keys()
        for name, value in plain.items():
            np.testing.assert_allclose(
                results[other][name], value, rtol=tolerance, atol=1e-6, err_msg=f"{other} {name}"
            )
    # Not vacuous: XLA really ran (its fusions round differently, so some bits differ).
    assert any(not np.array_equal(results["xla"][n], v) for n, v in plain.items())


def test_dynamic_masking_ids_from_a_wordpiece_vocab(tmp_path):
    from albert_data.training.vocab_ids import ids_from_vocab, regular_ids

    vocab = tmp_path / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused1]", "the", "##s", "中"])
        + "\n"
    )
    ids = ids_from_vocab(str(vocab))
    assert (ids["mask_id"], ids["cls_id"], ids["sep_id"], ids["vocab_size"]) == (4, 2, 3, 9)
    assert ids["regular_ids"] == (6, 7, 8)
    assert regular_ids(None, 4, 8).tolist() == [5, 6, 7]
    with pytest.raises(UserError, match="no <pad> or \\[PAD\\] symbol"):
        vocab.write_text("[CLS]\n[SEP]\nthe\n")
        ids_from_vocab(str(vocab))


@pytest.mark.parametrize("masking", ["static", "dynamic"])
def test_trains_on_records_written_by_the_pretraining_core(tmp_path, masking):
    from click.testing import CliRunner

    from albert_data.cli import main
    from tests import pretraining_records as pr

    path = tmp_path / "rec" / "part-00000.tfrecord"
    path.parent.mkdir()
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in pr.make_records(12, masking=masking):
            writer.write(record)
    vocab = pr.write_vocab(tmp_path / "vocab.txt")
    args = [
        "train",
        "--records",
        str(path.parent),
        "--model-dir",
        str(tmp_path / "model"),
        "--preset",
        "tiny",
        "--vocab-size",
        pr.VOCAB_SIZE,
        "--vocab",
        vocab,
        "--max-seq-length",
        pr.L,
        "--max-predictions-per-seq",
        pr.P,
        "--train-batch-size",
        4,
        "--num-train-steps",
        2,
        "--num-warmup-steps",
        1,
        "--log-every",
        1,
        "--no-jit",
    ]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "stopped at step 2 (done)" in result.stdout
