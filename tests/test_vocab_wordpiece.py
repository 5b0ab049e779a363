"""WordPiece: BERT's tokenisation checked by hand on a vocabulary written here."""

from __future__ import annotations

import pickle

import pytest

from albert_data.errors import UserError
from albert_data.text.tokenization import load_tokenizer
from vocab.base import VocabError
from vocab.wordpiece import WordPieceTokenizer

VOCAB = [
    "[PAD]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>",
    "the", "un", "##aff", "##able", "hello", "##world", "world", "cafe", "Café",
    "token", "##ization", "a", "##b", "ο", "##δ", "##ος", "##οσ",
    ",", ".", "!", "'", "，", "don", "t", "1984", "19", "##84",
    "我", "爱", "北", "京", "天", "安", "门", "模", "型", "很", "好", "bert", "##s",
]  # fmt: skip


@pytest.fixture(scope="module")
def uncased() -> WordPieceTokenizer:
    return WordPieceTokenizer(VOCAB, do_lower_case=True)


def pieces(tk, text: str) -> list[str]:
    return tk.id_to_piece(tk.encode(text).ids)


def starts(tk, text: str) -> list[int]:
    return tk.encode(text).word_starts.astype(int).tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("UnAffable", ["un", "##aff", "##able"]),  # BERT's own docstring example
        ("Hello,World!", ["hello", ",", "world", "!"]),  # punctuation split
        ("helloworld", ["hello", "##world"]),  # greedy longest match first
        ("Café", ["cafe"]),  # lower-cased and accent-stripped
        ("ΟΔΟΣ.", ["ο", "##δ", "##ος", "."]),  # Python lower(): final sigma, as BERT
        ("abx", ["[UNK]"]),  # one uncovered piece makes the whole word [UNK]
        ("xyz the", ["[UNK]", "the"]),
        ("a" + "b" * 99, ["a"] + ["##b"] * 99),  # 100 characters: still tokenised
        ("a" + "b" * 100, ["[UNK]"]),  # 101 characters: [UNK]
        ("我爱北京", ["我", "爱", "北", "京"]),  # every CJK character its own token
        ("好bert模型", ["好", "bert", "模", "型"]),  # no spaces needed around CJK
        ("don't", ["don", "'", "t"]),
        ("1984 19 84", ["1984", "19", "[UNK]"]),
        ("hel\u200blo\x00 \tthe\ufffd", ["hello", "the"]),  # format/control chars removed
        ("好！", ["好", "[UNK]"]),  # full-width punctuation is split, then unknown
        ("", []),
    ],
)
def test_uncased_tokenisation(uncased, text, expected):
    assert pieces(uncased, text) == expected


def test_cased_keeps_case_and_accents():
    cased = WordPieceTokenizer(VOCAB, do_lower_case=False)
    assert pieces(cased, "Café cafe Hello") == ["Café", "cafe", "[UNK]"]


def test_word_starts_follow_double_hash(uncased):
    assert starts(uncased, "UnAffable the helloworld, bert's") == [1, 0, 0, 1, 1, 0, 1, 1, 1, 1]
    assert starts(uncased, "1984 我爱") == [1, 1, 1]


def test_jieba_word_starts_on_mixed_chinese_english():
    tk = WordPieceTokenizer(VOCAB, word_segmenter="jieba")
    text = "我爱北京天安门，BERT模型很好"
    assert pieces(tk, text) == list("我爱北京天安门，") + ["bert", "模", "型", "很", "好"]
    # jieba: 我 / 爱 / 北京 / 天安门 / ， / bert / 模型 / 很 / 好
    assert starts(tk, text) == [1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1]
    # Latin words keep their own (##) boundaries inside Chinese text
    assert pieces(tk, "tokenization模型") == ["token", "##ization", "模", "型"]
    assert starts(tk, "tokenization模型") == [1, 0, 1, 0]
    assert starts(tk, "好tokenization") == [1, 1, 0]


def test_special_and_regular_ids(uncased):
    assert uncased.special.__dict__ == {"pad": 0, "unk": 2, "cls": 3, "sep": 4, "mask": 5}
    regular = set(uncased.regular_ids().tolist())
    assert not regular & {0, 1, 2, 3, 4, 5, 6}  # specials, [unused1], <S>
    assert regular == set(range(7, len(VOCAB)))
    assert uncased.piece_to_id("the") == 7 and uncased.piece_to_id("nope") == 2


def test_missing_mask_is_named():
    with pytest.raises(VocabError, match=r"\[MASK\]"):
        WordPieceTokenizer([p for p in VOCAB if p != "[MASK]"], path="vocab.txt")


def test_pickle_and_fingerprint(uncased):
    copy = pickle.loads(pickle.dumps(uncased))
    assert pieces(copy, "UnAffable 我爱") == pieces(uncased, "UnAffable 我爱")
    assert copy.fingerprint() == uncased.fingerprint()
    assert WordPieceTokenizer(VOCAB, do_lower_case=False).fingerprint() != uncased.fingerprint()
    assert uncased.describe()["kind"] == "wordpiece"


def test_encode_batch_parallel_matches_single(uncased):
    texts = ["UnAffable the helloworld", "我爱北京天安门", "don't 1984", ""] * 10
    parallel = WordPieceTokenizer(VOCAB, num_threads=2)
    for a, b in zip(uncased.encode_batch(texts), parallel.encode_batch(texts), strict=True):
        assert a.ids.tolist() == b.ids.tolist()
        assert a.word_starts.tolist() == b.word_starts.tolist()


def test_load_tokenizer_defaults_jieba_for_chinese_vocab(tmp_path):
    zh = tmp_path / "zh.txt"
    zh.write_text("\n".join(VOCAB[:7] + [chr(0x4E00 + i) for i in range(200)]) + "\n")
    en = tmp_path / "en.txt"
    en.write_text("\n".join(VOCAB + [f"word{i}" for i in range(100)]) + "\n")
    assert load_tokenizer(vocab_file=str(zh)).describe()["word_segmenter"] == "jieba"
    assert load_tokenizer(vocab_file=str(en)).describe()["word_segmenter"] == "none"
    assert load_tokenizer(vocab_file=str(zh), word_segmenter="none").word_segmenter == "none"
    cased = load_tokenizer(vocab_file=str(en), do_lower_case=False)
    assert pieces(cased, "Café") == ["Café"]


def test_load_tokenizer_errors(tmp_path):
    with pytest.raises(UserError, match="missing.txt"):
        load_tokenizer(vocab_file=str(tmp_path / "missing.txt"))
    bad = tmp_path / "nomask.txt"
    bad.write_text("\n".join(p for p in VOCAB if p != "[MASK]") + "\n")
    with pytest.raises(UserError, match=r"\[MASK\]"):
        load_tokenizer(vocab_file=str(bad))
    with pytest.raises(UserError, match="exactly one"):
        load_tokenizer()


def test_jieba_batch_matches_one_by_one():
    tk = WordPieceTokenizer(VOCAB, word_segmenter="jieba")
    texts = ["我爱北京天安门，BERT模型很好", "", "helloworld", "北京", "好tokenization", "天安门"]
    for single, batched in zip(map(tk.encode, texts), tk.encode_batch(texts), strict=True):
        assert single.ids.tolist() == batched.ids.tolist()
        assert single.word_starts.tolist() == batched.word_starts.tolist()
