"""The --lang zh recipe: no SentencePiece dummy prefix, so that a bare ``▁`` (which the
prefix put before most Chinese sentences' first character) is not a token in every
sentence; English keeps ALBERT's recipe and its model bytes."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer

from albert_data.interop.hf_tokenizer import tokenizer_json
from albert_data.jobs.spm_train import SpmTrainRequest, run
from albert_data.text.tokenization import load_tokenizer
from tests.vocab_corpus import english_sentences, write_lines
from vocab.jieba_words import JiebaSegmenter
from vocab.sentencepiece_tokenizer import normalizer_spec
from vocab.spm_recipe import SpmRecipe, recipe_for

MIXED = [
    "GPU训练很快，周师傅笑着说。",
    "我们使用 Python 训练 BERT 模型。",
    "第 3 章介绍了 2019年 的 ALBERT 论文。",
    "albert模型在中文上也很好用！",
]


def lines_of(path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


@pytest.fixture(scope="module")
def zh_vocab(sample_zh, tmp_path_factory) -> str:
    prefix = tmp_path_factory.mktemp("zh-prefix") / "zh"
    recipe = recipe_for("zh", vocab_size=3000, hard_vocab_limit=False)
    run(
        SpmTrainRequest(
            inputs=(str(sample_zh["sentences"]),),
            model_prefix=str(prefix),
            recipe=recipe,
            lang="zh",
            num_threads=1,
            progress=False,
        )
    )
    return f"{prefix}.model"


def bare_share(tokenizer, lines: list[str]) -> float:
    pieces = tokenizer.id_to_piece(tokenizer.encode_flat(lines).ids)
    return sum(p == "▁" for p in pieces) / len(pieces)


def test_a_bare_metaspace_is_at_most_2_percent_of_chinese_tokens(zh_vocab, sample_zh):
    tokenizer = load_tokenizer(spm_model=zh_vocab)
    assert bare_share(tokenizer, lines_of(sample_zh["sentences"])) <= 0.02
    assert not normalizer_spec(tokenizer.model_bytes).add_dummy_prefix
    with open(zh_vocab[: -len(".model")] + ".json", encoding="utf-8") as fh:
        sidecar = json.load(fh)
    assert sidecar["recipe"]["add_dummy_prefix"] is False


def test_english_keeps_albert_recipe():
    assert recipe_for("en") == SpmRecipe()
    assert "add_dummy_prefix" not in SpmRecipe().trainer_options()  # model bytes as before
    assert recipe_for("zh").trainer_options()["add_dummy_prefix"] is False


def test_english_model_keeps_the_dummy_prefix(tmp_path):
    path = write_lines(tmp_path / "en.txt", english_sentences(300))
    run(
        SpmTrainRequest(
            inputs=(path,),
            model_prefix=str(tmp_path / "en"),
            recipe=SpmRecipe(vocab_size=200),
            num_threads=1,
            progress=False,
        )
    )
    assert normalizer_spec((tmp_path / "en.model").read_bytes()).add_dummy_prefix


def test_chinese_word_starts_follow_jieba_without_the_prefix(zh_vocab):
    tokenizer = load_tokenizer(spm_model=zh_vocab)  # jieba word starts for a zh vocabulary
    assert tokenizer.word_segmenter == "jieba"
    segmenter = JiebaSegmenter()
    for text in MIXED:
        encoding = tokenizer.encode(text)
        pieces = tokenizer.id_to_piece(encoding.ids)
        prepared = tokenizer.prepare(text)[0]
        assert "".join(pieces).replace("▁", " ") == prepared  # no "▁" the text lacks
        assert encoding.word_starts[0]
        # every jieba word holding an ideograph begins at a word start
        offsets, pos = [], 0
        for piece in pieces:
            offsets.append(pos)
            pos += len(piece)
        # a word start on a bare "▁" is the start of the word after it
        starts = {
            o + (p == "▁")
            for o, p, s in zip(offsets, pieces, encoding.word_starts, strict=True)
            if s
        }
        for word, begin, _ in segmenter.words(prepared):
            if any("\u4e00" <= ch <= "\u9fff" for ch in word) and begin in offsets:
                assert begin in starts, (text, word)


def test_tokenizer_json_gives_the_ids_of_the_records(zh_vocab, sample_zh):
    ours = load_tokenizer(spm_model=zh_vocab, word_segmenter="none")
    theirs = Tokenizer.from_str(tokenizer_json(ours))
    texts = lines_of(sample_zh["sentences"]) + MIXED
    bad = [
        t
        for t in texts
        if theirs.encode(t, add_special_tokens=False).ids != ours.encode(t).ids.tolist()
    ]
    assert bad == []
