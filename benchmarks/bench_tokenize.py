"""Tokenizer throughput: tokens per second per core, SentencePiece and WordPiece, English and Chinese.

Vocabularies are trained here on a generated corpus (SentencePiece with ALBERT's recipe,
WordPiece with the ``tokenizers`` trainer), then the sentences are encoded in batches of
64 (roughly one document) on one thread, normaliser and word starts included. Speed is
tokens / CPU seconds of this process, so other load on a shared machine does not count;
the best of two passes is kept.
"""

from __future__ import annotations

import time

from albert_data.text.normalize import Normalization
from vocab.base import Tokenizer
from vocab.jieba_words import JiebaSegmenter
from vocab.sentencepiece_tokenizer import SentencePieceTokenizer
from vocab.spm_recipe import CHARACTER_COVERAGE, SpmRecipe, train_spm
from vocab.wordpiece import WordPieceTokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BATCH = 64
VOCAB_SIZE = {"en": 8000, "zh": 8000}


def corpus_sentences(lang: str, *, seed: int = 0, num_documents: int = 2000) -> list[str]:
    """Sentences of the generated corpus (:func:`albert_data.text.corpus.generate_documents`)."""
    from albert_data.text.corpus import generate_documents
    from albert_data.text.sentences import split_sentences

    sentences: list[str] = []
    for doc in generate_documents(lang, seed=seed, num_documents=num_documents):
        for paragraph in doc.splitlines():
            sentences += split_sentences(paragraph)
    return sentences


def train_sentencepiece(lang: str, sentences: list[str]) -> bytes:
    normalize = Normalization()
    recipe = SpmRecipe(
        vocab_size=VOCAB_SIZE[lang],
        character_coverage=CHARACTER_COVERAGE[lang],
        hard_vocab_limit=False,
    )
    return train_spm([normalize(s) for s in sentences], recipe, num_threads=2)


def train_wordpiece(lang: str, sentences: list[str]) -> list[str]:
    from tokenizers import Tokenizer as HfTokenizer
    from tokenizers import models, normalizers, pre_tokenizers, trainers

    tk = HfTokenizer(models.WordPiece(unk_token="[UNK]"))
    tk.normalizer = normalizers.BertNormalizer(lowercase=True)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=VOCAB_SIZE[lang], special_tokens=SPECIALS, show_progress=False
    )
    tk.train_from_iterator(sentences, trainer)
    return [piece for piece, _ in sorted(tk.get_vocab().items(), key=lambda kv: kv[1])]


def measure(tokenizer: Tokenizer, sentences: list[str], passes: int = 2) -> dict:
    best = float("inf")
    tokens = 0
    for _ in range(passes):
        start = time.process_time()
        tokens = 0
        for i in range(0, len(sentences), BATCH):
            for enc in tokenizer.encode_batch(sentences[i : i + BATCH]):
                tokens += enc.ids.size
        best = min(best, time.process_time() - start)
    chars = sum(map(len, sentences))
    return {
        "tokens": tokens,
        "sentences": len(sentences),
        "cpu_seconds": round(best, 4),
        "tokens_per_sec_per_core": round(tokens / best),
        "chars_per_sec_per_core": round(chars / best),
    }


def run() -> dict:
    """Train the four vocabularies, encode the corpus, print and return the figures."""
    JiebaSegmenter().words("预热")  # load jieba's dictionary outside the timings
    results: dict[str, dict] = {}
    normalize = Normalization()
    for lang in ("en", "zh"):
        sentences = corpus_sentences(lang)
        model = train_sentencepiece(lang, sentences)
        vocab = train_wordpiece(lang, sentences)
        segmenters = ("none",) if lang == "en" else ("jieba", "none")
        for segmenter in segmenters:
            spm_tk = SentencePieceTokenizer(model, normalizer=normalize, word_segmenter=segmenter)
            wp_tk = WordPieceTokenizer(vocab, word_segmenter=segmenter)
            for kind, tk in (("sentencepiece", spm_tk), ("wordpiece", wp_tk)):
                key = f"{kind}-{lang}" + ("-jieba" if segmenter == "jieba" else "")
                results[key] = {"vocab_size": tk.vocab_size, **measure(tk, sentences)}
    for key, r in results.items():
        print(
            f"{key:24s} vocab {r['vocab_size']:6d}  {r['tokens']:8d} tokens  "
            f"{r['tokens_per_sec_per_core']:>10,} tokens/s/core  "
            f"{r['chars_per_sec_per_core']:>10,} chars/s/core"
        )
    return results


if __name__ == "__main__":
    run()
