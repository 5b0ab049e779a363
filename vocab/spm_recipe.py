"""ALBERT's SentencePiece training recipe, and in-process training from an iterator.

The defaults are those used for ALBERT's ``30k-clean`` vocabulary: a unigram model of
30 000 pieces, ``<pad>`` = 0, ``<unk>`` = 1, no BOS/EOS, control symbols ``[CLS]``,
``[SEP]``, ``[MASK]`` (ids 2, 3, 4), user-defined symbols ``( ) " - . – £ €``, character
coverage 0.99995 and a shuffled sample of at most 10 000 000 sentences.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace

from vocab.base import VocabError
from vocab.long_lines import SPM_MAX_SENTENCE_LENGTH

ALBERT_CONTROL_SYMBOLS = ("[CLS]", "[SEP]", "[MASK]")
ALBERT_USER_SYMBOLS = ("(", ")", '"', "-", ".", "–", "£", "€")
CHARACTER_COVERAGE = {"en": 0.99995, "zh": 0.9995}
# Chinese has no spaces: SentencePiece's dummy prefix (a "▁" before every sentence) would
# stand alone before most sentences' first character (8 % of the tokens of real Chinese
# text); without it "▁" only marks real spaces (around Latin words and numbers).
ADD_DUMMY_PREFIX = {"en": True, "zh": False}

_TOO_HIGH_RE = re.compile(r"[Vv]ocabulary size (?:is )?too (?:high|large)[^<]*<= ?(\d+)")
_TOO_SMALL_RE = re.compile(r"smaller than required_chars\. (\d+) vs (\d+)")


class VocabSizeTooLarge(VocabError):
    """The corpus cannot supply ``vocab_size`` pieces; at most ``max_size`` are possible."""

    def __init__(self, vocab_size: int, max_size: int):
        super().__init__(f"vocabulary size {vocab_size} is too large; at most {max_size}")
        self.vocab_size = vocab_size
        self.max_size = max_size


class VocabSizeTooSmall(VocabError):
    """``vocab_size`` cannot even hold the required characters and symbols."""

    def __init__(self, vocab_size: int, required: int):
        super().__init__(f"vocabulary size {vocab_size} is below the {required} required pieces")
        self.vocab_size = vocab_size
        self.required = required


@dataclass(frozen=True)
class SpmRecipe:
    """SentencePiece trainer options; :meth:`trainer_options` gives SentencePiece's names."""

    vocab_size: int = 30000
    model_type: str = "unigram"
    pad_id: int = 0
    unk_id: int = 1
    bos_id: int = -1
    eos_id: int = -1
    control_symbols: tuple[str, ...] = ALBERT_CONTROL_SYMBOLS
    user_defined_symbols: tuple[str, ...] = ALBERT_USER_SYMBOLS
    character_coverage: float = CHARACTER_COVERAGE["en"]
    input_sentence_size: int = 10_000_000
    hard_vocab_limit: bool = True
    # False for Chinese (see ADD_DUMMY_PREFIX); stored in the model's normalizer spec.
    add_dummy_prefix: bool = True
    max_sentence_length: int = SPM_MAX_SENTENCE_LENGTH  # bytes; longer lines are cut first

    def trainer_options(self) -> dict:
        """Keyword arguments for ``SentencePieceTrainer.train``. The sample is drawn and
        shuffled beforehand, so SentencePiece takes every sentence it is given. Options
        at SentencePiece's own default are left out: the model records every option set,
        and ALBERT's English recipe keeps the model bytes it always had."""
        optional = {}
        if not self.add_dummy_prefix:
            optional["add_dummy_prefix"] = False
        if self.max_sentence_length != SPM_MAX_SENTENCE_LENGTH:
            optional["max_sentence_length"] = self.max_sentence_length
        return {
            **optional,
            "model_type": self.model_type,
            "vocab_size": self.vocab_size,
            "pad_id": self.pad_id,
            "unk_id": self.unk_id,
            "bos_id": self.bos_id,
            "eos_id": self.eos_id,
            "control_symbols": list(self.control_symbols),
            "user_defined_symbols": list(self.user_defined_symbols),
            "character_coverage": self.character_coverage,
            "hard_vocab_limit": self.hard_vocab_limit,
            "input_sentence_size": 0,
            "shuffle_input_sentence": False,
        }

    def to_dict(self) -> dict:
        data = asdict(self)
        data["control_symbols"] = list(self.control_symbols)
        data["user_defined_symbols"] = list(self.user_defined_symbols)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SpmRecipe:
        known = {f.name for f in fields(cls)}
        kwargs = {
            k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in known
        }
        return replace(cls(), **kwargs)


def recipe_for(lang: str, *, character_coverage: float | None = None, **settings) -> SpmRecipe:
    """ALBERT's recipe with ``settings`` over it, the character coverage of ``lang``
    (:data:`CHARACTER_COVERAGE`) unless a ``character_coverage`` is given (not 0), and the
    dummy prefix of ``lang`` (:data:`ADD_DUMMY_PREFIX`) unless given."""
    coverage = character_coverage or CHARACTER_COVERAGE[lang]
    settings.setdefault("add_dummy_prefix", ADD_DUMMY_PREFIX[lang])
    return SpmRecipe(character_coverage=coverage, **settings)


def parse_trainer_error(message: str, vocab_size: int) -> VocabError | None:
    """Turn SentencePiece's vocabulary-size failures into typed errors (None otherwise)."""
    if match := _TOO_HIGH_RE.search(message):
        return VocabSizeTooLarge(vocab_size, int(match.group(1)))
    if match := _TOO_SMALL_RE.search(message):
        return VocabSizeTooSmall(vocab_size, int(match.group(2)))
    return None


def train_spm(
    sentences: Iterable[str], recipe: SpmRecipe, *, num_threads: int = 1, verbose: bool = False
) -> bytes:
    """Train in-process on ``sentences`` and return the serialized model."""
    import sentencepiece as spm

    writer = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=writer,
            num_threads=num_threads,
            minloglevel=0 if verbose else 2,
            **recipe.trainer_options(),
        )
    except RuntimeError as err:
        typed = parse_trainer_error(str(err), recipe.vocab_size)
        if typed is not None:
            raise typed from None
        raise VocabError(f"SentencePiece training failed: {str(err).strip()}") from None
    return writer.getvalue()
