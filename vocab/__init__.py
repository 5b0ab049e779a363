"""Vocabularies: ALBERT's SentencePiece recipe and the tokenizers (SentencePiece, WordPiece).

The bottom layer: no TensorFlow, no Beam, no ``albert_data``. Normalisation is passed in
as a plain callable; ``albert_data.text.tokenization.load_tokenizer`` composes the two.
"""

from vocab.base import Encoding, SpecialIds, Tokenizer, VocabError
from vocab.sentencepiece_tokenizer import SentencePieceTokenizer
from vocab.wordpiece import WordPieceTokenizer

__all__ = [
    "Encoding",
    "SentencePieceTokenizer",
    "SpecialIds",
    "Tokenizer",
    "VocabError",
    "WordPieceTokenizer",
]
