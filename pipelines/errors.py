"""Bad input found inside a worker, reported as one line by the launcher.

A DoFn that meets a :class:`UserError` (an undecodable byte under ``--strict``, a NUL
byte, a malformed JSONL line) emits it on the ``errors`` output and stops reading that
range, instead of raising: a raised error would have the runner print the worker's
traceback and retry. The first error in input order is written to a file; the launcher
raises it after the run, and writes no output.
"""

from __future__ import annotations

import re

import apache_beam as beam

from albert_data.errors import UserError
from albert_data.files.fileio import exists, open_raw, open_write

ERRORS = "errors"


def error_output(file_index: int, start: int, err: UserError) -> beam.pvalue.TaggedOutput:
    """The element to yield for ``err`` met in the byte range starting at ``start`` of
    the input file ``file_index`` (its position in the command's input order)."""
    return beam.pvalue.TaggedOutput(ERRORS, (file_index, start, str(err)))


class WriteFirstError(beam.PTransform):
    """(file index, start, message) elements → the first message in input order,
    written to ``error_path``."""

    def __init__(self, error_path: str):
        super().__init__()
        self.error_path = error_path

    def expand(self, errors):
        return (
            errors
            | "FirstError" >> beam.CombineGlobally(min).without_defaults()
            | "WriteError" >> beam.Map(_write, self.error_path)
        )


def _write(error, path: str) -> None:
    with open_write(path, compress=False) as fh:
        fh.write(error[2].encode("utf-8"))


def raise_first_error(error_path: str) -> None:
    """Raise the error a worker reported, if any."""
    if exists(error_path):
        with open_raw(error_path) as fh:
            raise UserError(fh.read().decode("utf-8"))


# How an OSError reads in the text of a worker's traceback, which is all a runner hands
# back: ``OSError: [Errno 28] No space left on device: 'out/.albert-data-…/run-….part'``.
_OS_ERROR = re.compile(
    r"(?:^|[\s:(])(?:OSError|IOError|PermissionError|IsADirectoryError|NotADirectoryError): \[Errno (?P<errno>\d+)\] (?P<strerror>[^:\n\[\]]+?)"
    r"(?:: (?P<quote>['\"])(?P<filename>[^'\"\n]+)(?P=quote))?(?=\s*(?:\[while running|$|\n|'))",
    re.MULTILINE,
)


def os_error_in(text: str, errnos) -> OSError | None:
    """The ``OSError`` with an errno in ``errnos`` that a worker's traceback ``text``
    reports (the last one naming a file, else the last one), rebuilt so the launcher
    can describe it in one line; ``None`` when there is none."""
    found = [m for m in _OS_ERROR.finditer(text) if int(m["errno"]) in errnos]
    if not found:
        return None
    named = [m for m in found if m["filename"]]
    match = (named or found)[-1]
    return OSError(int(match["errno"]), match["strerror"].strip(), match["filename"])


# The exception a worker raised, as its traceback's text ends: ``FileNotFoundError:
# [Errno 2] No such file or directory: 'sent.txt' [while running 'Read']``.
_EXCEPTION_LINE = re.compile(
    r"^\s*(?:[A-Za-z_][\w.]*\.)?(?P<name>[A-Za-z_]\w*(?:Error|Exception|Exit)): (?P<text>.+)$"
)


def worker_exception_line(text: str) -> str | None:
    """``Name: message`` of the innermost exception a runner's failure ``text`` (a
    worker's traceback as the runner hands it back) reports; ``None`` without one.
    Beam's wrappers (``RuntimeError: Pipeline ... failed``, ``Error received from SDK
    harness``) are skipped for the worker's own exception."""
    found = []
    for line in text.splitlines():
        match = _EXCEPTION_LINE.match(line)
        if match is None:
            continue
        body = match["text"].split(" [while running")[0].strip()
        if body.startswith(("Pipeline ", "Error received from SDK harness", "Traceback")):
            continue
        found.append(f"{match['name']}: {body}")
    if not found:
        return None
    if found[-1].endswith("of RPC that terminated with:"):  # gRPC's: its details say why
        details = re.findall(r'^\s*details = "(.*)"\s*$', text, re.MULTILINE)
        if details:
            return f"{found[-1].split(':')[0]}: {details[-1]}"
    return found[-1]
