"""Corrupt compressed input: a truncated or fake ``.gz``/``.bz2`` gives one line naming
the file and the offsets known, exit 2, in every command (Beam workers included)."""

from __future__ import annotations

import bz2
import gzip
import io
from pathlib import Path

import pytest

from albert_data.errors import UserError
from albert_data.files.docranges import ByteRange, read_range
from albert_data.files.fileio import open_read, verify_complete
from albert_data.text.rawtext import ReadConfig, ReadCounts, read_range_documents
from tests.cli_helpers import error_line, invoke
from tests.vocab_corpus import english_sentences

# Sentence-per-line documents (a blank line after every 5 sentences), large enough that
# a cut in the middle of the compressed file lies far beyond the 8 KB binary probe.
TEXT = "".join(
    s + "\n" + ("\n" if i % 5 == 4 else "") for i, s in enumerate(english_sentences(6000, seed=5))
).encode("utf-8")

FAULTS = {
    # name: (file name, bytes, words the message must hold)
    "truncated-gz": (
        "t.txt.gz",
        gzip.compress(TEXT)[: len(gzip.compress(TEXT)) // 2],
        "truncated gzip",
    ),
    "not-gz": ("n.txt.gz", TEXT[:20000], "not a gzip file"),
    "truncated-bz2": (
        "t.txt.bz2",
        bz2.compress(TEXT)[: len(bz2.compress(TEXT)) // 2],
        "truncated bzip2",
    ),
    "not-bz2": ("n.txt.bz2", TEXT[:20000], "not a bzip2 file"),
}


def test_corpus_is_large_enough_for_a_cut_beyond_the_binary_probe():
    assert len(TEXT) > 20 * 8192
    with gzip.open(io.BytesIO(gzip.compress(TEXT)[:-100])) as fh:
        assert len(fh.read(8192)) == 8192  # the probe alone would not see the cut


@pytest.fixture
def fault(request, tmp_path) -> tuple[Path, str]:
    name, data, words = FAULTS[request.param]
    path = tmp_path / name
    path.write_bytes(data)
    return path, words


def _one_error_line(proc, path: Path, words: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Aborted" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1], proc.stderr
    assert errors[0].startswith(f"error: {path}: ") and words in errors[0], errors[0]
    return errors[0]


# --- the reading layer ------------------------------------------------------------------


@pytest.mark.parametrize("fault", list(FAULTS), indirect=True)
def test_open_read_raises_one_line_naming_file_and_offsets(fault):
    path, words = fault
    with pytest.raises(UserError) as caught, open_read(str(path)) as fh:
        for _line in fh:
            pass
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and words in message and "\n" not in message
    if "truncated" in words:
        assert f"the file ends at byte {path.stat().st_size}" in message
        assert "bytes decompressed" in message
    else:
        assert "byte 0 starts with b'" in message and "rename it without" in message


def test_truncated_gzip_counts_the_bytes_decompressed_before_the_cut(tmp_path):
    path = tmp_path / "t.txt.gz"
    path.write_bytes(FAULTS["truncated-gz"][1])
    got = bytearray()
    with pytest.raises(UserError, match=r"truncated gzip") as caught, open_read(str(path)) as fh:
        while chunk := fh.read(4096):
            got += chunk
    assert TEXT.startswith(bytes(got)) and len(got) > 8192
    done = int(str(caught.value).split(", ")[1].split()[0])
    assert done >= len(got)


def test_corrupt_data_and_trailing_garbage(tmp_path):
    flipped = bytearray(gzip.compress(TEXT))
    flipped[len(flipped) // 2] ^= 0xFF
    (tmp_path / "f.txt.gz").write_bytes(bytes(flipped))
    (tmp_path / "g.txt.gz").write_bytes(gzip.compress(b"hello\n") + b"junk")
    with pytest.raises(UserError, match=r"f\.txt\.gz: corrupt gzip data after \d+"):
        verify_complete(str(tmp_path / "f.txt.gz"))
    with pytest.raises(UserError, match=r"g\.txt\.gz: corrupt gzip data after 6 decompressed"):
        verify_complete(str(tmp_path / "g.txt.gz"))


def test_valid_compressed_files_read_unchanged(tmp_path):
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(TEXT))
    (tmp_path / "a.txt.bz2").write_bytes(bz2.compress(TEXT))
    (tmp_path / "empty.txt.gz").write_bytes(b"")
    for name in ("a.txt.gz", "a.txt.bz2"):
        with open_read(str(tmp_path / name)) as fh:
            assert fh.read() == TEXT
        assert verify_complete(str(tmp_path / name)) == len(TEXT)
    assert verify_complete(str(tmp_path / "empty.txt.gz")) == 0


@pytest.mark.parametrize("fault", list(FAULTS), indirect=True)
def test_range_readers_raise_the_same_line(fault):
    """What the Beam DoFns call: they turn this UserError into their errors output."""
    path, words = fault
    whole = ByteRange(str(path), 0, -1)
    with pytest.raises(UserError, match=words):
        list(read_range(whole, fmt="sentences"))
    with pytest.raises(UserError, match=words):
        list(read_range_documents(whole, ReadConfig(), ReadCounts()))


# --- every command ----------------------------------------------------------------------


@pytest.mark.parametrize("fault", list(FAULTS), indirect=True)
@pytest.mark.parametrize("runner", [(), ("--runner", "DirectRunner", "--num-workers", "1")])
def test_split_sentences(fault, runner, tmp_path):
    path, words = fault
    out = tmp_path / "out" / "s.txt"
    proc = invoke("split-sentences", path, "-o", out, "--no-progress", *runner, check=False)
    _one_error_line(proc, path, words)
    assert not out.parent.exists() or not any(out.parent.iterdir())


@pytest.mark.parametrize("fault", list(FAULTS), indirect=True)
@pytest.mark.parametrize(
    "runner", [(), ("--runner", "DirectRunner", "--direct_running_mode=in_memory")]
)
def test_spm_train(fault, runner, tmp_path):
    path, words = fault
    prefix = tmp_path / "vocab" / "m"
    proc = invoke(
        "spm-train", path, "--model-prefix", prefix, "--vocab-size", "60", *runner, check=False
    )
    _one_error_line(proc, path, words)
    assert not prefix.parent.exists() or not any(prefix.parent.iterdir())


@pytest.mark.parametrize("fault", list(FAULTS), indirect=True)
def test_make_pretraining(fault, tmp_path, sample_en):
    path, words = fault
    out = tmp_path / "records"
    proc = invoke(
        "make-pretraining",
        path,
        "--spm-model",
        sample_en["spm"],
        "-o",
        out,
        "--dupe-factor",
        "1",
        "--max-seq-length",
        "64",
        "--num-workers",
        "1",
        check=False,
    )
    _one_error_line(proc, path, words)
    assert not out.exists() or not any(out.iterdir())


def test_a_misspelled_option_without_runner_names_the_closest_one(tmp_path):
    """Without --runner a misspelled option of the command was told that Beam options
    need --runner; it is named with the closest option, like with --runner."""
    raw = tmp_path / "raw.txt"
    raw.write_text("One sentence here. Another one here.\n")
    for command, args, wrong, right in (
        ("split-sentences", ["-o", tmp_path / "s.txt"], "--min-sentence", "--min-sentences"),
        ("spm-train", ["--model-prefix", tmp_path / "m"], "--vocab-sise", "--vocab-size"),
    ):
        proc = invoke(command, raw, *args, wrong, "3", check=False)
        assert proc.returncode == 2
        assert error_line(proc) == (
            f"error: unknown option {wrong}: neither this command nor Beam knows it;"
            f" did you mean {right}?"
        )
    beam_only = invoke(
        "split-sentences", raw, "-o", tmp_path / "s.txt", "--temp_location=/t", check=False
    )
    assert error_line(beam_only) == (
        "error: --temp_location=/t: Beam pipeline options need --runner (e.g. --runner DirectRunner)"
    )
    assert not (tmp_path / "s.txt").exists()


def test_an_empty_input_directory_is_named_as_such(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = invoke("split-sentences", tmp_path / "empty", "-o", tmp_path / "s.txt", check=False)
    assert proc.returncode == 2
    assert error_line(proc).startswith(
        f"error: input '{tmp_path}/empty' is a directory with no files"
    )


def test_an_output_that_is_a_directory_is_named_as_such(tmp_path):
    """It said 'already exists; ... pass --overwrite', which could never work."""
    raw = tmp_path / "raw.txt"
    raw.write_text("One sentence here. Another one here.\n")
    (tmp_path / "adir").mkdir()
    for extra in ([], ["--overwrite"]):
        proc = invoke("split-sentences", raw, "-o", tmp_path / "adir", *extra, check=False)
        assert proc.returncode == 2
        assert (
            error_line(proc) == f"error: --output {tmp_path}/adir is a directory; give a file path"
        )
