"""Checkpoint import (Google TF1 names) and export (SavedModel, Google names, Hugging Face)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf  # noqa: E402

from albert_data.errors import UserError  # noqa: E402
from albert_data.interop.checkpoints import (  # noqa: E402
    init_from_checkpoint,
    write_google_checkpoint,
)
from albert_data.interop.huggingface import export_huggingface  # noqa: E402
from albert_data.interop.saved_model import export_saved_model  # noqa: E402
from albert_data.model import build_pretraining_model  # noqa: E402
from albert_data.model.initialization import initialize_weights  # noqa: E402
from tests.train_support import tiny_config  # noqa: E402

L = 12


def google_shapes(c) -> dict[str, tuple[int, ...]]:
    """Google's variable names and shapes for a config (share_type all, postln)."""
    V, E, H, F = c.vocab_size, c.embedding_size, c.hidden_size, c.intermediate_size
    shapes = {
        "bert/embeddings/word_embeddings": (V, E),
        "bert/embeddings/token_type_embeddings": (c.type_vocab_size, E),
        "bert/embeddings/position_embeddings": (c.max_position_embeddings, E),
        "bert/embeddings/LayerNorm/gamma": (E,),
        "bert/embeddings/LayerNorm/beta": (E,),
        "bert/encoder/embedding_hidden_mapping_in/kernel": (E, H),
        "bert/encoder/embedding_hidden_mapping_in/bias": (H,),
        "bert/pooler/dense/kernel": (H, H),
        "bert/pooler/dense/bias": (H,),
        "cls/predictions/transform/dense/kernel": (H, E),
        "cls/predictions/transform/dense/bias": (E,),
        "cls/predictions/transform/LayerNorm/gamma": (E,),
        "cls/predictions/transform/LayerNorm/beta": (E,),
        "cls/predictions/output_bias": (V,),
        "cls/seq_relationship/output_weights": (2, H),
        "cls/seq_relationship/output_bias": (2,),
    }
    for g in range(c.num_hidden_groups):
        for i in range(c.inner_group_num):
            p = f"bert/encoder/transformer/group_{g}/inner_group_{i}"
            for part in ("query", "key", "value"):
                shapes[f"{p}/attention_1/self/{part}/kernel"] = (H, H)
                shapes[f"{p}/attention_1/self/{part}/bias"] = (H,)
            shapes[f"{p}/attention_1/output/dense/kernel"] = (H, H)
            shapes[f"{p}/attention_1/output/dense/bias"] = (H,)
            shapes[f"{p}/ffn_1/intermediate/dense/kernel"] = (H, F)
            shapes[f"{p}/ffn_1/intermediate/dense/bias"] = (F,)
            shapes[f"{p}/ffn_1/intermediate/output/dense/kernel"] = (F, H)
            shapes[f"{p}/ffn_1/intermediate/output/dense/bias"] = (H,)
            for ln in ("LayerNorm", "LayerNorm_1"):
                shapes[f"{p}/{ln}/gamma"] = (H,)
                shapes[f"{p}/{ln}/beta"] = (H,)
    return shapes


def write_tf1_checkpoint(path, shapes, seed=0) -> dict[str, np.ndarray]:
    """A Google-style checkpoint written by a TF1 graph and Saver, plus Adam slots."""
    rng = np.random.default_rng(seed)
    values = {
        name: (rng.normal(size=shape) * (0.02 if len(shape) > 1 else 0.5)).astype(np.float32)
        + (1.0 if name.endswith("gamma") else 0.0)
        for name, shape in shapes.items()
    }
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.Variable(v, name=n) for n, v in values.items()]
        variables.append(
            tf.compat.v1.Variable(
                np.zeros((2, 4), np.float32), name="bert/pooler/dense/kernel/adam_m"
            )
        )
        variables.append(tf.compat.v1.train.get_or_create_global_step())
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(path))
    return values


# --- a NumPy reference of Google's ALBERT forward pass -----------------------------------------


def _ln(x, g, b):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * g + b


