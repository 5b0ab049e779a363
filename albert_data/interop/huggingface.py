"""Export to a Hugging Face ``transformers`` directory for ``AlbertForPreTraining``.

Writes ``config.json`` (``model_type: albert``), ``model.safetensors`` with the
parameter names of ``AlbertForPreTraining`` (torch ``Linear`` weights are
``[out, in]``, so Google's kernels are transposed), and, when given, the tokenizer's
files (:mod:`albert_data.interop.hf_tokenizer_files`: ``spiece.model`` or ``vocab.txt``,
``tokenizer.json``, ``tokenizer_config.json``) that ``AutoTokenizer`` loads. The decoder
weight and bias are tied to ``albert.embeddings.word_embeddings.weight`` and ``predictions.bias``
in ``transformers``, so only those are stored. The safetensors file is written here
(8-byte header length, JSON header, little-endian float32 data).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from albert_data.interop.google_names import google_weights
from albert_data.model.config import AlbertConfig

HF_ACTIVATIONS = {
    "gelu": "gelu_new",
    "gelu_new": "gelu_new",
    "gelu_exact": "gelu",
    "relu": "relu",
    "tanh": "tanh",
    "swish": "silu",
    "linear": "linear",
}

_LAYER = re.compile(r"^bert/encoder/transformer/group_(\d+)/inner_group_(\d+)/(.*)$")
_LAYER_PARTS = {
    "attention_1/self/query": "attention.query",
    "attention_1/self/key": "attention.key",
    "attention_1/self/value": "attention.value",
    "attention_1/output/dense": "attention.dense",
    "LayerNorm": "attention.LayerNorm",
    "ffn_1/intermediate/dense": "ffn",
    "ffn_1/intermediate/output/dense": "ffn_output",
    "LayerNorm_1": "full_layer_layer_norm",
}
_FIXED = {
    "bert/embeddings/word_embeddings": "albert.embeddings.word_embeddings.weight",
    "bert/embeddings/token_type_embeddings": "albert.embeddings.token_type_embeddings.weight",
    "bert/embeddings/position_embeddings": "albert.embeddings.position_embeddings.weight",
    "bert/embeddings/LayerNorm": "albert.embeddings.LayerNorm",
    "bert/encoder/embedding_hidden_mapping_in": "albert.encoder.embedding_hidden_mapping_in",
    "bert/pooler/dense": "albert.pooler",
    "cls/predictions/transform/dense": "predictions.dense",
    "cls/predictions/transform/LayerNorm": "predictions.LayerNorm",
    "cls/predictions/output_bias": "predictions.bias",
    "cls/seq_relationship/output_weights": "sop_classifier.classifier.weight",
    "cls/seq_relationship/output_bias": "sop_classifier.classifier.bias",
}
_LEAF = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}


def hf_name(google_name: str) -> str:
    """The ``AlbertForPreTraining`` parameter name for a Google variable name."""
    if google_name in _FIXED:
        return _FIXED[google_name]
    scope, leaf = google_name.rsplit("/", 1)
    match = _LAYER.match(scope)
    if match:
        group, inner, part = match.groups()
        base = (
            f"albert.encoder.albert_layer_groups.{group}.albert_layers.{inner}.{_LAYER_PARTS[part]}"
        )
    else:
        base = _FIXED[scope]
    return f"{base}.{_LEAF[leaf]}"


def hf_state(model) -> dict[str, np.ndarray]:
    """Every parameter as a float32 array under its ``AlbertForPreTraining`` name."""
    state = {}
    for weight in google_weights(model):
        value = weight.to_google(np.asarray(weight.variable.numpy(), np.float32))
        if weight.name.endswith("/kernel"):
            value = value.T
        state[hf_name(weight.name)] = np.ascontiguousarray(value, np.float32)
    return state


def hf_config(config: AlbertConfig) -> dict:
    """``config.json`` for ``transformers.AlbertConfig``."""
    groups = config.num_hidden_groups
    if config.share_type == "none":
        groups = config.num_hidden_layers
    return {
        "architectures": ["AlbertForPreTraining"],
        "model_type": "albert",
        "vocab_size": config.vocab_size,
        "embedding_size": config.embedding_size,
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_hidden_groups": groups,
        "num_attention_heads": config.num_attention_heads,
        "intermediate_size": config.intermediate_size,
        "inner_group_num": config.inner_group_num,
        "hidden_act": HF_ACTIVATIONS[config.hidden_act],
        "hidden_dropout_prob": config.hidden_dropout_prob,
        "attention_probs_dropout_prob": config.attention_probs_dropout_prob,
        "max_position_embeddings": config.max_position_embeddings,
        "type_vocab_size": config.type_vocab_size,
        "initializer_range": config.initializer_range,
        "layer_norm_eps": 1e-12,
        "classifier_dropout_prob": 0.1,
        "position_embedding_type": "absolute",
        "pad_token_id": 0,
        "bos_token_id": 2,
        "eos_token_id": 3,
        "tie_word_embeddings": True,
    }


def write_safetensors(path: str | Path, tensors: dict[str, np.ndarray]) -> None:
    """Write float32 tensors in the safetensors layout."""
    header, offset = {}, 0
    for name, array in tensors.items():
        size = array.nbytes
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for array in tensors.values():
            f.write(array.astype("<f4").tobytes())


def export_huggingface(
    model, directory: str | Path, *, tokenizer_files: Mapping[str, bytes] | None = None
) -> Path:
    """Write ``config.json``, ``model.safetensors`` and the tokenizer files (name → bytes,
    from :mod:`albert_data.interop.hf_tokenizer_files`) to ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = hf_state(model)  # raises UserError for layouts transformers cannot hold
    (directory / "config.json").write_text(json.dumps(hf_config(model.config), indent=2) + "\n")
    write_safetensors(directory / "model.safetensors", state)
    for name, content in (tokenizer_files or {}).items():
        (directory / name).write_bytes(content)
    return directory
