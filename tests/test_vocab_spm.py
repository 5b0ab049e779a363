"""SentencePiece tokenizer: ALBERT's recipe, word starts, normalisation, pickling (real SentencePiece)."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import sentencepiece as spm

from albert_data.text.normalize import Normalization
from tests.vocab_corpus import chinese_sentences, english_sentences
from vocab.base import VocabError
from vocab.jieba_words import JiebaSegmenter
from vocab.sentencepiece_tokenizer import (
    BYTE,
    CONTROL,
    NORMAL,
    UNKNOWN,
    USER_DEFINED,
    SentencePieceTokenizer,
    piece_types,
)
from vocab.spm_recipe import (
    ALBERT_USER_SYMBOLS,
    CHARACTER_COVERAGE,
    SpmRecipe,
    VocabSizeTooLarge,
    VocabSizeTooSmall,
    train_spm,
)

NORM = Normalization(lower_case=True, strip_accents=True)


@pytest.fixture(scope="module")
def en_model() -> bytes:
    sentences = [NORM(s) for s in english_sentences(800, seed=1)]
    return train_spm(sentences, SpmRecipe(vocab_size=300))


@pytest.fixture(scope="module")
def en(en_model) -> SentencePieceTokenizer:
    return SentencePieceTokenizer(en_model, normalizer=NORM)


@pytest.fixture(scope="module")
def zh_presegmented() -> SentencePieceTokenizer:
    seg = JiebaSegmenter()
    sentences = [seg.presegment(NORM(s))[0] for s in chinese_sentences(600, seed=2)]
    recipe = SpmRecipe(vocab_size=200, character_coverage=CHARACTER_COVERAGE["zh"])
    return SentencePieceTokenizer(
        train_spm(sentences, recipe),
        normalizer=NORM,
        pre_segmentation="jieba",
        word_segmenter="jieba",
    )


def words_of(tokenizer, encoding) -> list[str]:
    """Join each word's pieces (▁ removed): what whole-word masking would mask together."""
    pieces = tokenizer.id_to_piece(encoding.ids)
    words: list[str] = []
    for piece, start in zip(pieces, encoding.word_starts, strict=True):
        if start or not words:
            words.append("")
        words[-1] += piece.replace("▁", "")
    return words


def test_recipe_special_ids_and_no_bos_eos(en_model):
    sp = spm.SentencePieceProcessor(model_proto=en_model)
    assert [sp.id_to_piece(i) for i in range(5)] == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert sp.bos_id() == -1 and sp.eos_id() == -1 and sp.pad_id() == 0 and sp.unk_id() == 1
    assert all(sp.is_control(i) for i in (0, 2, 3, 4)) and sp.is_unknown(1)
    assert sp.get_piece_size() == 300


def test_user_symbols_are_single_pieces(en):
    for symbol in ALBERT_USER_SYMBOLS:
        ids = en.encode(f"word{symbol}word").ids
        assert en.piece_to_id(symbol) in ids, symbol
    assert en.id_to_piece(en.encode("(£5)").ids)[-4:] == ["(", "£", "5", ")"]


def test_piece_types_read_from_model_bytes(en_model):
    kinds = piece_types(en_model)
    sp = spm.SentencePieceProcessor(model_proto=en_model)
    assert kinds.size == sp.get_piece_size()
    assert list(kinds[:5]) == [CONTROL, UNKNOWN, CONTROL, CONTROL, CONTROL]
    assert list(kinds[5 : 5 + len(ALBERT_USER_SYMBOLS)]) == [USER_DEFINED] * len(
        ALBERT_USER_SYMBOLS
    )
    assert set(kinds[5 + len(ALBERT_USER_SYMBOLS) :]) <= {NORMAL, BYTE}


