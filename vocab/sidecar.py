"""The JSON sidecar written beside a SentencePiece model: ``PREFIX.model`` → ``PREFIX.json``.

It records how the model was made so that every later command encodes text exactly as
the training sample was prepared, and refuses options that contradict it::

    {
      "format": "albert-data/spm-sidecar", "format_version": 1,
      "lang": "en",                      # or "zh"
      "normalization": {"nfkc": true, "lower_case": true, ...},
      "pre_segmentation": "none",        # or "jieba" (applied before SentencePiece)
      "recipe": {"model_type": "unigram", "vocab_size": 30000, ...},
      "sample": {"sentences": ..., "lines_read": ..., "input_files": [...], "seed": ...},
      "versions": {"sentencepiece": "0.2.3", "jieba": null, "albert_data": "0.1.0"},
      "created": "2024-01-01T00:00:00+00:00"
    }
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vocab.base import VocabError

SIDECAR_FORMAT = "albert-data/spm-sidecar"
SIDECAR_VERSION = 1


@dataclass(frozen=True)
class Sidecar:
    normalization: dict
    recipe: dict = field(default_factory=dict)
    lang: str = "en"
    pre_segmentation: str = "none"
    sample: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    created: str = ""

    def to_dict(self) -> dict:
        return {"format": SIDECAR_FORMAT, "format_version": SIDECAR_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict, source: str = "sidecar") -> Sidecar:
        if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
            raise VocabError(
                f"{source}: not an albert-data SentencePiece sidecar (no format field)"
            )
        if data.get("format_version") != SIDECAR_VERSION:
            raise VocabError(
                f"{source}: sidecar format_version {data.get('format_version')!r} is not "
                f"{SIDECAR_VERSION}; retrain the vocabulary with this version of albert-data"
            )
        if not isinstance(data.get("normalization"), dict):
            raise VocabError(f"{source}: the sidecar has no normalization record")
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")


def sidecar_path(model_path: str | Path) -> str:
    """``PREFIX.model`` → ``PREFIX.json`` (any other name gets ``.json`` appended); works on
    URLs (``gs://bucket/vocab.model``) as well as local paths."""
    path = str(model_path)
    return path[: -len(".model")] + ".json" if path.endswith(".model") else path + ".json"


def parse_sidecar(text: str, source: str) -> Sidecar:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise VocabError(f"{source}: unreadable sidecar ({err}); delete it or retrain") from None
    return Sidecar.from_dict(data, source=source)


def read_sidecar(model_path: str | Path) -> Sidecar | None:
    """The sidecar beside a local ``model_path``, or None when there is none."""
    path = Path(sidecar_path(model_path))
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise VocabError(f"{path}: unreadable sidecar ({err}); delete it or retrain") from None
    return parse_sidecar(text, str(path))
