"""Loading a tokenizer: the composition of ``vocab`` (tokenizers) and ``normalize`` (text).

``make-pretraining``, ``inspect`` and the trainer call :func:`load_tokenizer`; it reads a
SentencePiece model's sidecar (``PREFIX.json``, written by ``spm-train``) so the text is
normalised exactly as the training sample was, and refuses an option that contradicts
it. For a model without a sidecar (e.g. Google's ``30k-clean.model``) the options say how
to normalise; ALBERT's own preprocessing of that model is lower-casing, accent stripping
and quote rewriting (``lower_case=True, strip_accents=True, rewrite_quotes=True``).

Chinese vocabularies get jieba word starts by default: a SentencePiece model whose sidecar
says ``lang: zh`` (or, without a sidecar, whose pieces are mostly CJK), or a WordPiece
vocabulary where single CJK characters make up at least a fifth of the entries (Google's
21 128-entry Chinese ``vocab.txt``).
"""

from __future__ import annotations

import os

from albert_data.errors import UserError
from albert_data.text.normalize import Normalization
from vocab.base import Tokenizer, VocabError
from vocab.chars import has_cjk
from vocab.sentencepiece_tokenizer import SentencePieceTokenizer
from vocab.sidecar import Sidecar, parse_sidecar, sidecar_path
from vocab.wordpiece import WordPieceTokenizer, cjk_share, parse_vocab_text

CHINESE_SHARE = 0.2
_NORMALIZATION_FLAGS = {
    "nfkc": "--nfkc/--no-nfkc",
    "lower_case": "--lower-case/--no-lower-case",
    "strip_accents": "--strip-accents/--keep-accents",
    "rewrite_quotes": "--rewrite-quotes/--no-rewrite-quotes",
}


def load_tokenizer(
    *,
    spm_model: str | None = None,
    vocab_file: str | None = None,
    do_lower_case: bool | None = None,
    word_segmenter: str | None = None,
    nfkc: bool | None = None,
    lower_case: bool | None = None,
    strip_accents: bool | None = None,
    rewrite_quotes: bool | None = None,
    num_threads: int = 1,
) -> Tokenizer:
    """A SentencePiece (``spm_model``) or WordPiece (``vocab_file``) tokenizer.

    ``None`` means "not given": the sidecar or the default decides. ``word_segmenter`` is
    ``"none"``, ``"jieba"`` or None (jieba for Chinese vocabularies). ``do_lower_case`` is
    BERT's flag; for SentencePiece it means ``lower_case``.
    """
    if (spm_model is None) == (vocab_file is None):
        raise UserError(
            "give exactly one vocabulary: --spm-model PREFIX.model or --vocab-file vocab.txt"
        )
    if word_segmenter not in (None, "none", "jieba"):
        raise UserError(f"--word-segmenter {word_segmenter!r} is not one of none, jieba")
    overrides = {
        "nfkc": nfkc,
        "lower_case": lower_case,
        "strip_accents": strip_accents,
        "rewrite_quotes": rewrite_quotes,
    }
    try:
        if spm_model is not None:
            if do_lower_case is not None:
                _merge_lower(overrides, do_lower_case)
            return _load_spm(str(spm_model), overrides, word_segmenter, num_threads)
        return _load_wordpiece(
            str(vocab_file), do_lower_case, overrides, word_segmenter, num_threads
        )
    except VocabError as err:
        raise UserError(str(err)) from None


def _merge_lower(overrides: dict, do_lower_case: bool) -> None:
    if overrides["lower_case"] is not None and overrides["lower_case"] != do_lower_case:
        raise UserError(
            f"--do-lower-case={do_lower_case} and --lower-case={overrides['lower_case']} disagree"
        )
    overrides["lower_case"] = do_lower_case


def _read_bytes(path: str, what: str) -> bytes:
    """A local or remote (``gs://``...) file's bytes; a missing one is a UserError."""
    from albert_data.files.fileio import exists, is_remote, open_raw

    if not (exists(path) if is_remote(path) else os.path.isfile(path)):
        raise UserError(f"{path}: no such {what} file; check the path")
    try:
        with open_raw(path) as f:
            return f.read()
    except OSError as err:
        raise UserError(f"{path}: cannot read the {what} ({err})") from None


