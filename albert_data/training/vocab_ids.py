"""Special and regular token ids for dynamic masking, from a vocab file or from flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from albert_data.errors import UserError


def require_vocab_file(path: str) -> None:
    if not Path(path).exists():
        raise UserError(f"--vocab {path} does not exist")


def vocab_ids(tokenizer) -> dict:
    """``mask_id``, ``cls_id``, ``sep_id``, ``regular_ids`` and ``vocab_size`` of a
    tokenizer.

    Regular ids are the pieces a masked token may be replaced by, the same ones
    ``make-pretraining`` draws from (:meth:`VocabIds.of
    <albert_data.pretraining.document_records.VocabIds.of>`, the tokenizer's
    ``regular_ids()``): no control, unknown, unused, byte or bracketed special symbol.
    """
    from albert_data.pretraining.document_records import VocabIds

    ids = VocabIds.of(tokenizer)
    return {
        "mask_id": ids.mask,
        "cls_id": ids.cls,
        "sep_id": ids.sep,
        "regular_ids": tuple(int(i) for i in ids.regular),
        "vocab_size": int(tokenizer.vocab_size),
    }


def ids_from_vocab(path: str) -> dict:
    """:func:`vocab_ids` of a ``.model`` or ``vocab.txt``, loaded with the project's
    tokenizers (:func:`albert_data.records.vocabulary.load_vocab`)."""
    from albert_data.records.vocabulary import load_vocab

    require_vocab_file(path)
    return vocab_ids(load_vocab(path).tokenizer)


def regular_ids(explicit: tuple[int, ...] | None, mask_id: int, vocab_size: int) -> np.ndarray:
    """The replacement ids: explicit ones, or ``mask_id + 1 .. vocab_size - 1``."""
    if explicit is not None:
        return np.asarray(explicit, np.int64)
    if mask_id + 1 >= vocab_size:
        raise UserError(f"--mask-id {mask_id} leaves no regular ids below vocab_size {vocab_size}")
    return np.arange(mask_id + 1, vocab_size, dtype=np.int64)
