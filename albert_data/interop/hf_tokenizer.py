"""A Hugging Face ``tokenizer.json`` equivalent to a SentencePiece tokenizer of ours.

Written next to ``spiece.model`` by the Hugging Face export, so that ``transformers``
loads a fast tokenizer directly instead of converting ``spiece.model`` itself (which
needs a protobuf runtime at least as new as the one its generated code was built with,
and fails next to TensorFlow's). It reproduces, step by step:

1. our :class:`~albert_data.text.normalize.Normalization` (NFKC, removal of control and
   format characters, whitespace runs to one space, then quotes, accents, case as the
   vocabulary's sidecar records);
2. SentencePiece's own normalisation (the model's precompiled character map), its
   whitespace clean-up and the ``▁`` prefix;
3. the unigram model with the same pieces and scores, ``<unk>`` and ALBERT's
   ``[CLS] A [SEP] B [SEP]`` template with segment ids 0 and 1.

Models trained with jieba pre-segmentation have no ``tokenizers`` equivalent of the
segmentation itself. For them the ``tokenizer.json`` written (``presegmented=True``) is the
rest of the pipeline, for text pre-segmented with
:class:`albert_data.interop.jieba_presegment.JiebaPreSegmenter` first.

Two deliberate or unavoidable differences remain: the literal strings of the special
tokens (``[CLS]``, ``[SEP]``, ``[MASK]``, ``<pad>``, ``<unk>``) in text are those tokens,
as ``transformers`` users expect (``fill-mask`` writes ``[MASK]``), where SentencePiece
spells them out; and characters whose NFKC or lower-case mapping changed between
Python's Unicode version and the one ``tokenizers`` was built with (a few dozen, such
as U+32FF) normalise differently.
"""

from __future__ import annotations

import json
import unicodedata

from albert_data.errors import UserError
from albert_data.text.normalize import (
    REMOVED_CHARACTERS,
    WHITESPACE,
    Normalization,
    codepoint_runs,
)
from vocab.sentencepiece_tokenizer import SentencePieceTokenizer, normalizer_spec

# Unicode's Final_Sigma context, with up to two case-ignorable characters between the
# cased letter and the sigma (the lookbehind must have a fixed length).
_FINAL_SIGMA = (
    r"(?<=\p{Cased}|\p{Cased}\p{Case_Ignorable}|\p{Cased}\p{Case_Ignorable}\p{Case_Ignorable})"
    r"Σ(?!\p{Case_Ignorable}*\p{Cased})"
)
_COMBINING = [cp for cp in range(0x30000) if unicodedata.combining(chr(cp))]


def _char_class(codepoints) -> str:
    """An Oniguruma character class matching exactly ``codepoints``."""
    body = "".join(
        f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}"
        for lo, hi in codepoint_runs(codepoints)
    )
    return f"[{body}]"


def _our_normalizers(normalization: Normalization):
    from tokenizers import Regex, normalizers

    steps = []
    if normalization.nfkc:
        steps.append(normalizers.NFKC())
    steps += [
        normalizers.Replace(Regex(_char_class(REMOVED_CHARACTERS)), ""),
        normalizers.Replace(Regex(_char_class(map(ord, WHITESPACE)) + "+"), " "),
        normalizers.Strip(),
    ]
    if normalization.rewrite_quotes:
        steps += [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
    if normalization.strip_accents:
        # As strip_accents(): NFKD, then drop what has a non-zero combining class
        # (tokenizers' StripAccents drops every mark, Devanagari vowel signs too).
        steps += [normalizers.NFKD(), normalizers.Replace(Regex(_char_class(_COMBINING)), "")]
    if normalization.lower_case:
        # str.lower() gives a capital sigma at a word's end its final form; Lowercase()
        # maps character by character, so that case is rewritten first.
        steps += [normalizers.Replace(Regex(_FINAL_SIGMA), "ς"), normalizers.Lowercase()]
    return steps


def tokenizer_json(tokenizer: SentencePieceTokenizer, *, presegmented: bool = False) -> str:
    """The ``tokenizer.json`` text; a :class:`UserError` when none can be equivalent.

    ``presegmented``: for a model trained with pre-segmentation, the tokenizer of text
    already pre-segmented (without it such a model is refused)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    where = tokenizer.path or "the SentencePiece model"
    if tokenizer.pre_segmentation != "none" and not presegmented:
        raise UserError(
            f"{where}: trained with {tokenizer.pre_segmentation} pre-segmentation, which a tokenizer.json cannot express"
        )
    normalization = tokenizer.normalizer
    if normalization is not None and not isinstance(normalization, Normalization):
        raise UserError(f"{where}: a custom normaliser cannot be written to tokenizer.json")
    spec = normalizer_spec(tokenizer.model_bytes)
    sp = tokenizer._processor()
    vocab = [(sp.id_to_piece(i), float(sp.get_score(i))) for i in range(tokenizer.vocab_size)]
    steps = _our_normalizers(normalization) if normalization is not None else []
    if spec.precompiled_charsmap:
        steps.append(normalizers.Precompiled(spec.precompiled_charsmap))
    if spec.remove_extra_whitespaces:
        steps += [normalizers.Strip(), normalizers.Replace(Regex(" {2,}"), " ")]
    out = Tokenizer(models.Unigram(vocab, unk_id=tokenizer.special.unk, byte_fallback=False))
    out.normalizer = normalizers.Sequence(steps)
    prepend = "always" if spec.add_dummy_prefix else "never"
    out.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=prepend)
    out.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=prepend)
    special = tokenizer.special
    out.post_processor = TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", special.cls), ("[SEP]", special.sep)],
    )
    data = json.loads(out.to_str())
    # Control symbols are whole tokens in text, as SentencePiece treats them.
    data["added_tokens"] = special_added_tokens(special, lambda i: vocab[i][0])
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def special_added_tokens(special, piece) -> list[dict]:
    """``tokenizer.json``'s ``added_tokens``: the special ids (pad, unk, [CLS], [SEP],
    [MASK]) as whole, unnormalised tokens; ``piece(id)`` gives each one's text."""
    return [
        {
            "id": i,
            "content": piece(i),
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i in sorted({special.pad, special.unk, special.cls, special.sep, special.mask})
    ]