def _gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def reference_forward(w, c, ids, mask, seg, positions):
    x = w["bert/embeddings/word_embeddings"][ids] + w["bert/embeddings/token_type_embeddings"][seg]
    x = x + w["bert/embeddings/position_embeddings"][: ids.shape[1]]
    x = _ln(x, w["bert/embeddings/LayerNorm/gamma"], w["bert/embeddings/LayerNorm/beta"])
    x = (
        x @ w["bert/encoder/embedding_hidden_mapping_in/kernel"]
        + w["bert/encoder/embedding_hidden_mapping_in/bias"]
    )
    heads, size = c.num_attention_heads, c.hidden_size // c.num_attention_heads
    B, T = ids.shape
    adder = (1.0 - mask[:, None, None, :]) * -10000.0
    for layer in range(c.num_hidden_layers):
        group = int(layer / (c.num_hidden_layers / c.num_hidden_groups))
        for inner in range(c.inner_group_num):
            p = f"bert/encoder/transformer/group_{group}/inner_group_{inner}"

            def dense(x, name, p=p):
                return x @ w[f"{p}/{name}/kernel"] + w[f"{p}/{name}/bias"]

            def split(t):
                return t.reshape(B, T, heads, size).transpose(0, 2, 1, 3)

            q, k, v = (split(dense(x, f"attention_1/self/{n}")) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + adder
            probs = np.exp(scores - scores.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(B, T, -1)
            x = _ln(
                x + dense(context, "attention_1/output/dense"),
                w[f"{p}/LayerNorm/gamma"],
                w[f"{p}/LayerNorm/beta"],
            )
            h = _gelu(dense(x, "ffn_1/intermediate/dense"))
            x = _ln(
                x + dense(h, "ffn_1/intermediate/output/dense"),
                w[f"{p}/LayerNorm_1/gamma"],
                w[f"{p}/LayerNorm_1/beta"],
            )
    pooled = np.tanh(x[:, 0] @ w["bert/pooler/dense/kernel"] + w["bert/pooler/dense/bias"])
    gathered = np.take_along_axis(x, positions[:, :, None], axis=1)
    t = _gelu(
        gathered @ w["cls/predictions/transform/dense/kernel"]
        + w["cls/predictions/transform/dense/bias"]
    )
    t = _ln(
        t,
        w["cls/predictions/transform/LayerNorm/gamma"],
        w["cls/predictions/transform/LayerNorm/beta"],
    )
    mlm = t @ w["bert/embeddings/word_embeddings"].T + w["cls/predictions/output_bias"]
    sop = (
        pooled @ w["cls/seq_relationship/output_weights"].T + w["cls/seq_relationship/output_bias"]
    )
    return {"sequence_output": x, "pooled_output": pooled, "mlm_logits": mlm, "sop_logits": sop}


def _inputs(c, seed=1):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, c.vocab_size, (2, L))
    mask = np.ones((2, L), np.int64)
    mask[1, 8:] = 0
    seg = np.zeros((2, L), np.int64)
    seg[:, 5:] = 1
    positions = np.array([[1, 3, 6], [2, 4, 7]])
    return ids, mask, seg, positions


@pytest.fixture(scope="module")
def source_models() -> dict:
    """Tiny models with seeded weights, built once for the module by share type: the tests
    only read them (export, save, a forward pass), so they can share them."""
    models = {}
    for seed, share_type in ((3, "all"), (6, "none")):
        model = build_pretraining_model(tiny_config(share_type=share_type))
        initialize_weights(model, seed)
        models[share_type] = model
    return models


def _model_outputs(model, ids, mask, seg, positions):
    out = model(
        {"input_ids": ids, "input_mask": mask, "segment_ids": seg, "masked_lm_positions": positions}
    )
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.parametrize("groups", [(1, 1), (2, 2)])
def test_import_google_tf1_checkpoint_matches_reference(tmp_path, groups):
    config = tiny_config(
        num_hidden_layers=2 * groups[0], num_hidden_groups=groups[0], inner_group_num=groups[1]
    )
    values = write_tf1_checkpoint(tmp_path / "model.ckpt", google_shapes(config))
    model = build_pretraining_model(config)
    report = init_from_checkpoint(model, str(tmp_path))
    assert report.kind == "google" and not report.missing
    assert len(report.loaded) == len(values)
    assert "global_step" in report.ignored and "bert/pooler/dense/kernel/adam_m" in report.ignored
    assert "optimizer slots not used: 1" in report.summary()
    inputs = _inputs(config)
    ours = _model_outputs(model, *inputs)
    expected = reference_forward(values, config, *inputs)
    for key, value in expected.items():
        np.testing.assert_allclose(
            ours[key][:, :8] if key == "sequence_output" else ours[key],
            value[:, :8] if key == "sequence_output" else value,
            atol=2e-5,
            err_msg=key,
        )


def test_import_reports_missing_heads(tmp_path):
    config = tiny_config()
    shapes = {n: s for n, s in google_shapes(config).items() if not n.startswith("cls/")}
    write_tf1_checkpoint(tmp_path / "model.ckpt", shapes)
    report = init_from_checkpoint(build_pretraining_model(config), str(tmp_path / "model.ckpt"))
    assert "cls/seq_relationship/output_weights" in report.missing
    assert "left at their initial values (7)" in report.summary()


def test_import_rejects_shape_mismatch_before_assigning(tmp_path):
    config = tiny_config()
    shapes = google_shapes(dataclasses.replace(config, intermediate_size=96))
    write_tf1_checkpoint(tmp_path / "model.ckpt", shapes)
    model = build_pretraining_model(config)
    before = [np.array(w) for w in model.get_weights()]
    with pytest.raises(
        UserError,
        match=r"ffn_1/intermediate/dense/kernel has shape \[64, 96\] but the model needs \[64, 128\]",
    ):
        init_from_checkpoint(model, str(tmp_path / "model.ckpt"))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_google_export_round_trips(tmp_path, source_models):
    config = tiny_config()
    model = source_models["all"]
    prefix = write_google_checkpoint(model, tmp_path / "google", step=42)
    assert prefix.endswith("model.ckpt-42")
    names = dict(tf.train.list_variables(prefix))
    assert names[
        "bert/encoder/transformer/group_0/inner_group_0/attention_1/self/query/kernel"
    ] == [64, 64]
    assert names["cls/seq_relationship/output_weights"] == [2, 64]
    other = build_pretraining_model(config)
    report = init_from_checkpoint(other, str(tmp_path / "google"))
    assert report.step == 42
    inputs = _inputs(config)
    a, b = _model_outputs(model, *inputs), _model_outputs(other, *inputs)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_own_checkpoint_as_init_checkpoint(tmp_path, source_models):
    config = tiny_config()
    model = source_models["all"]
    prefix = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    other = build_pretraining_model(config)
    report = init_from_checkpoint(other, prefix)
    assert report.kind == "own"
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_saved_model_reproduces_the_encoder(tmp_path, source_models):
    config = tiny_config()
    model = source_models["all"]
    export_saved_model(model, str(tmp_path / "sm"))
    serving = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    ids, mask, seg, positions = _inputs(config)
    got = serving(
        input_ids=tf.constant(ids, tf.int32),
        input_mask=tf.constant(mask, tf.int32),
        segment_ids=tf.constant(seg, tf.int32),
    )
    want = _model_outputs(model, ids, mask, seg, positions)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(got[key].numpy(), want[key], atol=1e-5)


def test_layouts_without_google_equivalent_are_refused(tmp_path):
    model = build_pretraining_model(tiny_config(share_type="ffn"))
    with pytest.raises(UserError, match="share_type='ffn' has no equivalent"):
        write_google_checkpoint(model, tmp_path)
    model = build_pretraining_model(tiny_config(ln_type="preln"))
    with pytest.raises(UserError, match="ln_type='preln'"):
        export_huggingface(model, tmp_path / "hf")


def test_huggingface_export_files(tmp_path, source_models):
    model = source_models["none"]
    export_huggingface(model, tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["model_type"] == "albert" and config["hidden_act"] == "gelu_new"
    assert config["num_hidden_groups"] == config["num_hidden_layers"] == 2
    raw = (tmp_path / "hf" / "model.safetensors").read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    assert header["albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight"]["shape"] == [
        128,
        64,
    ]
    assert header["sop_classifier.classifier.weight"]["shape"] == [2, 64]


@pytest.mark.parametrize("share_type", ["all", "none"])
def test_huggingface_export_matches_transformers(tmp_path, share_type, source_models):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = tiny_config(share_type=share_type)
    model = source_models[share_type]
    export_huggingface(model, tmp_path / "hf")
    hf = transformers.AlbertForPreTraining.from_pretrained(str(tmp_path / "hf")).eval()
    ids, mask, seg, _ = _inputs(config)
    with torch.no_grad():
        got = hf(
            input_ids=torch.tensor(ids),
            attention_mask=torch.tensor(mask),
            token_type_ids=torch.tensor(seg),
        )
    want = _model_outputs(model, ids, mask, seg, np.tile(np.arange(L), (2, 1)))
    np.testing.assert_allclose(got.prediction_logits.numpy(), want["mlm_logits"], atol=1e-4)
    np.testing.assert_allclose(got.sop_logits.numpy(), want["sop_logits"], atol=1e-4)


def test_own_checkpoint_of_another_shape_is_a_user_error(tmp_path):
    model = build_pretraining_model(tiny_config(intermediate_size=96))
    prefix = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    with pytest.raises(
        UserError, match="cannot be restored into this model|does not fit this model"
    ):
        init_from_checkpoint(build_pretraining_model(tiny_config()), prefix)


def test_export_command_writes_all_three_formats(tiny_trained, tmp_path):
    from click.testing import CliRunner

    from albert_data.cli import main

    out = tmp_path / "export"
    run = CliRunner().invoke(
        main, ["export", "--model-dir", str(tiny_trained), "--output", str(out)]
    )
    assert run.exit_code == 0, run.output
    assert (out / "saved_model" / "saved_model.pb").exists()
    assert (out / "hf" / "model.safetensors").exists()
    assert (out / "google" / "model.ckpt-2.index").exists()
    assert (out / "google" / "albert_config.json").exists()
    trained = build_pretraining_model(tiny_config())
    tf.train.Checkpoint(model=trained).read(str(tiny_trained / "ckpt-2")).expect_partial()
    exported = build_pretraining_model(tiny_config())
    init_from_checkpoint(exported, str(out / "google"))
    for a, b in zip(trained.get_weights(), exported.get_weights()):
        np.testing.assert_array_equal(a, b)
    missing = CliRunner().invoke(
        main, ["export", "--model-dir", str(tmp_path / "nothing"), "--output", str(out)]
    )
    assert missing.exit_code == 2 and "error:" in missing.stderr
