"""SentencePiece models (ALBERT's ``30k-clean.model`` or one trained by ``spm-train``).

Encoding pipeline, identical at training and encoding time:
``normalizer(text)`` → optional jieba pre-segmentation (Chinese models trained with it)
→ SentencePiece (whose own normalisation rule lives inside the model). Word starts follow
the rule in :mod:`vocab.base`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocab.base import (
    FlatEncoding,
    Normalizer,
    Tokenizer,
    VocabError,
    WordRule,
    as_id_list,
    check_word_segmenter,
    flatten_ids,
    is_special_name,
    normalization_dict,
    resolve_special,
)
from vocab.chars import has_cjk, is_symbolic
from vocab.jieba_words import JiebaSegmenter, align_batch

PRE_SEGMENTATIONS = ("none", "jieba")

# sentencepiece_model.proto: ModelProto.pieces = 1; SentencePiece.piece = 1, .type = 3.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _skip(buf: bytes, pos: int, wire: int) -> int:
    if wire == 0:
        return _varint(buf, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        length, pos = _varint(buf, pos)
        return pos + length
    if wire == 5:
        return pos + 4
    raise ValueError(f"unsupported protobuf wire type {wire}")


def _piece_type(buf: bytes, start: int, end: int) -> int:
    pos, kind = start, NORMAL
    while pos < end:
        key, pos = _varint(buf, pos)
        if key >> 3 == 3 and key & 7 == 0:
            kind, pos = _varint(buf, pos)
        else:
            pos = _skip(buf, pos, key & 7)
    return kind


def piece_types(model: bytes) -> np.ndarray:
    """int8 [vocab]: each piece's type (NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE),
    read from the serialized ModelProto without the generated protobuf module."""
    kinds: list[int] = []
    pos, end = 0, len(model)
    while pos < end:
        key, pos = _varint(model, pos)
        if key >> 3 == 1 and key & 7 == 2:
            length, pos = _varint(model, pos)
            kinds.append(_piece_type(model, pos, pos + length))
            pos += length
        else:
            pos = _skip(model, pos, key & 7)
    return np.asarray(kinds, dtype=np.int8)


@dataclass(frozen=True)
class NormalizerSpec:
    """The parts of ``ModelProto.normalizer_spec`` (field 3) that decide encoding."""

    name: str = ""
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True


def normalizer_spec(model: bytes) -> NormalizerSpec:
    """Read the normaliser settings from the serialized model (proto defaults when unset)."""
    pos, end = 0, len(model)
    while pos < end:
        key, pos = _varint(model, pos)
        if key >> 3 == 3 and key & 7 == 2:
            length, pos = _varint(model, pos)
            return _normalizer_fields(model, pos, pos + length)
        pos = _skip(model, pos, key & 7)
    return NormalizerSpec()


def _normalizer_fields(buf: bytes, pos: int, end: int) -> NormalizerSpec:
    values: dict = {}
    names = {3: "add_dummy_prefix", 4: "remove_extra_whitespaces", 5: "escape_whitespaces"}
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field in (1, 2) and wire == 2:
            length, pos = _varint(buf, pos)
            data = buf[pos : pos + length]
            pos += length
            if field == 1:
                values["name"] = data.decode("utf-8")
            else:
                values["precompiled_charsmap"] = bytes(data)
        elif field in names and wire == 0:
            flag, pos = _varint(buf, pos)
            values[names[field]] = bool(flag)
        else:
            pos = _skip(buf, pos, wire)
    return NormalizerSpec(**values)


def spm_word_rule(pieces: Sequence[str], kinds: np.ndarray) -> WordRule:
    """Word-start tables for SentencePiece pieces (see :mod:`vocab.base`)."""
    # <unk> stands for characters inside a word (``caf<unk>``) as often as for a word, so it
    # is treated like letters: a word start only after a bare ``▁``.
    own_word = np.isin(kinds, (CONTROL, USER_DEFINED, UNUSED))
    isolated = np.array(
        [
            bool(own) or is_symbolic(p.lstrip("▁")) or has_cjk(p)
            for p, own in zip(pieces, own_word, strict=True)
        ],
        dtype=bool,
    )
    marked = np.array([p.startswith("▁") for p in pieces], dtype=bool)
    bare = np.array([p == "▁" for p in pieces], dtype=bool) & (kinds == NORMAL)
    return WordRule(starts=marked | isolated, isolated=isolated, joins_next=bare)


def _load_processor(model: bytes):
    import sentencepiece as spm

    if not model:  # SentencePiece would load it, warn on stderr and hold no piece
        raise VocabError(
            "an empty file, not a SentencePiece model; train one with albert-data spm-train"
        )
    try:
        return spm.SentencePieceProcessor(model_proto=model)
    except (RuntimeError, OSError, TypeError) as err:
        reason = str(err).strip()
        if "ParseFromArray" in reason:  # SentencePiece quotes its own source line
            reason = f"{len(model):,} bytes that do not parse as one"
        raise VocabError(
            f"not a SentencePiece model ({reason}); give the PREFIX.model spm-train wrote"
        ) from None


def _read_model_file(path: str, digest: str) -> bytes:
    """The model bytes of :meth:`SentencePieceTokenizer.reading_model_file`'s file,
    checked against the SHA-256 taken when the run started."""
    try:
        with open(path, "rb") as fh:
            model = fh.read()
    except OSError as err:
        raise VocabError(
            f"{path}: cannot read the SentencePiece model ({err.strerror}); it must stay in place until the run ends"
        ) from None
    found = hashlib.sha256(model).hexdigest()
    if found != digest:
        raise VocabError(
            f"{path}: the SentencePiece model changed during the run (SHA-256 {digest[:12]}... at the start, {found[:12]}... now); leave it unchanged until the run ends and run again"
        )
    return model


def _ids_encoder(sp):
    """A one-sentence ``text → ids`` function for ``sp``.

    SentencePiece 0.2's ``EncodeAsIds`` re-resolves a dozen options in Python on every
    call (a sizeable share of encoding a short sentence); its pybind method takes them
    positionally. That method is used when it exists and agrees with ``EncodeAsIds`` on
    a probe, else the public call.
    """
    raw = getattr(getattr(sp, "_processor", None), "_EncodeAsIds", None)
    probe = "Probe 123, ünïcode — 中文 text."
    try:
        if raw is not None and raw(probe, False, 0, 0.0, False, False, False) == sp.EncodeAsIds(
            probe
        ):
            return lambda text: raw(text, False, 0, 0.0, False, False, False)
    except (TypeError, RuntimeError):
        pass
    return sp.EncodeAsIds


class SentencePieceTokenizer(Tokenizer):
    """A SentencePiece model held as bytes, so the tokenizer pickles without local paths.

    ``pre_segmentation`` must be what the model was trained with (the sidecar says);
    ``word_segmenter="jieba"`` aligns jieba words to pieces for Chinese whole-word masking.
    ``num_threads`` is SentencePiece's batch-encoding thread count.
    """

    kind = "sentencepiece"

    def __init__(
        self,
        model: bytes,
        *,
        normalizer: Normalizer | None = None,
        word_segmenter: str = "none",
        pre_segmentation: str = "none",
        num_threads: int = 1,
        path: str | None = None,
        lang: str | None = None,
    ):
        if pre_segmentation not in PRE_SEGMENTATIONS:
            raise VocabError(
                f"{path or 'model'}: unknown pre-segmentation {pre_segmentation!r}; "
                f"choose one of {', '.join(PRE_SEGMENTATIONS)}"
            )
        self._model = bytes(model)
        self.path = path
        self.lang = lang
        self.normalizer = normalizer
        self.word_segmenter = check_word_segmenter(word_segmenter)
        self.pre_segmentation = pre_segmentation
        self.num_threads = int(num_threads)
        self._sp = None
        self._model_file: tuple[str, str] | None = None  # see reading_model_file
        try:
            sp = self._processor()
        except VocabError as err:
            raise VocabError(f"{path or 'model'}: {err}") from None
        self.vocab_size = int(sp.get_piece_size())
        self._pieces = [sp.id_to_piece(i) for i in range(self.vocab_size)]
        self._index = {p: i for i, p in enumerate(self._pieces)}
        self._kinds = piece_types(self._model)
        if self._kinds.size != self.vocab_size:
            raise VocabError(f"{path or 'model'}: could not read the piece types of the model")
        self.special = resolve_special(self._index, path or "SentencePiece model")
        self._rule = spm_word_rule(self._pieces, self._kinds)
        self._segmenter = JiebaSegmenter() if self._needs_jieba() else None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> SentencePieceTokenizer:
        path = Path(path)
        try:
            model = path.read_bytes()
        except OSError as err:
            raise VocabError(
                f"{path}: cannot read the SentencePiece model ({err.strerror})"
            ) from None
        return cls(model, path=str(path), **kwargs)

    def _needs_jieba(self) -> bool:
        return self.word_segmenter == "jieba" or self.pre_segmentation == "jieba"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_sp"] = None
        state.pop("_ids", None)
        if state.get("_model_file") is not None:
            state["_model"] = None  # read back from the file (see reading_model_file)
        return state

    def __setstate__(self, state: dict) -> None:
        if state.get("_model") is None and state.get("_model_file") is not None:
            state = {**state, "_model": _read_model_file(*state["_model_file"])}
        self.__dict__.update(state)

    def reading_model_file(self) -> SentencePieceTokenizer:
        """This tokenizer, pickled with its model file's path and SHA-256 instead of the
        model's bytes, for processes on this machine (a local Beam run's workers).

        Beam compresses a DoFn with bzip2 each time it serialises it and expands it for
        each bundle processor: the model is ~0.3 MB of the ~0.44 MB a DoFn holding an 8k
        vocabulary pickles to (~0.8 MB of ~1 MB for ALBERT's 30k). Unpickling reads the
        file and refuses it if its bytes are no longer the model's. ``self`` is returned
        unchanged when the model was not read from a local file that still holds it."""
        path = self.path
        if not path or "://" in path:
            return self
        digest = hashlib.sha256(self._model).hexdigest()
        try:
            _read_model_file(path, digest)  # what a worker will do: the file holds the model
        except VocabError:
            return self
        twin = copy.copy(self)
        twin._model_file = (os.path.abspath(path), digest)
        return twin

    def _processor(self):
        if self._sp is None:
            self._sp = _load_processor(self._model)
        return self._sp

    def _encode_ids(self):
        encode = self.__dict__.get("_ids")
        if encode is None:
            encode = self._ids = _ids_encoder(self._processor())
        return encode

    @property
    def model_bytes(self) -> bytes:
        return self._model

    # -- encoding -----------------------------------------------------------------------

    def prepare(self, text: str) -> tuple[str, np.ndarray | None]:
        """The exact string SentencePiece sees (normalised, pre-segmented), and the jieba
        CJK word spans in it when pre-segmentation computed them."""
        if self.normalizer is not None:
            text = self.normalizer(text)
        if self.pre_segmentation == "jieba":
            return self._segmenter.presegment(text)
        return text, None

    def encode_flat(self, texts: Sequence[str]) -> FlatEncoding:
        prepared = [self.prepare(t) for t in texts]
        strings = [p[0] for p in prepared]
        sp = self._processor()
        if self.word_segmenter != "jieba":
            # Lists of ints flattened into one array: sentencepiece's out_type="numpy" costs
            # more per call on short batches, and on one thread a call per sentence costs
            # less CPU than a batch call (sentencepiece 0.2.x).
            if self.num_threads == 1:
                encode = self._encode_ids()
                lists = [encode(s) for s in strings]
            else:
                lists = sp.encode(strings, out_type=int, num_threads=self.num_threads)
            flat, lengths = flatten_ids(lists)
            return FlatEncoding(flat, self._rule.apply_flat(flat, lengths), lengths)
        maps = sp.encode(strings, out_type="offset_mapping", num_threads=self.num_threads)
        flat, lengths = flatten_ids([m["ids"] for m in maps])
        starts = self._rule.apply_flat(flat, lengths)
        spans = [self._segmenter.cjk_spans(t) if s is None else s for t, s in prepared]
        starts = align_batch(strings, [m["offsets"] for m in maps], lengths, starts, spans)
        return FlatEncoding(flat, self._rule.join_flat(flat, lengths, starts), lengths)

    # -- vocabulary ---------------------------------------------------------------------

    def id_to_piece(self, ids: int | Iterable[int] | np.ndarray) -> list[str]:
        return [self._pieces[i] for i in as_id_list(ids)]

    def piece_to_id(self, piece: str) -> int:
        return self._index.get(piece, self.special.unk)

    def regular_ids(self) -> np.ndarray:
        text_piece = np.isin(self._kinds, (NORMAL, USER_DEFINED))
        named = np.array([is_special_name(p) for p in self._pieces], dtype=bool)
        return np.flatnonzero(text_piece & ~named).astype(np.int32)

    def settings(self) -> dict:
        return {
            "normalization": normalization_dict(self.normalizer),
            "pre_segmentation": self.pre_segmentation,
            "word_segmenter": self.word_segmenter,
        }

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(b"sentencepiece\0")
        digest.update(self._model)
        digest.update(json.dumps(self.settings(), sort_keys=True).encode())
        return digest.hexdigest()

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "path": self.path,
            "vocab_size": self.vocab_size,
            "lang": self.lang,
            **self.settings(),
            "special": self.special.__dict__.copy(),
            "fingerprint": self.fingerprint(),
        }
