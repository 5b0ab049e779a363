"""The tokenizer files of the Hugging Face export, for either vocabulary style.

* SentencePiece (``--spm-model``): ``spiece.model``, ``tokenizer.json``
  (:mod:`~albert_data.interop.hf_tokenizer`) and ``tokenizer_config.json``; lower-casing
  and accents as the model's sidecar records. A model trained with jieba
  pre-segmentation also gets ``albert_data_presegmentation.json`` for
  :class:`~albert_data.interop.jieba_presegment.JiebaPreSegmenter`.
* WordPiece (``--vocab-file``): ``vocab.txt``, ``tokenizer.json`` and
  ``tokenizer_config.json`` (:mod:`~albert_data.interop.hf_wordpiece`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from albert_data.errors import UserError
from albert_data.text.normalize import Normalization


@dataclass(frozen=True)
class TokenizerFiles:
    """File name → bytes for the Hugging Face directory, and lines for the user."""

    files: dict[str, bytes] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def spm_options(spm_model: str, do_lower_case: bool | None) -> tuple[dict, list[str]]:
    """The Hugging Face tokenizer settings for ``spm_model`` (``do_lower_case``,
    ``keep_accents``, ``normalization``, ``pre_segmentation``): what its sidecar records,
    an explicit ``do_lower_case`` winning with a warning when they disagree."""
    from vocab.base import VocabError
    from vocab.sidecar import read_sidecar, sidecar_path

    try:
        sidecar = read_sidecar(spm_model)
    except VocabError as err:
        raise UserError(str(err)) from None
    if sidecar is None:
        # What every other command assumes for a vocabulary without a sidecar.
        lower = Normalization().lower_case if do_lower_case is None else do_lower_case
        options = {"keep_accents": True, "pre_segmentation": "none"}
        return {
            **options,
            "do_lower_case": lower,
            "normalization": Normalization(lower_case=lower),
        }, []
    recorded = Normalization.from_dict(sidecar.normalization)
    warnings = []
    if do_lower_case is not None and do_lower_case != recorded.lower_case:
        flag = "--do-lower-case" if do_lower_case else "--no-do-lower-case"
        warnings.append(
            f"warning: {flag} overrides {sidecar_path(spm_model)} (lower_case={recorded.lower_case}); the exported tokenizer will not normalise text as the vocabulary was trained"
        )
    lower = recorded.lower_case if do_lower_case is None else do_lower_case
    options = {
        "do_lower_case": lower,
        "keep_accents": not recorded.strip_accents,
        "normalization": dataclasses.replace(recorded, lower_case=lower),
        "pre_segmentation": sidecar.pre_segmentation,
    }
    return options, warnings


def _spm_config(options: dict, model_max_length: int) -> dict:
    return {
        "tokenizer_class": "AlbertTokenizer",
        "do_lower_case": options["do_lower_case"],
        "keep_accents": options["keep_accents"],
        "remove_space": True,
        "model_max_length": model_max_length,
        "bos_token": "[CLS]",
        "eos_token": "[SEP]",
        "unk_token": "<unk>",
        "sep_token": "[SEP]",
        "pad_token": "<pad>",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }


def sentencepiece_files(
    spm_model: str, *, do_lower_case: bool | None, model_max_length: int, hf_dir: str = "DIR"
) -> TokenizerFiles:
    """``spiece.model``, ``tokenizer.json``, ``tokenizer_config.json`` (and the
    pre-segmentation record); ``hf_dir`` is where they will be, named in the notes."""
    from albert_data.interop.hf_tokenizer import tokenizer_json
    from albert_data.interop.jieba_presegment import PRESEGMENTATION_FILE, presegmentation_record
    from vocab.sentencepiece_tokenizer import SentencePieceTokenizer

    options, notes = spm_options(spm_model, do_lower_case)
    with open(spm_model, "rb") as f:
        model = f.read()
    tokenizer = SentencePieceTokenizer(
        model,
        path=spm_model,
        normalizer=options["normalization"],
        pre_segmentation=options["pre_segmentation"],
    )
    files = {"spiece.model": model}
    config = _spm_config(options, model_max_length)
    presegmented = options["pre_segmentation"] == "jieba"
    try:
        files["tokenizer.json"] = tokenizer_json(tokenizer, presegmented=presegmented).encode()
    except UserError as err:
        notes.append(f"note: no tokenizer.json written: {err}")
    else:
        # The generic fast class loads tokenizer.json as written; AlbertTokenizer would
        # rebuild its own normaliser (no NFKC, no control-character removal).
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config["model_input_names"] = ["input_ids", "token_type_ids", "attention_mask"]
    if presegmented:
        record = presegmentation_record(options["normalization"])
        files[PRESEGMENTATION_FILE] = _json_bytes(record)
        notes.append(
            f'note: {spm_model} was trained on jieba-pre-segmented text, which a tokenizer.json cannot reproduce: pre-segment every text with albert_data.interop.jieba_presegment.JiebaPreSegmenter.from_pretrained("{hf_dir}") before calling the tokenizer (README: Fine-tuning the export)'
        )
    files["tokenizer_config.json"] = _json_bytes(config)
    return TokenizerFiles(files, tuple(notes))


def wordpiece_files(tokenizer, *, model_max_length: int) -> TokenizerFiles:
    """``vocab.txt``, ``tokenizer.json``, ``tokenizer_config.json`` for a
    :class:`~vocab.wordpiece.WordPieceTokenizer`."""
    from albert_data.interop.hf_wordpiece import (
        bert_class_difference,
        vocab_txt,
        wordpiece_tokenizer_config,
        wordpiece_tokenizer_json,
    )

    config = wordpiece_tokenizer_config(tokenizer, model_max_length=model_max_length)
    files = {
        "vocab.txt": vocab_txt(tokenizer).encode("utf-8"),
        "tokenizer.json": wordpiece_tokenizer_json(tokenizer).encode("utf-8"),
        "tokenizer_config.json": _json_bytes(config),
    }
    notes = []
    difference = bert_class_difference(tokenizer)
    if difference:
        notes.append(
            f"note: tokenizer_config.json names {config['tokenizer_class']} (AutoTokenizer loads tokenizer.json as written) rather than BertTokenizerFast, which transformers 5 rebuilds from do_lower_case: {difference}"
        )
    return TokenizerFiles(files, tuple(notes))
