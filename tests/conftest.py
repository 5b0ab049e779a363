"""Session fixtures: the bundled sample corpus split into sentences and small real
vocabularies trained on it with the project's own commands, once per test run: the
first xdist worker to need one builds it (in-process) under a file lock in the run's
shared temporary root, and the others read it from there."""

from __future__ import annotations

import fcntl
import os
import shutil

import pytest

from tests.cli_helpers import invoke

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _build(root, lang: str, vocab_size: int) -> None:
    raw = root / "raw.txt"
    sentences = root / "sentences.txt"
    invoke("sample", "--lang", lang, "-o", raw)
    invoke("split-sentences", raw, "-o", sentences, "--no-progress")
    extra = ["--lang", "zh", "--jieba"] if lang == "zh" else []
    invoke(
        "spm-train",
        sentences,
        "--model-prefix",
        root / "spm",
        "--vocab-size",
        vocab_size,
        "--no-hard-vocab-limit",
        *extra,
    )


def _prepare(tmp_path_factory, lang: str, vocab_size: int) -> dict:
    # Under xdist every worker has its own basetemp below one shared parent.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    root = shared / f"sample-{lang}"
    with open(shared / f"sample-{lang}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; the others wait for its result
        if not root.exists():
            partial = shared / f"sample-{lang}.partial-{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            _build(partial, lang, vocab_size)
            partial.rename(root)
    return {
        "root": root,
        "raw": root / "raw.txt",
        "sentences": root / "sentences.txt",
        "spm": root / "spm.model",
    }


@pytest.fixture(scope="session")
def sample_en(tmp_path_factory) -> dict:
    return _prepare(tmp_path_factory, "en", 1500)


@pytest.fixture(scope="session")
def sample_zh(tmp_path_factory) -> dict:
    return _prepare(tmp_path_factory, "zh", 3000)
