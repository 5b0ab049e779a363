"""Special and regular token ids for dynamic masking, from a vocab file or from flags."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from albert_data.errors import UserError

_SPECIAL = re.compile(r"^(\[[^\]]+\]|<[^>]+>)$")


def ids_from_vocab(path: str) -> dict:
    """``mask_id``, ``cls_id``, ``sep_id`` and ``regular_ids`` from a ``.model`` or ``vocab.txt``.

    Regular ids are the pieces a masked token may be replaced by: not control symbols,
    not ``<unk>``/``<pad>``, not bracketed specials such as ``[MASK]`` or ``[unused3]``.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"--vocab {path} does not exist")
    if p.suffix == ".model":
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(p))
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        special = {
            i for i in range(len(pieces)) if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i)
        }
    else:
        pieces = p.read_text(encoding="utf-8").splitlines()
        special = set()
    special |= {i for i, piece in enumerate(pieces) if _SPECIAL.match(piece.strip())}
    index = {piece.strip(): i for i, piece in enumerate(pieces)}
    ids = {}
    for key, piece in (("mask_id", "[MASK]"), ("cls_id", "[CLS]"), ("sep_id", "[SEP]")):
        if piece not in index:
            raise UserError(
                f"--vocab {path} has no {piece} piece; use the vocab the records were made with"
            )
        ids[key] = index[piece]
    ids["regular_ids"] = tuple(i for i in range(len(pieces)) if i not in special)
    ids["vocab_size"] = len(pieces)
    return ids


def regular_ids(explicit: tuple[int, ...] | None, mask_id: int, vocab_size: int) -> np.ndarray:
    """The replacement ids: explicit ones, or ``mask_id + 1 .. vocab_size - 1``."""
    if explicit is not None:
        return np.asarray(explicit, np.int64)
    if mask_id + 1 >= vocab_size:
        raise UserError(f"--mask-id {mask_id} leaves no regular ids below vocab_size {vocab_size}")
    return np.arange(mask_id + 1, vocab_size, dtype=np.int64)
