"""The exported tokenizer.json encodes exactly as our SentencePiece tokenizer does,
checked with the real ``tokenizers`` library on the sample corpora and on text made to
stress every normalisation step."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

from albert_data.errors import UserError
from albert_data.interop.hf_tokenizer import tokenizer_json
from albert_data.text.normalize import Normalization
from tests.cli_helpers import invoke
from vocab.sentencepiece_tokenizer import SentencePieceTokenizer, normalizer_spec

NOISE = [
    "(", ")", '"', "-", ".", "–", "£", "€", "  ", "\t", "\u200b", "\u00a0", "\u3000",
    "\u2028", "é", "e\u0301", "Å", "Ａｂ", "ﬁ", "½", "Ключ", "🙂", "``", "''", "\x07",
    "\x1c", "中文", "ß", "İ", "ǅ", "\ufeff", "  \n ", "42.5", "x-y", "£3", "...", "ℌ", "ΟΔΟΣ ΟΣ", "Ⅻ", "ǈ",
]  # fmt: skip


def stressed(lines: list[str], seed: int, count: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        words = str(rng.choice(lines)).split(" ")
        for _ in range(int(rng.integers(1, 6))):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(NOISE)))
        glue = [" " if rng.random() < 0.8 else "" for _ in words]
        out.append("".join(w + g for w, g in zip(words, glue)))
    return out


def mismatches(ours: SentencePieceTokenizer, theirs: Tokenizer, texts: list[str]) -> list:
    bad = []
    for text in texts:
        want = ours.encode(text).ids.tolist()
        got = theirs.encode(text, add_special_tokens=False).ids
        if want != got:
            bad.append((text, want, got))
    return bad


def lines_of(path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


@pytest.mark.parametrize(
    "normalization",
    [
        Normalization(),
        Normalization(lower_case=False),
        Normalization(strip_accents=True, rewrite_quotes=True),
        Normalization(nfkc=False, lower_case=False),
    ],
    ids=["lower", "cased", "accents-quotes", "no-nfkc"],
)
def test_same_ids_as_ours_on_sample_and_stress_text(sample_en, normalization):
    model = sample_en["spm"].read_bytes()
    ours = SentencePieceTokenizer(model, normalizer=normalization)
    theirs = Tokenizer.from_str(tokenizer_json(ours))
    lines = lines_of(sample_en["sentences"])
    texts = lines + stressed(lines, seed=len(str(normalization)), count=2000)
    assert mismatches(ours, theirs, texts) == []


def test_chinese_without_pre_segmentation(sample_zh, tmp_path):
    prefix = tmp_path / "zh"
    invoke(
        "spm-train",
        sample_zh["sentences"],
        "--model-prefix",
        prefix,
        "--vocab-size",
        3000,
        "--no-hard-vocab-limit",
        "--lang",
        "zh",
    )
    ours = SentencePieceTokenizer.from_file(
        tmp_path / "zh.model", normalizer=Normalization(lower_case=True)
    )
    theirs = Tokenizer.from_str(tokenizer_json(ours))
    lines = lines_of(sample_zh["sentences"])
    assert mismatches(ours, theirs, lines + stressed(lines, seed=7, count=1000)) == []


def test_template_specials_and_round_trip(sample_en):
    ours = SentencePieceTokenizer(sample_en["spm"].read_bytes(), normalizer=Normalization())
    data = json.loads(tokenizer_json(ours))
    assert data["model"]["type"] == "Unigram" and data["model"]["unk_id"] == 1
    assert len(data["model"]["vocab"]) == ours.vocab_size
    theirs = Tokenizer.from_str(json.dumps(data))
    enc = theirs.encode("First part.", "Second part.")
    sp = ours.special
    assert enc.ids[0] == sp.cls and enc.ids.count(sp.sep) == 2 and enc.ids[-1] == sp.sep
    first_sep = enc.ids.index(sp.sep)
    assert enc.type_ids == [0] * (first_sep + 1) + [1] * (len(enc.ids) - first_sep - 1)
    assert enc.ids[1:first_sep] == ours.encode("First part.").ids.tolist()
    # A literal [MASK] is the mask token (what fill-mask relies on).
    assert sp.mask in theirs.encode("the [MASK] sat", add_special_tokens=False).ids
    assert (
        theirs.decode(ours.encode("hello world").ids.tolist(), skip_special_tokens=True)
        == "hello world"
    )


def test_normalizer_spec_is_read_from_the_model(sample_en):
    spec = normalizer_spec(sample_en["spm"].read_bytes())
    assert spec.name == "nmt_nfkc" and len(spec.precompiled_charsmap) > 1000
    assert spec.add_dummy_prefix and spec.remove_extra_whitespaces


def test_jieba_pre_segmentation_is_refused(sample_zh):
    ours = SentencePieceTokenizer.from_file(sample_zh["spm"], pre_segmentation="jieba")
    with pytest.raises(UserError, match="jieba pre-segmentation"):
        tokenizer_json(ours)


POOL = [
    "Σ", "ΟΔΟΣ", "Άλφα", "'", ".", "\u0301", "\u00ad", "किताब", "ि", "\u094d", "Ключ",
    "Ꭰ", "ǅ", "İ", "ß", "ﬃ", "Ａ", "①", "½", "\u3000", "\u2028", "\x1c", "\x85", "\u200d",
    "\ufeff", " ", "  ", "\t", "café", "e\u0301", "ñ", "Ω", "中文", "テスト", "ｶ", "``", "''",
    "🙂", "x", "Z", "9",
]  # fmt: skip


@pytest.mark.parametrize(
    "normalization",
    [
        Normalization(),
        Normalization(strip_accents=True, rewrite_quotes=True),
        Normalization(nfkc=False),
    ],
    ids=["lower", "accents-quotes", "no-nfkc"],
)
def test_normalisation_steps_match_ours_character_for_character(normalization):
    from tokenizers import normalizers

    from albert_data.interop.hf_tokenizer import _our_normalizers

    theirs = normalizers.Sequence(_our_normalizers(normalization))
    rng = np.random.default_rng(11)
    for _ in range(5000):
        text = "".join(rng.choice(POOL, size=int(rng.integers(1, 8))))
        assert theirs.normalize_str(text) == normalization(text), repr(text)