def _read_sidecar(model_path: str) -> tuple[Sidecar | None, str]:
    from albert_data.files.fileio import exists, is_remote

    path = sidecar_path(model_path)
    if not (exists(path) if is_remote(path) else os.path.isfile(path)):
        return None, path
    try:
        text = _read_bytes(path, "sidecar").decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: unreadable sidecar ({err}); delete it or retrain") from None
    return parse_sidecar(text, path), path


def normalization_from_sidecar(sidecar: Sidecar, overrides: dict, source: str) -> Normalization:
    """The sidecar's normalisation; an override that differs from it is a UserError."""
    try:
        recorded = Normalization.from_dict(sidecar.normalization)
    except (TypeError, ValueError) as err:
        raise UserError(
            f"{source}: bad normalization record ({err}); retrain the vocabulary"
        ) from None
    for name, value in overrides.items():
        if value is not None and value != getattr(recorded, name):
            raise UserError(
                f"{source} records {name}={getattr(recorded, name)} but {_NORMALIZATION_FLAGS[name]} "
                f"asks for {name}={value}; drop the option (the vocabulary was trained that way) "
                f"or retrain with spm-train"
            )
    return recorded


def _load_spm(path: str, overrides: dict, word_segmenter: str | None, num_threads: int):
    model = _read_bytes(path, "SentencePiece model")
    sidecar, side_path = _read_sidecar(path)
    if sidecar is not None:
        normalizer = normalization_from_sidecar(sidecar, overrides, side_path)
        lang, pre_segmentation = sidecar.lang, sidecar.pre_segmentation
    else:
        defaults = Normalization()
        normalizer = Normalization(
            **{k: (getattr(defaults, k) if v is None else v) for k, v in overrides.items()}
        )
        lang, pre_segmentation = None, "none"

    def build(segmenter: str) -> SentencePieceTokenizer:
        return SentencePieceTokenizer(
            model,
            path=path,
            normalizer=normalizer,
            word_segmenter=segmenter,
            pre_segmentation=pre_segmentation,
            num_threads=num_threads,
            lang=lang,
        )

    if word_segmenter is None and lang is None:
        tokenizer = build("none")
        pieces = tokenizer.id_to_piece(range(tokenizer.vocab_size))
        if sum(map(has_cjk, pieces)) < CHINESE_SHARE * len(pieces):
            return tokenizer
        return build("jieba")
    return build(word_segmenter or ("jieba" if lang == "zh" else "none"))


def _load_wordpiece(
    path: str,
    do_lower_case: bool | None,
    overrides: dict,
    word_segmenter: str | None,
    num_threads: int,
):
    lower = overrides.pop("lower_case")
    if do_lower_case is None:
        do_lower_case = True if lower is None else lower
    elif lower is not None and lower != do_lower_case:
        raise UserError(f"--do-lower-case={do_lower_case} and --lower-case={lower} disagree")
    # BERT's basic tokenisation lower-cases and strips accents itself (when uncased); an
    # extra normaliser runs only when asked for.
    normalizer = None
    if any(v for v in overrides.values()):
        normalizer = Normalization(
            nfkc=bool(overrides["nfkc"]),
            lower_case=False,
            strip_accents=bool(overrides["strip_accents"]),
            rewrite_quotes=bool(overrides["rewrite_quotes"]),
        )
    try:
        pieces = parse_vocab_text(_read_bytes(path, "WordPiece vocabulary").decode("utf-8"))
    except UnicodeDecodeError as err:
        raise UserError(
            f"{path}: not a UTF-8 vocab.txt ({err.reason} at byte {err.start})"
        ) from None
    if word_segmenter is None:
        word_segmenter = "jieba" if cjk_share(pieces) >= CHINESE_SHARE else "none"
    return WordPieceTokenizer(
        pieces,
        path=path,
        do_lower_case=do_lower_case,
        normalizer=normalizer,
        word_segmenter=word_segmenter,
        num_threads=num_threads,
    )
