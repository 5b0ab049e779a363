"""The inputs of a run, planned before it starts: the files in order, their sizes, and
the ranges the workers read in parallel (:func:`plan_inputs`): byte ranges of text,
whole wrapped files, Parquet row groups, as the layout asks
(:func:`albert_data.text.rawtext.plan_file_ranges`).

A dry run (Beam's ``--dry_run``) lists and sizes no remote input: its remote patterns are
taken as they are and read as one range each.
"""

from __future__ import annotations

from dataclasses import dataclass

from albert_data.files import fileio
from albert_data.files.docranges import ByteRange, auto_range_bytes
from albert_data.text.rawtext import ReadConfig, plan_file_ranges


@dataclass(frozen=True)
class InputPlan:
    """The inputs of a run: files in order, their sizes, and the ranges to read."""

    files: list[str]
    sizes: dict[str, int]
    ranges: list[tuple[int, ByteRange]]  # (index of the file, range)

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())

    def range_sizes(self) -> list[tuple[int, ByteRange, int]]:
        """Each range with the bytes it is planned to read."""
        out = []
        for index, r in self.ranges:
            size = self.sizes.get(r.path, 0)
            end = size if r.end == -1 else r.end
            out.append((index, r, max(0, end - r.start)))
        return out


def expand_inputs(patterns: list[str], *, dry_run: bool = False) -> list[str]:
    """Input files; in a dry run remote patterns are taken as they are (not listed)."""
    if dry_run:
        return [p for p in patterns if fileio.is_remote(p)] + fileio.expand_inputs(
            [p for p in patterns if not fileio.is_remote(p)]
        )
    return fileio.expand_inputs(patterns)


def plan_inputs(
    files: list[str],
    read: ReadConfig | None = None,
    *,
    range_bytes: int | None = None,
    workers: int = 1,
    dry_run: bool = False,
) -> InputPlan:
    """Sizes and the ranges to read for the layout ``read``, text cut in byte ranges of
    ``range_bytes`` (default: :func:`auto_range_bytes` of the input for ``workers``
    workers); a dry run reads one range per input, a remote one sized 0."""
    if dry_run:
        sizes = {f: 0 if fileio.is_remote(f) else fileio.file_size(f) for f in files}
        ranges = [(i, ByteRange(f, 0, -1)) for i, f in enumerate(files)]
        return InputPlan(files, sizes, ranges)
    read = read or ReadConfig()
    sizes = {f: fileio.file_size(f) for f in files}
    step = range_bytes or auto_range_bytes(sum(sizes.values()), workers)
    ranges = [
        (i, r)
        for i, f in enumerate(files)
        for r in plan_file_ranges(f, sizes[f], read, range_bytes=step)
    ]
    return InputPlan(files, sizes, ranges)
