"""Session fixtures: the bundled sample corpus split into sentences and small real
vocabularies trained on it with the project's own commands (once per test session)."""

from __future__ import annotations

import os

import pytest

from tests.cli_helpers import run_cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _prepare(tmp_path_factory, lang: str, vocab_size: int) -> dict:
    root = tmp_path_factory.mktemp(f"sample-{lang}")
    raw = root / "raw.txt"
    sentences = root / "sentences.txt"
    run_cli("sample", "--lang", lang, "-o", raw)
    run_cli("split-sentences", raw, "-o", sentences, "--no-progress")
    prefix = root / "spm"
    extra = ["--lang", "zh", "--jieba"] if lang == "zh" else []
    run_cli(
        "spm-train",
        sentences,
        "--model-prefix",
        prefix,
        "--vocab-size",
        vocab_size,
        "--no-hard-vocab-limit",
        *extra,
    )
    return {"root": root, "raw": raw, "sentences": sentences, "spm": root / "spm.model"}


@pytest.fixture(scope="session")
def sample_en(tmp_path_factory) -> dict:
    return _prepare(tmp_path_factory, "en", 1500)


@pytest.fixture(scope="session")
def sample_zh(tmp_path_factory) -> dict:
    return _prepare(tmp_path_factory, "zh", 3000)
