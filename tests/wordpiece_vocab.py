"""A BERT-style Chinese ``vocab.txt`` built from the bundled Chinese sample, laid out like
Google's 21 128-entry one: ``[PAD]``, ``[unused1..99]``, ``[UNK] [CLS] [SEP] [MASK]``, then
every character of the sample, each CJK character also as a ``##`` continuation, Latin
letters, digits and the sample's Latin words (lower-cased)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from vocab.chars import is_cjk

GREEK = ["ο", "##δ", "##ος", "##οσ", "σ", "ς"]


def sample_zh_text() -> str:
    return resources.files("albert_data").joinpath("sample/zh.txt").read_text(encoding="utf-8")


def chinese_vocab(*, extra: list[str] = ()) -> list[str]:
    text = sample_zh_text()
    head = ["[PAD]", *(f"[unused{i}]" for i in range(1, 100)), "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = sorted({ch for ch in text if not ch.isspace()})
    latin = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    words = sorted({w.lower() for w in re.findall(r"[A-Za-z]{2,}", text)})
    body = chars + ["##" + ch for ch in chars if is_cjk(ch)]
    body += latin + ["##" + ch for ch in latin] + words + list(extra)
    out, seen = list(head), set(head)
    for piece in body:
        if piece not in seen:
            seen.add(piece)
            out.append(piece)
    return out


def write_chinese_vocab(path: Path, *, extra: list[str] = ()) -> Path:
    path.write_text("".join(p + "\n" for p in chinese_vocab(extra=extra)), encoding="utf-8")
    return path
