"""The Keras ALBERT model: exact parameter counts, config round trip, layers, sharing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from albert_data.errors import UserError
from albert_data.model import (
    AlbertAttention,
    AlbertConfig,
    AlbertEmbeddings,
    AlbertEncoder,
    AlbertFeedForward,
    MaskedLMHead,
    SentenceOrderHead,
    build_pretraining_model,
    dummy_inputs,
    preset,
)
from albert_data.model.activations import get_activation

# The reference implementations' encoder sizes (embeddings + shared layer + pooler).
ENCODER_PARAMS = {
    "base": 11_683_584,
    "large": 17_683_968,
    "xlarge": 58_724_864,
    "xxlarge": 222_595_584,
}

GOOGLE_BASE_JSON = {
    "attention_probs_dropout_prob": 0,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0,
    "embedding_size": 128,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "num_hidden_groups": 1,
    "net_structure_type": 0,
    "gap_size": 0,
    "num_memory_blocks": 0,
    "inner_group_num": 1,
    "down_scale_factor": 1,
    "type_vocab_size": 2,
    "vocab_size": 30000,
}


def _encoder_params(config: AlbertConfig) -> int:
    encoder = AlbertEncoder(config)
    encoder.build()
    return encoder.count_params()


@pytest.mark.parametrize("name", list(ENCODER_PARAMS))
def test_preset_encoder_parameter_counts_are_exact(name):
    assert _encoder_params(preset(name)) == ENCODER_PARAMS[name]


def test_google_json_loads_as_base_and_round_trips(tmp_path):
    path = tmp_path / "albert_config.json"
    path.write_text(json.dumps(GOOGLE_BASE_JSON))
    config = AlbertConfig.from_json(path)
    assert config == preset("base")
    config = dataclasses.replace(config, share_type="ffn", ln_type="preln", num_hidden_groups=2)
    config.to_json(tmp_path / "out.json")
    assert AlbertConfig.from_json(tmp_path / "out.json") == config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop": "hidden_size"}, "missing keys hidden_size"),
        ({"num_attention_heads": 7}, "not divisible by num_attention_heads=7"),
        ({"share_type": "some"}, "share_type='some'"),
        ({"hidden_act": "gelu2"}, "hidden_act='gelu2'"),
        ({"vocab_size": 0}, "vocab_size=0"),
        ({"colour": "red"}, "unknown keys colour"),
        ({"num_hidden_groups": 13}, "num_hidden_groups=13 exceeds"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path, change, message):
    data = dict(GOOGLE_BASE_JSON)
    data.pop(change.pop("drop", None), None)
    data.update(change)
    path = tmp_path / "albert_config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError) as err:
        AlbertConfig.from_json(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_config_file_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        AlbertConfig.from_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        AlbertConfig.from_json(tmp_path / "bad.json")


def test_layer_plan_follows_groups_and_share_type():
    base = preset("tiny")
    assert base.layer_plan() == [(0, 0), (0, 0)]
    grouped = dataclasses.replace(base, num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2)
    assert grouped.layer_plan() == [(0, 0), (1, 1), (0, 0), (1, 1), (2, 2), (3, 3), (2, 2), (3, 3)]
    assert dataclasses.replace(base, share_type="none").layer_plan() == [(0, 0), (1, 1)]
    assert dataclasses.replace(base, share_type="attention").layer_plan() == [(0, 0), (0, 1)]
    assert dataclasses.replace(base, share_type="ffn").layer_plan() == [(0, 0), (1, 0)]


def test_unshared_stack_has_one_layer_per_depth():
    tiny = preset("tiny")
    shared = _encoder_params(tiny)
    unshared = _encoder_params(dataclasses.replace(tiny, share_type="none"))
    layer = unshared - shared
    H, F = tiny.hidden_size, tiny.intermediate_size
    assert layer == 4 * (H * H + H) + 2 * H * F + F + H + 4 * H


def test_google_gelu_is_the_tanh_approximation():
    x = np.linspace(-4, 4, 33).astype(np.float32)
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(np.asarray(get_activation("gelu")(x)), expected, atol=1e-6)


def test_pretraining_model_outputs_and_padding_invariance():
    config = dataclasses.replace(preset("tiny"), vocab_size=50)
    model = build_pretraining_model(config)
    inputs = dummy_inputs(batch=2, seq=12, predictions=3)
    rng = np.random.default_rng(0)
    inputs["input_ids"] = rng.integers(5, 50, (2, 12)).astype(np.int32)
    inputs["input_mask"][:, 8:] = 0
    outputs = model(inputs)
    assert outputs["mlm_logits"].shape == (2, 3, 50)
    assert outputs["sop_logits"].shape == (2, 2)
    assert outputs["pooled_output"].shape == (2, config.hidden_size)
    changed = dict(inputs, input_ids=inputs["input_ids"].copy())
    changed["input_ids"][:, 8:] = 7  # padding content must not matter
    again = model(changed)
    np.testing.assert_allclose(
        outputs["sequence_output"][:, :8], again["sequence_output"][:, :8], atol=1e-5
    )


def test_mlm_decoder_is_tied_to_the_word_embeddings():
    model = build_pretraining_model(dataclasses.replace(preset("tiny"), vocab_size=40))
    table = model.encoder.embeddings.word_embeddings.embeddings
    names = [w.path for w in model.weights]
    assert sum("word_embeddings" in n for n in names) == 1
    assert not any(w.shape == (40, 32) and w is not table for w in model.weights)


@pytest.mark.parametrize("ln_type", ["postln", "preln"])
@pytest.mark.parametrize("share_type", ["all", "attention", "ffn", "none"])
def test_every_sharing_and_norm_variant_runs(share_type, ln_type):
    config = dataclasses.replace(
        preset("tiny"), vocab_size=30, share_type=share_type, ln_type=ln_type
    )
    model = build_pretraining_model(config)
    outputs = model(dummy_inputs(batch=1, seq=6, predictions=2))
    assert np.isfinite(np.asarray(outputs["mlm_logits"])).all()


@pytest.mark.parametrize(
    ("layer", "inputs"),
    [
        (AlbertEmbeddings(30, 8, 16, 2, name="embeddings"), None),
        (AlbertAttention(16, 2, ln_type="preln", name="attention"), (2, 5, 16)),
        (AlbertFeedForward(16, 32, hidden_act="relu", name="ffn"), (2, 5, 16)),
        (SentenceOrderHead(0.01, name="sop"), (2, 16)),
        (MaskedLMHead(30, 8, name="mlm"), None),
        (AlbertEncoder(dataclasses.replace(preset("tiny"), vocab_size=30), name="encoder"), None),
    ],
)
def test_layers_round_trip_through_get_config(layer, inputs):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    if inputs is not None:
        x = np.random.default_rng(1).normal(size=inputs).astype(np.float32)
        layer(x)
        clone(x)
        clone.set_weights(layer.get_weights())
        np.testing.assert_allclose(layer(x), clone(x), atol=1e-6)
