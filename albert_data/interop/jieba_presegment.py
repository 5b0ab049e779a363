"""Pre-segmentation for the Hugging Face export of a SentencePiece vocabulary trained with
``spm-train --jieba``.

Such a vocabulary was trained on text where jieba had put a space at every word boundary
touching a Chinese character, and ``make-pretraining`` encoded the records the same way;
a ``tokenizer.json`` cannot run jieba. The export therefore writes the tokenizer of the
pre-segmented text and ``albert_data_presegmentation.json`` (the normalisation and the
segmenter); :class:`JiebaPreSegmenter` applies the same normalisation and jieba settings
(default dictionary, HMM on), so that::

    from transformers import AutoTokenizer
    from albert_data.interop.jieba_presegment import JiebaPreSegmenter

    tokenizer = AutoTokenizer.from_pretrained("export/hf")
    presegment = JiebaPreSegmenter.from_pretrained("export/hf")
    batch = tokenizer(presegment(["今天天气很好"]), presegment(["我们去公园"]))

gives exactly the ids ``make-pretraining`` wrote for the same text. It needs only jieba and
this package's text modules (no TensorFlow).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from albert_data.errors import UserError
from albert_data.text.normalize import Normalization
from vocab.jieba_words import JiebaSegmenter

PRESEGMENTATION_FILE = "albert_data_presegmentation.json"


class JiebaPreSegmenter:
    """Text → the pre-segmented text the exported tokenizer expects."""

    def __init__(self, normalization: Normalization | None = None):
        self.normalization = normalization
        self._segmenter = JiebaSegmenter()

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> JiebaPreSegmenter:
        """The pre-segmenter recorded in an exported Hugging Face directory."""
        path = Path(directory) / PRESEGMENTATION_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise UserError(
                f"{path}: cannot read the pre-segmentation record ({err}); export the model again with this version of albert-data"
            ) from None
        if data.get("pre_segmentation") != "jieba":
            raise UserError(
                f"{path}: pre_segmentation {data.get('pre_segmentation')!r} is not jieba"
            )
        normalization = data.get("normalization")
        return cls(Normalization.from_dict(normalization) if normalization else None)

    def segment(self, text: str) -> str:
        if self.normalization is not None:
            text = self.normalization(text)
        return self._segmenter.presegment(text)[0]

    def __call__(self, texts: str | Sequence[str]) -> str | list[str]:
        """One text or a list of texts, pre-segmented."""
        if isinstance(texts, str):
            return self.segment(texts)
        return [self.segment(t) for t in texts]


def presegmentation_record(normalization: Normalization | None) -> dict:
    """What :meth:`JiebaPreSegmenter.from_pretrained` reads."""
    from vocab.jieba_words import jieba_version

    return {
        "pre_segmentation": "jieba",
        "normalization": normalization.to_dict() if normalization is not None else None,
        "jieba": {"dictionary": "default", "hmm": True, "version": jieba_version()},
        "usage": "tokenizer(JiebaPreSegmenter.from_pretrained(DIR)(text)); see albert_data.interop.jieba_presegment",
    }
