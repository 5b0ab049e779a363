"""Byte-range reading: every document read exactly once, whatever the range size."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from albert_data.files.docranges import plan_ranges, read_range


def make_corpus(rng: np.random.Generator, crlf: bool) -> tuple[str, list[list[str]]]:
    docs = []
    for d in range(int(rng.integers(0, 25))):
        docs.append(
            [
                f"{'x' * int(rng.integers(0, 30))} doc{d} line{i}"
                for i in range(int(rng.integers(1, 6)))
            ]
        )
    nl = "\r\n" if crlf else "\n"
    parts = []
    for i, doc in enumerate(docs):
        sep = nl * int(rng.integers(2, 4)) + (" " + nl if rng.random() < 0.2 else "")
        parts.append((sep if i else "") + nl.join(doc))
    text = (
        (nl * 2 if rng.random() < 0.5 else "") + "".join(parts) + (nl if rng.random() < 0.5 else "")
    )
    return text, docs


def read_all(path, size, range_bytes, fmt="sentences"):
    out = []
    for byte_range in plan_ranges(str(path), size, range_bytes=range_bytes):
        for _offset, lines in read_range(byte_range, fmt=fmt):
            out.append([line.decode().rstrip("\r\n") for line in lines])
    return out


@pytest.mark.parametrize("seed", range(40))
def test_documents_straddling_ranges_are_read_once(tmp_path, seed):
    rng = np.random.default_rng(seed)
    text, docs = make_corpus(rng, crlf=seed % 3 == 0)
    path = tmp_path / "c.txt"
    path.write_bytes(text.encode())
    for range_bytes in (1, 2, 7, int(rng.integers(3, 80)), 10**6):
        assert read_all(path, len(text.encode()), range_bytes) == docs, range_bytes


def test_offsets_point_at_document_starts(tmp_path):
    path = tmp_path / "c.txt"
    data = b"a1\na2\n\nb1\n\n\nc1\nc2\n"
    path.write_bytes(data)
    got = [
        off
        for r in plan_ranges(str(path), len(data), range_bytes=4)
        for off, _ in read_range(r, fmt="sentences")
    ]
    assert got == [0, 7, 12]


def test_jsonl_lines_split_by_range(tmp_path):
    lines = [f'{{"text": "doc {i}"}}' for i in range(50)]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n")
    got = read_all(path, path.stat().st_size, 37, fmt="jsonl")
    assert got == [[line] for line in lines]


def test_compressed_files_are_one_range(tmp_path):
    path = tmp_path / "c.txt.gz"
    path.write_bytes(gzip.compress(b"a\nb\n\nc\n"))
    ranges = plan_ranges(str(path), 10**9, range_bytes=1)
    assert len(ranges) == 1
    assert read_all(path, 10**9, 1) == [["a", "b"], ["c"]]


SPACES = [" ", "\t", "\u3000", "\u00a0", "\u2003", "\x1c", "\x0c"]


def reference_documents(text: str, fmt: str) -> list[list[str]]:
    """What a reader of the decoded text, line by line, sees (blank: ``str.strip``)."""
    lines = text.removeprefix("\ufeff").split("\n")
    if fmt == "line":
        return [[line] for line in lines if line.strip()]
    docs, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            docs.append(current)
            current = []
    return docs + ([current] if current else [])


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("fmt", ["blank-line", "line"])
def test_unicode_blank_lines_bom_and_multibyte_text(tmp_path, seed, fmt):
    rng = np.random.default_rng(seed)
    words = ["文本", "ab", "ç", "🙂x", "z"]
    lines = []
    for _ in range(int(rng.integers(0, 40))):
        if rng.random() < 0.35:
            lines.append("".join(rng.choice(SPACES, size=int(rng.integers(0, 4)))))
        else:
            lines.append(" ".join(rng.choice(words, size=int(rng.integers(1, 5)))))
    text = ("\ufeff" if seed % 2 else "") + "\n".join(lines) + ("\n" if seed % 3 else "")
    data = text.encode()
    path = tmp_path / "u.txt"
    path.write_bytes(data)
    expected = reference_documents(text, fmt)
    for range_bytes in (1, 3, 17, 10**6):
        got = [
            [line.decode().rstrip("\n") for line in lines]
            for r in plan_ranges(str(path), len(data), range_bytes=range_bytes)
            for _, lines in read_range(r, fmt=fmt)
        ]
        assert got == expected, range_bytes


def test_owned_bytes_add_up_to_the_file(tmp_path):
    from albert_data.files.docranges import RangeScan

    data = "\ufeffa b\n\n\u3000\nc\nd\n\n\ne".encode()
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    for range_bytes in (1, 2, 5, 100):
        total = 0
        for r in plan_ranges(str(path), len(data), range_bytes=range_bytes):
            scan = RangeScan()
            list(read_range(r, fmt="blank-line", scan=scan))
            total += scan.owned_bytes(r)
        assert total == len(data), range_bytes
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress(data))
    scan = RangeScan()
    (r,) = plan_ranges(str(gz), gz.stat().st_size, range_bytes=1)
    list(read_range(r, fmt="blank-line", scan=scan))
    assert scan.owned_bytes(r) == len(data)
