"""Parquet files, the format of Hugging Face datasets (Wikipedia, C4, FineWeb): the rows
of one text column, read with pyarrow through the project's file layer (local paths and
any Beam file system).

A row group is the parallel unit, as a byte range is for text: :func:`plan_row_groups`
makes one :class:`~albert_data.files.docranges.ByteRange` per row group, starting at the
group's first byte (the first one at 0, the last one running to the end of the file,
so that the ranges of a file add up to its size), and :func:`read_rows` reads the row
groups whose first byte lies in a range — the rule of ``docranges``: no row is read
twice or lost, however the ranges are spread over workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from albert_data.errors import UserError
from albert_data.files.docranges import ByteRange
from albert_data.files.fileio import open_raw

BATCH_ROWS = 256  # rows decoded at a time: memory stays bounded by a batch, not a group
MAGIC = b"PAR1"


@contextmanager
def parquet_file(path: str):
    """The open ``pyarrow.parquet.ParquetFile`` of ``path``; a file that is no Parquet
    is one line naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open_raw(path) as fh:
        try:
            yield pq.ParquetFile(fh)
        except (pa.ArrowInvalid, OSError) as err:
            if isinstance(err, UserError):
                raise
            raise UserError(
                f"{path}: cannot be read as Parquet ({str(err).splitlines()[0]}); give .parquet "
                f"files with --input-format parquet, or choose the format of this file"
            ) from None


def row_group_starts(metadata) -> list[int]:
    """The byte offset of each row group's first page."""
    starts = []
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        offsets = []
        for j in range(group.num_columns):
            column = group.column(j)
            dictionary = column.dictionary_page_offset if column.has_dictionary_page else None
            offsets.append(dictionary if dictionary else column.data_page_offset)
        starts.append(min(offsets) if offsets else 0)
    return starts


def plan_row_groups(path: str) -> list[ByteRange]:
    """One range per row group (a file without rows: one range, which reads nothing)."""
    with parquet_file(path) as pf:
        starts = row_group_starts(pf.metadata)
    if not starts:
        return [ByteRange(path, 0, -1)]
    starts[0] = 0
    return [ByteRange(path, s, e) for s, e in zip(starts, [*starts[1:], -1])]


def check_text_column(path: str, schema, column: str) -> None:
    """Refuse a missing or non-string column in one line naming the columns there are."""

    names = schema.names
    if column not in names:
        raise UserError(
            f"{path}: has no column {column!r} (columns: {', '.join(names)}); choose the text "
            f"column with --text-field"
        )
    kind = schema.field(column).type
    if not is_text(kind):
        text = [n for n in names if is_text(schema.field(n).type)]
        hint = f"string columns: {', '.join(text)}" if text else "it has no string column"
        raise UserError(
            f"{path}: column {column!r} holds {kind}, not text ({hint}); choose a string "
            f"column with --text-field"
        )


def is_text(kind) -> bool:
    """Whether an Arrow type holds UTF-8 strings (string, large_string, string_view)."""
    import pyarrow as pa

    view = getattr(pa.types, "is_string_view", None)
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or (view is not None and view(kind))
    )


def read_rows(
    byte_range: ByteRange, column: str, *, on_group=None
) -> Iterator[tuple[int, str | None]]:
    """(row number in the file, text or ``None`` for a null) of every row of the row
    groups that start in ``byte_range``; ``on_group(bytes)``, if given, is told each
    group's compressed size once it is read."""
    if not column:
        raise UserError(f"{byte_range.path}: --text-field is empty; name the text column")
    with parquet_file(byte_range.path) as pf:
        check_text_column(byte_range.path, pf.schema_arrow, column)
        metadata = pf.metadata
        starts = row_group_starts(metadata)
        first_row = 0
        for index, start in enumerate(starts):
            group = metadata.row_group(index)
            if byte_range.start <= start and (byte_range.end == -1 or start < byte_range.end):
                row = first_row
                for batch in pf.iter_batches(
                    batch_size=BATCH_ROWS, row_groups=[index], columns=[column]
                ):
                    for text in batch.column(0).to_pylist():
                        yield row, text
                        row += 1
                if on_group is not None:
                    on_group(
                        sum(group.column(j).total_compressed_size for j in range(group.num_columns))
                    )
            first_row += group.num_rows


def looks_parquet(head: bytes) -> bool:
    return head.startswith(MAGIC)
