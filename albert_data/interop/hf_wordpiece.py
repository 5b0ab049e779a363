"""The Hugging Face tokenizer files for a WordPiece vocabulary (BERT's ``vocab.txt``).

Written by the Hugging Face export for a model pretrained on records made with
``make-pretraining --vocab-file`` (e.g. the 21 128-entry Chinese ``vocab.txt`` of
brightmart's albert_zh models and of ``albert_chinese_*`` on the Hugging Face hub), so
that ``AutoTokenizer`` loads it and encodes exactly as :class:`vocab.wordpiece.
WordPieceTokenizer` does:

1. the optional extra :class:`~albert_data.text.normalize.Normalization` recorded by
   ``make-pretraining`` (NFKC, accents, quotes; off by default);
2. when uncased, Python's ``str.lower`` (with the Greek final sigma), NFD and removal of
   the non-spacing marks (Unicode category Mn), as BERT's basic tokenizer;
3. BERT's cleaning and CJK splitting (``BertNormalizer`` without case or accent steps),
   whitespace and punctuation splitting, and WordPiece (``##`` continuations, ``[UNK]``
   for a word longer than 100 characters or that cannot be covered);
4. ``[CLS] A [SEP] B [SEP]`` with segment ids 0 and 1.

``tokenizer_config.json`` names ``BertTokenizerFast`` when BERT's own tokenizer is the
same tokenizer: ``transformers`` 5 rebuilds that class's normaliser from
``do_lower_case`` instead of reading ``tokenizer.json``, and its per-character
lower-casing maps a final ``Σ`` to ``σ`` where Python writes ``ς``. So for a vocabulary
holding ``σ`` or ``ς`` (uncased), or with an extra normalisation, the generic
``PreTrainedTokenizerFast`` is named instead, which loads ``tokenizer.json`` as written.

As for the SentencePiece export, the literal strings of the special tokens (``[CLS]``,
``[SEP]``, ``[MASK]``, ``[PAD]``, ``[UNK]``) in text are those tokens, as ``transformers``
users expect, where our tokenizer splits them at the brackets.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache

from albert_data.errors import UserError
from albert_data.interop.hf_tokenizer import (
    _FINAL_SIGMA,
    _char_class,
    _our_normalizers,
    special_added_tokens,
)
from albert_data.text.normalize import Normalization
from vocab.wordpiece import MAX_INPUT_CHARS_PER_WORD, WordPieceTokenizer

BERT_CLASS = "BertTokenizerFast"
GENERIC_CLASS = "PreTrainedTokenizerFast"
_SIGMAS = ("σ", "ς")


@lru_cache(maxsize=1)
def _nonspacing_marks() -> str:
    return _char_class(cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Mn")


def _pieces(tokenizer: WordPieceTokenizer) -> list[str]:
    return tokenizer.id_to_piece(range(tokenizer.vocab_size))


def _extra_normalization(tokenizer: WordPieceTokenizer) -> Normalization | None:
    extra = tokenizer.normalizer
    if extra is not None and not isinstance(extra, Normalization):
        where = tokenizer.path or "the WordPiece vocabulary"
        raise UserError(f"{where}: a custom normaliser cannot be written to tokenizer.json")
    return extra


def _normalizer(tokenizer: WordPieceTokenizer):
    from tokenizers import Regex, normalizers

    extra = _extra_normalization(tokenizer)
    steps = _our_normalizers(extra) if extra is not None else []
    if tokenizer.do_lower_case:
        steps += [
            normalizers.Replace(Regex(_FINAL_SIGMA), "ς"),
            normalizers.Lowercase(),
            normalizers.NFD(),
            normalizers.Replace(Regex(_nonspacing_marks()), ""),
        ]
    steps.append(
        normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
        )
    )
    return normalizers.Sequence(steps)


def wordpiece_tokenizer_json(tokenizer: WordPieceTokenizer) -> str:
    """The ``tokenizer.json`` text reproducing ``tokenizer`` (see the module docstring)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    pieces = _pieces(tokenizer)
    index = {p: i for i, p in enumerate(pieces)}  # the last duplicate wins, as ours
    special = tokenizer.special
    out = Tokenizer(
        models.WordPiece(
            vocab={p: i for p, i in index.items() if p},
            unk_token=pieces[special.unk],
            max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD,
            continuing_subword_prefix="##",
        )
    )
    out.normalizer = _normalizer(tokenizer)
    out.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    out.decoder = decoders.WordPiece(prefix="##")
    cls, sep = pieces[special.cls], pieces[special.sep]
    out.post_processor = TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, special.cls), (sep, special.sep)],
    )
    data = json.loads(out.to_str())
    data["added_tokens"] = special_added_tokens(special, pieces.__getitem__)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def bert_class_difference(tokenizer: WordPieceTokenizer) -> str | None:
    """Why ``BertTokenizerFast`` (rebuilt from ``do_lower_case`` by transformers 5) would not
    encode as ``tokenizer``; None when it does."""
    if _extra_normalization(tokenizer) is not None:
        return (
            f"the records were made with the extra normalisation {tokenizer.normalizer.describe()}"
        )
    if tokenizer.do_lower_case:
        holding = [p for p in _pieces(tokenizer) if any(s in p for s in _SIGMAS)]
        if holding:
            return f"the vocabulary holds {holding[0]!r}, and BertTokenizerFast lower-cases a final Σ to σ"
    return None


def wordpiece_tokenizer_config(tokenizer: WordPieceTokenizer, *, model_max_length: int) -> dict:
    """``tokenizer_config.json``: the class (see :func:`bert_class_difference`), the case
    setting and the special tokens by name."""
    pieces = _pieces(tokenizer)
    special = tokenizer.special
    exact_bert = bert_class_difference(tokenizer) is None
    return {
        "tokenizer_class": BERT_CLASS if exact_bert else GENERIC_CLASS,
        "do_lower_case": tokenizer.do_lower_case,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
        "model_max_length": model_max_length,
        "unk_token": pieces[special.unk],
        "sep_token": pieces[special.sep],
        "pad_token": pieces[special.pad],
        "cls_token": pieces[special.cls],
        "mask_token": pieces[special.mask],
        "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
    }


def vocab_txt(tokenizer: WordPieceTokenizer) -> str:
    """``vocab.txt`` as the tokenizer reads it: one piece a line, the line number the id."""
    return "".join(p + "\n" for p in _pieces(tokenizer))
