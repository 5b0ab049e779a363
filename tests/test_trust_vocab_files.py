"""A vocabulary that is empty, not a SentencePiece model or not UTF-8 is one line, in
every command that takes one (train --vocab, make-pretraining, inspect), with nothing
written. (Damaged checkpoints: tests/test_trust_checkpoints.py.)"""

from __future__ import annotations

import pytest

from tests.cli_helpers import error_line, invoke

VOCABS = {
    "empty.model": (b"", "an empty file, not a SentencePiece model; train one with albert-data spm-train"),
    "bad.model": (b"\x0a\x05garbage" * 10, "not a SentencePiece model (90 bytes that do not parse as one); give the PREFIX.model spm-train wrote"),
    "vocab.txt": (b"[PAD]\n[UNK]\n\xff\xfe\n[CLS]\n", "not a UTF-8 vocab.txt (invalid start byte at byte 12)"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(VOCABS))
def test_a_bad_vocabulary_is_one_line_in_every_command(made, sample_en, tmp_path, name):
    data, problem = VOCABS[name]
    vocab = tmp_path / name
    vocab.write_bytes(data)
    flag = "--vocab-file" if name.endswith(".txt") else "--spm-model"
    runs = [
        ["train", "--records", made["records"], "--model-dir", tmp_path / "m", "--preset", "tiny",
         "--vocab", vocab, "--no-jit"],
        ["make-pretraining", sample_en["sentences"], flag, vocab, "-o", tmp_path / "o"],
        ["inspect", made["records"], "--vocab", vocab, "--no-progress"],
    ]  # fmt: skip
    for args in runs:
        proc = invoke(*args, check=False)
        assert proc.returncode == 2, args
        assert error_line(proc) == f"error: {vocab}: {problem}", args
        assert "absl" not in proc.stderr and "not initialized" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
