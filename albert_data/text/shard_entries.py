"""How ``split-sentences`` orders and de-duplicates the documents of one output shard
with bounded memory: each kept document becomes a (key, data) entry, entries are sorted
(by the shuffle), later copies of a document are dropped and the rest put back in input
order (an external sort).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from albert_data.files.partfiles import external_sort
from albert_data.text.documents import CleanDocument

# A document in a part file. Key: its file's index in the input order; data: its byte
# offset in the file, its sentence count, its text. With de-duplication the key is the
# first 8 bytes of the content digest instead, and the data starts with the rest of the
# digest and the file index, so that copies of a document are adjacent, earliest first.
_PLACE = struct.Struct(">QI")  # offset, sentences
_FILE = struct.Struct(">I")
_DIGEST_REST = 12  # SHA-1 is 20 bytes, 8 of them in the key


def part_entry(
    file_index: int, offset: int, doc: CleanDocument, *, dedup: bool
) -> tuple[int, bytes]:
    """The (key, data) of a kept document in a part file (see ``_PLACE``)."""
    body = _PLACE.pack(offset, len(doc.sentences)) + doc.text.encode("utf-8")
    if not dedup:
        return file_index, body
    digest = doc.digest
    return (
        int.from_bytes(digest[:8], "big"),
        digest[8:] + _FILE.pack(file_index) + body,
    )


@dataclass
class ShardCounts:
    documents: int = 0
    sentences: int = 0
    duplicates: int = 0


def shard_documents(
    entries: Iterable[tuple[int, bytes]], *, dedup: bool, scratch_dir: str, counts: ShardCounts
) -> Iterator[bytes]:
    """The texts of one shard in input order, from its parts' entries merged in key
    order; with ``dedup``, only the first copy of each document (the others counted).
    Memory stays bounded: the reordering after de-duplication is an external sort."""
    if dedup:
        entries = external_sort(_first_copies(entries, counts), scratch_dir=scratch_dir)
    for _file_index, data in entries:
        _offset, sentences = _PLACE.unpack_from(data)
        counts.documents += 1
        counts.sentences += sentences
        yield data[_PLACE.size :]


def _first_copies(entries: Iterable[tuple[int, bytes]], counts: ShardCounts):
    previous = None
    for key, data in entries:
        digest = (key, data[:_DIGEST_REST])
        if digest == previous:
            counts.duplicates += 1
            continue
        previous = digest
        file_index = _FILE.unpack_from(data, _DIGEST_REST)[0]
        yield file_index, data[_DIGEST_REST + _FILE.size :]
