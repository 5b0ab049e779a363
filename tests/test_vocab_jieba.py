"""Jieba words aligned to tokens by character offsets, and jieba pre-segmentation."""

from __future__ import annotations

import pickle

import numpy as np

from vocab.jieba_words import JiebaSegmenter, align_word_starts


def align(text, spans_of_tokens, base, words):
    begins = np.array([b for b, _ in spans_of_tokens])
    ends = np.array([e for _, e in spans_of_tokens])
    return (
        align_word_starts(
            text, begins, ends, np.array(base, dtype=bool), np.array(words).reshape(-1, 2)
        )
        .astype(int)
        .tolist()
    )


def test_first_token_of_each_jieba_word_starts_it():
    text = "北京大学很好"  # words: 北京大学 (0, 4), 很 (4, 5), 好 (5, 6)
    tokens = [(0, 1), (1, 3), (3, 4), (4, 5), (5, 6)]
    assert align(text, tokens, [1, 1, 1, 1, 1], [(0, 4), (4, 5), (5, 6)]) == [1, 0, 0, 1, 1]


def test_token_crossing_a_word_boundary_swallows_the_next_word_start():
    text = "人民银行"  # words 人民 (0, 2), 银行 (2, 4); tokens 人民银 | 行
    assert align(text, [(0, 3), (3, 4)], [1, 1], [(0, 2), (2, 4)]) == [1, 0]


def test_latin_tokens_keep_their_own_starts():
    text = "模型tokenization很好"
    tokens = [(0, 1), (1, 2), (2, 7), (7, 14), (14, 15), (15, 16)]
    base = [1, 1, 1, 0, 1, 1]  # token / ##ization from the tokenizer's own rule
    words = [(0, 2), (14, 15), (15, 16)]
    assert align(text, tokens, base, words) == [1, 0, 1, 0, 1, 1]


def test_sentencepiece_offsets_that_include_the_space_before_a_word():
    text = "我们 北京"  # a ▁-piece's span starts at the space before the word
    tokens = [(0, 2), (2, 4), (4, 5)]  # ▁我们 | ▁北 | 京
    assert align(text, tokens, [1, 1, 1], [(0, 2), (3, 5)]) == [1, 1, 0]


def test_no_cjk_words_leaves_base_starts():
    assert align("abc", [(0, 1), (1, 3)], [1, 0], []) == [1, 0]


def test_words_and_spans():
    seg = JiebaSegmenter()
    text = "我爱北京天安门，BERT模型"
    words = [w for w, _, _ in seg.words(text)]
    assert words == ["我", "爱", "北京", "天安门", "，", "BERT", "模型"]
    assert seg.cjk_spans(text).tolist() == [[0, 1], [1, 2], [2, 4], [4, 7], [12, 14]]
    assert seg.cjk_spans("plain English").shape == (0, 2)


def test_presegment_spaces_only_around_chinese_words():
    seg = JiebaSegmenter()
    text, spans = seg.presegment("我爱北京天安门，BERT模型 café naïve")
    assert text == "我 爱 北京 天安门 ，BERT 模型 café naïve"
    assert [text[s:e] for s, e in spans.tolist()] == ["我", "爱", "北京", "天安门", "模型"]
    assert seg.presegment("no chinese here")[0] == "no chinese here"


def test_segmenter_pickles_without_the_dictionary():
    seg = JiebaSegmenter()
    seg.words("北京")
    copy = pickle.loads(pickle.dumps(seg))
    assert copy._tk is None
    assert [w for w, _, _ in copy.words("北京大学")] == ["北京大学"]