def test_special_and_regular_ids(en):
    assert en.special.__dict__ == {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
    regular = en.regular_ids()
    assert regular.dtype == np.int32 and not set(range(5)) & set(regular.tolist())
    assert en.piece_to_id("(") in regular and en.piece_to_id("▁the") in regular
    assert regular.size == en.vocab_size - 5


def test_normalisation_applied_identically_at_train_and_encode_time(en):
    # trained on lower-cased, accent-stripped text: no piece holds an upper-case letter or accent
    pieces = en.id_to_piece(range(en.vocab_size))
    assert not any(re.search(r"[A-ZÀ-ÿ]", p) for p in pieces if not p.startswith(("<", "[")))
    same = ["Café RÉSUMÉ naïve", "cafe resume naive", "ＣＡＦＥ resume naive"]
    encoded = [en.encode(t).ids.tolist() for t in same]
    assert encoded[0] == encoded[1] == encoded[2]
    assert en.piece_to_id("<unk>") not in encoded[0]


def test_word_starts_english(en):
    text = "The café owner (Zürich) described 1984 results – indeed £20 state-of-the-art!"
    enc = en.encode(text)
    assert enc.word_starts.dtype == bool and enc.word_starts.shape == enc.ids.shape
    # letters and digits group into words; punctuation and symbols are words of their own
    expected = re.findall(r"[^\W_]+|[^\w\s]", NORM(text))
    assert words_of(en, enc) == expected


def test_word_starts_first_token_and_empty_text(en):
    assert en.encode("results").word_starts[0]
    empty = en.encode("")
    assert empty.ids.size == 0 and empty.word_starts.size == 0 and empty.ids.dtype == np.int32


def test_encode_batch_matches_encode_and_threads(en):
    texts = english_sentences(50, seed=9)
    single = [en.encode(t) for t in texts]
    threaded = SentencePieceTokenizer(en.model_bytes, normalizer=NORM, num_threads=2)
    for batch in (en.encode_batch(texts), threaded.encode_batch(texts)):
        for a, b in zip(single, batch, strict=True):
            assert a.ids.tolist() == b.ids.tolist()
            assert a.word_starts.tolist() == b.word_starts.tolist()


def test_pickle_round_trip_keeps_model_bytes_not_paths(en, tmp_path):
    path = tmp_path / "m.model"
    path.write_bytes(en.model_bytes)
    loaded = SentencePieceTokenizer.from_file(path, normalizer=NORM)
    blob = pickle.dumps(loaded)
    path.unlink()  # the copy must not need the file any more
    copy = pickle.loads(blob)
    text = "The quiet museum (near the harbour) opened."
    assert copy.encode(text).ids.tolist() == en.encode(text).ids.tolist()
    assert copy.fingerprint() == loaded.fingerprint() == en.fingerprint()


def test_reading_model_file_pickles_the_path_and_reads_the_file_back(en, tmp_path):
    path = tmp_path / "m.model"
    path.write_bytes(en.model_bytes)
    loaded = SentencePieceTokenizer.from_file(path, normalizer=NORM)
    twin = loaded.reading_model_file()
    full, light = pickle.dumps(loaded), pickle.dumps(twin)
    assert en.model_bytes not in light and en.model_bytes in full
    assert len(full) - len(light) >= len(en.model_bytes) - 200
    copy = pickle.loads(light)
    texts = english_sentences(40, seed=4)
    assert copy.model_bytes == en.model_bytes
    assert copy.encode_flat(texts).ids.tolist() == loaded.encode_flat(texts).ids.tolist()
    assert copy.fingerprint() == loaded.fingerprint()
    # The tokenizer the launcher keeps still pickles whole.
    assert loaded.reading_model_file() is not loaded and pickle.dumps(loaded) == full


def test_a_model_file_changed_or_gone_after_pickling_is_refused(en, tmp_path):
    path = tmp_path / "m.model"
    path.write_bytes(en.model_bytes)
    blob = pickle.dumps(SentencePieceTokenizer.from_file(path).reading_model_file())
    path.write_bytes(en.model_bytes[:-1] + b"x")
    with pytest.raises(VocabError, match=r"m\.model: the SentencePiece model changed during"):
        pickle.loads(blob)
    path.unlink()
    with pytest.raises(VocabError, match=r"m\.model: cannot read the SentencePiece model"):
        pickle.loads(blob)


def test_reading_model_file_keeps_the_bytes_when_no_file_holds_them(en, tmp_path):
    assert en.reading_model_file() is en  # built from bytes: no file
    path = tmp_path / "m.model"
    path.write_bytes(en.model_bytes)
    loaded = SentencePieceTokenizer.from_file(path)
    path.write_bytes(b"something else")  # the file no longer holds the loaded model
    assert loaded.reading_model_file() is loaded
    path.unlink()
    assert loaded.reading_model_file() is loaded


def test_fingerprint_depends_on_normalisation_and_segmenter(en):
    other_norm = SentencePieceTokenizer(en.model_bytes, normalizer=Normalization())
    jieba = SentencePieceTokenizer(en.model_bytes, normalizer=NORM, word_segmenter="jieba")
    prints = {en.fingerprint(), other_norm.fingerprint(), jieba.fingerprint()}
    assert len(prints) == 3 and all(len(p) == 64 for p in prints)
    described = en.describe()
    assert described["kind"] == "sentencepiece" and described["vocab_size"] == 300
    assert described["normalization"] == NORM.to_dict()
    assert described["word_segmenter"] == "none"


def test_missing_mask_symbol_is_named():
    sentences = [NORM(s) for s in english_sentences(300, seed=3)]
    model = train_spm(sentences, SpmRecipe(vocab_size=150, control_symbols=("[CLS]", "[SEP]")))
    with pytest.raises(VocabError, match=r"\[MASK\]"):
        SentencePieceTokenizer(model, path="nomask.model")


def test_not_a_model_is_an_error():
    with pytest.raises(VocabError, match="bad.model"):
        SentencePieceTokenizer(b"definitely not a model", path="bad.model")


def test_vocab_size_errors_carry_the_numbers():
    sentences = [NORM(s) for s in english_sentences(100, seed=4)]
    with pytest.raises(VocabSizeTooLarge) as too_large:
        train_spm(sentences, SpmRecipe(vocab_size=5000))
    assert 50 < too_large.value.max_size < 5000
    with pytest.raises(VocabSizeTooSmall) as too_small:
        train_spm(sentences, SpmRecipe(vocab_size=20))
    assert too_small.value.required > 20


def test_soft_limit_accepts_fewer_pieces():
    sentences = [NORM(s) for s in english_sentences(100, seed=4)]
    model = train_spm(sentences, SpmRecipe(vocab_size=5000, hard_vocab_limit=False))
    assert 50 < spm.SentencePieceProcessor(model_proto=model).get_piece_size() < 5000


def test_chinese_presegmented_word_starts_follow_jieba(zh_presegmented):
    tk = zh_presegmented
    text = "我们在北京大学学习自然语言处理，ALBERT模型很好。"
    enc = tk.encode(text)
    seg = JiebaSegmenter()
    expected = []
    for word, _, _ in seg.words(NORM(text)):
        if word.isascii() and word.isalnum():
            expected.append(word)
        else:
            expected += [word] if any("\u4e00" <= c <= "\u9fff" for c in word) else list(word)
    assert words_of(tk, enc) == expected


def test_chinese_presegmentation_is_applied_at_encode_time(zh_presegmented):
    text = "北京大学的图书馆"
    presegmented, _ = JiebaSegmenter().presegment(NORM(text))
    assert " " in presegmented
    sp = spm.SentencePieceProcessor(model_proto=zh_presegmented.model_bytes)
    assert zh_presegmented.encode(text).ids.tolist() == sp.encode(presegmented)


def test_jieba_word_starts_without_presegmentation():
    sentences = [NORM(s) for s in chinese_sentences(600, seed=5)]
    model = train_spm(
        sentences, SpmRecipe(vocab_size=400, character_coverage=CHARACTER_COVERAGE["zh"])
    )
    plain = SentencePieceTokenizer(model, normalizer=NORM)
    jieba = SentencePieceTokenizer(model, normalizer=NORM, word_segmenter="jieba")
    text = "我们在北京大学学习，BERT模型"
    per_piece = plain.encode(text)
    by_jieba = jieba.encode(text)
    assert per_piece.ids.tolist() == by_jieba.ids.tolist()
    # without jieba every piece holding an ideograph is a word; with it, words follow jieba
    pieces = plain.id_to_piece(per_piece.ids)
    cjk = [bool(re.search("[\u4e00-\u9fff]", p)) for p in pieces]
    assert all(s for s, c in zip(per_piece.word_starts, cjk, strict=True) if c)
    words = words_of(jieba, by_jieba)
    assert "北京大学" in words and "bert" in words and "模型" in words


def test_jieba_batch_matches_one_by_one(zh_presegmented):
    texts = chinese_sentences(30, seed=8) + ["", "plain words", "北京"]
    batch = zh_presegmented.encode_batch(texts)
    for text, batched in zip(texts, batch, strict=True):
        single = zh_presegmented.encode(text)
        assert single.ids.tolist() == batched.ids.tolist()
        assert single.word_starts.tolist() == batched.word_starts.tolist()


def test_unknown_characters_stay_inside_their_word(en):
    assert en.piece_to_id("ß") == en.special.unk  # never seen in training
    words = words_of(en, en.encode("the straße ßa"))
    assert words == ["the", "stra<unk>e", "<unk>a"]


def test_fast_id_encoder_agrees_with_the_public_call(en, en_model):
    import sentencepiece as spm

    from vocab.sentencepiece_tokenizer import _ids_encoder

    sp = spm.SentencePieceProcessor(model_proto=en_model)
    encode = _ids_encoder(sp)
    for text in [
        "",
        "the river",
        "café (see above) £20 – indeed",
        "中文 mixed text 123",
        "x" * 500,
    ]:
        assert encode(text) == sp.EncodeAsIds(text)
    flat = en.encode_flat(["the river", "", "café (see above)"])
    assert flat.lengths.tolist()[1] == 0
    texts = ["the river", "café (see above)"]
    assert flat.ids.tolist() == [i for t in texts for i in sp.EncodeAsIds(NORM(t))]
