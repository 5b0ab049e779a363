"""The mapping between this model's variables and Google's TF1 ALBERT variable names.

Google's names (``bert/embeddings/...``, ``bert/encoder/transformer/group_G/
inner_group_I/...``, ``bert/pooler/dense``, ``cls/predictions/...``,
``cls/seq_relationship/...``) are listed in ``DESIGN.md``. Keras' attention keeps
per-head kernels (``[hidden, heads, head]``, ``[heads, head, hidden]``) where Google
keeps ``[hidden, hidden]`` matrices, and the SOP weights are stored transposed; each
entry carries the two reshapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from albert_data.errors import UserError


@dataclass(frozen=True)
class NamedWeight:
    """One model variable under its Google name, with the conversions both ways."""

    name: str
    variable: object  # a keras.Variable
    to_google: Callable[[np.ndarray], np.ndarray]
    from_google: Callable[[np.ndarray], np.ndarray]

    @property
    def google_shape(self) -> tuple[int, ...]:
        return tuple(self.to_google(np.zeros(tuple(self.variable.shape), np.float32)).shape)


def _same(x: np.ndarray) -> np.ndarray:
    return x


def _reshaper(ours: tuple[int, ...], theirs: tuple[int, ...]):
    return (lambda x: np.reshape(x, theirs)), (lambda x: np.reshape(x, ours))


def _plain(name: str, variable) -> NamedWeight:
    return NamedWeight(name, variable, _same, _same)


def _reshaped(name: str, variable, theirs: tuple[int, ...]) -> NamedWeight:
    to_g, from_g = _reshaper(tuple(variable.shape), theirs)
    return NamedWeight(name, variable, to_g, from_g)


def _transposed(name: str, variable) -> NamedWeight:
    return NamedWeight(name, variable, np.transpose, np.transpose)


def _dense(prefix: str, layer) -> list[NamedWeight]:
    return [_plain(f"{prefix}/kernel", layer.kernel), _plain(f"{prefix}/bias", layer.bias)]


def _layer_norm(prefix: str, layer) -> list[NamedWeight]:
    return [_plain(f"{prefix}/gamma", layer.gamma), _plain(f"{prefix}/beta", layer.beta)]


def block_location(model, block: int) -> tuple[int, int]:
    """(group, inner group) under which a shared block is stored in Google's layout."""
    config = model.config
    if config.share_type not in ("all", "none"):
        raise UserError(
            f"share_type={config.share_type!r} has no equivalent in Google's or Hugging Face's "
            "ALBERT layout (only 'all' and 'none' do); export the own checkpoint instead"
        )
    if config.ln_type != "postln":
        raise UserError(
            f"ln_type={config.ln_type!r} has no equivalent in Google's or Hugging Face's ALBERT "
            "layout (only 'postln'); export the own checkpoint or the SavedModel instead"
        )
    return divmod(block, config.inner_group_num)


def google_weights(model) -> list[NamedWeight]:
    """Every variable of an :class:`AlbertPretrainingModel` under its Google name."""
    encoder = model.encoder
    c = model.config
    H = c.hidden_size
    emb = encoder.embeddings
    out = [
        _plain("bert/embeddings/word_embeddings", emb.word_embeddings.embeddings),
        _plain("bert/embeddings/token_type_embeddings", emb.token_type_embeddings.embeddings),
        _plain("bert/embeddings/position_embeddings", emb.position_embeddings),
        *_layer_norm("bert/embeddings/LayerNorm", emb.layer_norm),
        *_dense("bert/encoder/embedding_hidden_mapping_in", encoder.embedding_projection),
    ]
    for index, block in enumerate(encoder.attention_blocks):
        group, inner = block_location(model, index)
        prefix = f"bert/encoder/transformer/group_{group}/inner_group_{inner}"
        mha = block.attention
        for part, dense in (
            ("query", mha.query_dense),
            ("key", mha.key_dense),
            ("value", mha.value_dense),
        ):
            out.append(_reshaped(f"{prefix}/attention_1/self/{part}/kernel", dense.kernel, (H, H)))
            out.append(_reshaped(f"{prefix}/attention_1/self/{part}/bias", dense.bias, (H,)))
        out.append(
            _reshaped(f"{prefix}/attention_1/output/dense/kernel", mha.output_dense.kernel, (H, H))
        )
        out.append(_plain(f"{prefix}/attention_1/output/dense/bias", mha.output_dense.bias))
        out.extend(_layer_norm(f"{prefix}/LayerNorm", block.layer_norm))
    for index, block in enumerate(encoder.ffn_blocks):
        group, inner = block_location(model, index)
        prefix = f"bert/encoder/transformer/group_{group}/inner_group_{inner}"
        out.extend(_dense(f"{prefix}/ffn_1/intermediate/dense", block.intermediate))
        out.extend(_dense(f"{prefix}/ffn_1/intermediate/output/dense", block.output_dense))
        out.extend(_layer_norm(f"{prefix}/LayerNorm_1", block.layer_norm))
    out.extend(_dense("bert/pooler/dense", encoder.pooler))
    head = model.mlm_head
    out.extend(_dense("cls/predictions/transform/dense", head.dense))
    out.extend(_layer_norm("cls/predictions/transform/LayerNorm", head.layer_norm))
    out.append(_plain("cls/predictions/output_bias", head.output_bias))
    sop = model.sop_head.dense
    out.append(_transposed("cls/seq_relationship/output_weights", sop.kernel))
    out.append(_plain("cls/seq_relationship/output_bias", sop.bias))
    return out
