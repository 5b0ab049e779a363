"""Session fixtures: the bundled sample corpus split into sentences, small real
vocabularies trained on it and records made from it with the project's own commands,
once per test run: the first xdist worker to need one builds it (in-process) under a
file lock in the run's shared temporary root, and the others read it from there."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import sentencepiece as spm

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


def _shared(tmp_path_factory, name: str, build) -> Path:
    """The directory ``name`` made by ``build(directory)`` once per test run: under
    xdist every worker has its own basetemp below one shared parent, where the first
    worker to need it builds it under a lock (into a scratch directory renamed when
    complete) and the others wait for it and read it."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    root = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not root.exists():
            partial = shared / f"{name}.partial-{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            build(partial)
            partial.rename(root)
    return root


def _prepare(tmp_path_factory, lang: str, vocab_size: int) -> dict:
    root = _shared(tmp_path_factory, f"sample-{lang}", lambda d: _build(d, lang, vocab_size))
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


def _make_records(root, sample: dict) -> None:
    invoke(
        "make-pretraining",
        sample["sentences"],
        "--spm-model",
        sample["spm"],
        "-o",
        root / "records",
        "--dupe-factor",
        1,
        "--max-seq-length",
        64,
        "--max-predictions-per-seq",
        10,
        "--word-segmenter",
        "jieba",
        "--num-workers",
        1,
        "--no-progress",
    )
    pieces = spm.SentencePieceProcessor(model_file=str(sample["spm"])).get_piece_size()
    invoke(
        "spm-train",
        sample["sentences"],
        "--model-prefix",
        root / "other",
        "--vocab-size",
        pieces,
        "--no-lower-case",
    )


@pytest.fixture(scope="session")
def made(sample_en, tmp_path_factory) -> dict:
    """Records made from the English sample with its vocabulary (sequences of 64, 10
    predictions, one duplicate) and jieba word starts: not the default, so a vocabulary's
    fingerprint must be taken with the settings stats.json records. ``other`` is a
    second vocabulary of the same size trained on the same text without lower-casing.
    Tests read these files and never change them."""
    root = _shared(tmp_path_factory, "made-en", lambda d: _make_records(d, sample_en))
    records = root / "records"
    return {
        "records": records,
        "vocab": sample_en["spm"],
        "pieces": spm.SentencePieceProcessor(model_file=str(sample_en["spm"])).get_piece_size(),
        "other": root / "other.model",
        "stats": json.loads((records / "stats.json").read_text())["vocabulary"],
    }


def _train_tiny(root) -> None:
    from albert_data.training.trainer import train
    from tests.train_support import configs, write_records

    write_records(root / "rec")
    train(**configs(str(root / "rec" / "*"), root / "model", steps=2), say=lambda _: None)


@pytest.fixture(scope="session")
def tiny_trained(tmp_path_factory) -> Path:
    """The model directory of a tiny model trained 2 steps (``train_support.configs``)
    on synthetic records, holding ckpt-2: for tests that need a trained model to
    export or read. Tests never change it."""
    return _shared(tmp_path_factory, "tiny-trained", _train_tiny) / "model"


@pytest.fixture
def shared_dir():
    """A directory another user can use (pytest's own is root's alone), for the tests
    that act as an unprivileged user: root bypasses file permissions and ulimit -u."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (to act as another user) and setpriv")
    root = Path(tempfile.mkdtemp(prefix="albert-data-test-"))
    root.chmod(0o777)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
