"""Input directories as they are on real disks, on the real CLI: symbolic links to files
and directories are followed, loops and dangling links are one line naming them, as are
entries that cannot be read — tried as an unprivileged user (root reads everything) —
and FIFOs; a file truncated or deleted while the run reads it is one line."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from albert_data.errors import UserError
from albert_data.files.docranges import ByteRange, read_range
from tests.cli_helpers import BIN, error_line, run_cli

DOC = (
    "The first sentence is here. The second one follows it.\n\nAnother document starts. It ends.\n"
)


def split(inputs, out, *extra, user: int | None = None) -> subprocess.CompletedProcess:
    args = [str(BIN), "split-sentences", str(inputs), "-o", str(out), "--no-progress", *extra]
    if user is not None:
        args = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *args]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(args, capture_output=True, text=True, env=env)


def tree(root: Path) -> Path:
    (root / "in" / "a").mkdir(parents=True)
    (root / "in" / "a" / "one.txt").write_text(DOC)
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "two.txt").write_text(DOC.replace("first", "other"))
    return root / "in"


def test_links_to_files_and_directories_are_followed(tmp_path):
    top = tree(tmp_path)
    (top / "linked-dir").symlink_to(tmp_path / "elsewhere")
    (top / "linked-file.txt").symlink_to(tmp_path / "elsewhere" / "two.txt")
    (top / "again").symlink_to(tmp_path / "elsewhere")  # the same directory twice: read once
    proc = split(top, tmp_path / "out.txt", "--no-dedup")
    assert proc.returncode == 0, proc.stderr
    assert "files read          3 " in proc.stderr  # one.txt, linked-dir/two.txt, linked-file.txt
    assert "documents in        6" in proc.stderr


@pytest.mark.parametrize(
    "make,expected",
    [
        (
            lambda top: (top / "a" / "up").symlink_to(top),
            "a/up: a symbolic link to {top}, a directory that contains it (a loop); remove the link or pass the files",
        ),
        (
            lambda top: (top / "self").symlink_to(top / "self"),
            "self: a symbolic-link loop (the link leads back to itself); remove the link",
        ),
        (
            lambda top: (top / "gone.txt").symlink_to("nowhere.txt"),
            "gone.txt: a dangling symbolic link (to nowhere.txt, which does not exist); remove it or fix its target",
        ),
        (
            lambda top: os.mkfifo(top / "pipe"),
            "pipe: not a regular file or a directory (a FIFO, socket or device); move it out of {top} or pass the files",
        ),
    ],
    ids=["loop", "self-loop", "dangling", "fifo"],
)
def test_bad_entries_are_one_line_naming_them(tmp_path, make, expected):
    top = tree(tmp_path)
    make(top)
    proc = split(top, tmp_path / "out.txt")
    assert proc.returncode == 2
    name, _, rest = expected.partition(": ")
    assert error_line(proc) == f"error: {top}/{name}: {rest.format(top=top)}"
    assert not (tmp_path / "out.txt").exists()


NOBODY = 65534


@pytest.mark.parametrize("what", ["directory", "file"])
def test_an_unreadable_entry_is_named_not_skipped(shared_dir, what):
    top = tree(shared_dir)
    for path in shared_dir.rglob("*"):
        path.chmod(0o777 if path.is_dir() else 0o644)
    secret = top / "secret"
    if what == "directory":
        secret.mkdir()
        (secret / "three.txt").write_text(DOC)
    else:
        secret.write_text(DOC)
    secret.chmod(0)
    proc = split(top, shared_dir / "out.txt", user=NOBODY)
    assert proc.returncode == 2, proc.stderr
    kind = "directory " if what == "directory" else ""
    assert error_line(proc) == (
        f"error: {secret}: {kind}cannot be read (permission denied); fix its permissions, "
        "or leave it out of the inputs"
    )
    assert not (shared_dir / "out.txt").exists()


def test_a_file_truncated_or_deleted_while_read(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text(DOC * 1000)
    ranges = [ByteRange(str(path), 0, 40_000), ByteRange(str(path), 40_000, -1)]
    os.truncate(path, 30_000)  # after the ranges were planned
    with pytest.raises(UserError) as caught:
        list(read_range(ranges[0], fmt="sentences"))
    assert str(caught.value) == (
        f"{path}: 30,000 bytes now, fewer than the 40,000 the run planned to read: it "
        "was truncated or rewritten while the run read it; re-run when nothing writes to the inputs"
    )
    with pytest.raises(UserError, match=r"30,000 bytes now, fewer than the 40,000 the run"):
        list(read_range(ranges[1], fmt="sentences"))
    path.unlink()
    with pytest.raises(UserError, match=r"docs.txt: no longer exists \(deleted or moved after"):
        list(read_range(ranges[0], fmt="sentences"))


def test_an_input_truncated_during_a_run_is_one_line(tmp_path):
    raw = tmp_path / "raw.txt"
    run_cli("sample", "-o", raw, "--size", "3MB")
    out = tmp_path / "split" / "docs.txt"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [str(BIN), "split-sentences", str(raw), "-o", str(out), "--runner", "DirectRunner"]
        + ["--range-bytes", "65536", "--num-workers", "1", "--no-progress"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    while not any((p / "progress").exists() for p in out.parent.glob(".albert-data-*")):
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    os.truncate(raw, 100_000)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith(f"error: {raw}: 100,000 bytes now, fewer than the "), err
    assert "Traceback" not in err and not out.exists()
