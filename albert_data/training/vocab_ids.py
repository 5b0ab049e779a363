"""Special and regular token ids for dynamic masking, from a vocab file or from flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from albert_data.errors import UserError


def ids_from_vocab(path: str) -> dict:
    """``mask_id``, ``cls_id``, ``sep_id``, ``regular_ids`` and ``vocab_size`` of a
    ``.model`` or ``vocab.txt``, loaded with the project's tokenizers.

    Regular ids are the pieces a masked token may be replaced by, the same ones
    ``make-pretraining`` draws from (:meth:`VocabIds.of
    <albert_data.pretraining.document_records.VocabIds.of>`, the tokenizer's
    ``regular_ids()``): no control, unknown, unused, byte or bracketed special symbol.
    """
    from albert_data.pretraining.document_records import VocabIds
    from albert_data.text.tokenization import load_tokenizer

    if not Path(path).exists():
        raise UserError(f"--vocab {path} does not exist")
    source = {"spm_model": path} if path.endswith(".model") else {"vocab_file": path}
    tokenizer = load_tokenizer(**source)
    ids = VocabIds.of(tokenizer)
    return {
        "mask_id": ids.mask,
        "cls_id": ids.cls,
        "sep_id": ids.sep,
        "regular_ids": tuple(int(i) for i in ids.regular),
        "vocab_size": int(tokenizer.vocab_size),
    }


def regular_ids(explicit: tuple[int, ...] | None, mask_id: int, vocab_size: int) -> np.ndarray:
    """The replacement ids: explicit ones, or ``mask_id + 1 .. vocab_size - 1``."""
    if explicit is not None:
        return np.asarray(explicit, np.int64)
    if mask_id + 1 >= vocab_size:
        raise UserError(f"--mask-id {mask_id} leaves no regular ids below vocab_size {vocab_size}")
    return np.arange(mask_id + 1, vocab_size, dtype=np.int64)
