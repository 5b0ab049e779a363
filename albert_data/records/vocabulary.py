"""The vocabulary a run recorded, loaded once for every command that reads records
(``inspect``, ``train``, ``export``): the ``vocabulary`` entry of the records'
``stats.json`` (:func:`recorded_vocabulary`, local or any Beam file system) and the
tokenizer rebuilt with the settings it records, with its pieces and special ids
(:func:`load_vocab`). Its fingerprint is then the one ``make-pretraining`` recorded
when the vocabulary is the same, which :func:`albert_data.records.provenance.check_vocabulary`
compares.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from albert_data.errors import UserError
from albert_data.files import fileio


@dataclass(frozen=True)
class RecordedVocab:
    """A vocabulary as the records were made with it: its tokenizer, pieces and the ids
    decoding and validation need."""

    pieces: tuple[str, ...]
    pad: int
    cls: int
    sep: int
    mask: int
    fingerprint: str = ""  # the tokenizer's, as make-pretraining records it in stats.json
    tokenizer: Any = None

    @property
    def size(self) -> int:
        return len(self.pieces)

    def piece(self, token_id: int) -> str:
        token_id = int(token_id)
        return self.pieces[token_id] if 0 <= token_id < self.size else f"<id {token_id}?>"


def recorded_vocabulary(files: list[str]) -> dict:
    """The ``vocabulary`` entry of the first readable ``stats.json`` beside ``files`` that
    has one; ``{}`` when none has."""
    from albert_data.records.provenance import stats_paths

    for path in stats_paths(files):
        try:
            with fileio.open_raw(path) as fh:
                entry = json.loads(fh.read().decode("utf-8")).get("vocabulary")
        except (OSError, ValueError, UnicodeDecodeError, AttributeError):
            continue
        if isinstance(entry, dict):
            return entry
    return {}


def load_vocab(
    path: str,
    *,
    recorded: dict | None = None,
    kind: str | None = None,
    do_lower_case: bool | None = None,
) -> RecordedVocab:
    """A SentencePiece ``.model`` or a WordPiece ``vocab.txt`` (``kind`` ``"spm"`` or
    ``"wordpiece"``; None: told by its bytes), loaded with the project's tokenizers and
    the settings ``recorded`` in the records' ``stats.json`` (word segmenter,
    normalisation, lower-casing); settings this vocabulary cannot have mean it is another
    one, and it is loaded with its defaults. ``do_lower_case`` is a WordPiece
    vocabulary's lower-casing where the records recorded none."""
    from albert_data.text.tokenization import load_tokenizer

    is_spm = kind == "spm" if kind else path.endswith(".model") or _looks_like_protobuf(path)
    source = {"spm_model": path} if is_spm else {"vocab_file": path}
    fallback = {} if is_spm else {"do_lower_case": do_lower_case}
    tokenizer = None
    if recorded:
        options = _load_options(recorded, is_spm=is_spm)
        if not is_spm and options["do_lower_case"] is None:
            options["do_lower_case"] = do_lower_case
        try:
            tokenizer = load_tokenizer(**source, **options)
        except UserError:
            tokenizer = None
    if tokenizer is None:
        tokenizer = load_tokenizer(**source, **fallback)
    size = int(tokenizer.vocab_size)
    s = tokenizer.special
    return RecordedVocab(
        pieces=tuple(tokenizer.id_to_piece(np.arange(size))),
        pad=s.pad,
        cls=s.cls,
        sep=s.sep,
        mask=s.mask,
        fingerprint=tokenizer.fingerprint(),
        tokenizer=tokenizer,
    )


def _load_options(recorded: dict, *, is_spm: bool) -> dict:
    """``load_tokenizer`` options that rebuild the tokenizer ``recorded`` describes."""
    norm = recorded.get("normalization") or {}
    segmenter = recorded.get("word_segmenter")
    options: dict = {"word_segmenter": segmenter if segmenter in ("none", "jieba") else None}
    if is_spm:
        names = ("nfkc", "lower_case", "strip_accents", "rewrite_quotes")
        options.update({k: bool(norm[k]) for k in names if k in norm})
    else:
        lower = recorded.get("do_lower_case")
        options["do_lower_case"] = None if lower is None else bool(lower)
        names = ("nfkc", "strip_accents", "rewrite_quotes")
        options.update({k: True for k in names if norm.get(k)})
    return options


def _looks_like_protobuf(path: str) -> bool:
    """A SentencePiece model starts with field 1 (pieces), length-delimited: byte 0x0A.
    Read through ``fileio`` so that a remote vocabulary (``gs://``...) works too."""
    if not fileio.exists(path):
        raise UserError(f"--vocab {path}: no such file; check the path")
    try:
        with fileio.open_raw(path) as f:
            return f.read(1) == b"\x0a"
    except OSError as err:
        raise UserError(f"{path}: cannot read the vocabulary ({err.strerror or err})") from None
