"""Which vocabulary a set of records was made with, and the check that a later command
(``inspect``, ``train``, ``export``) uses the same one.

``make-pretraining`` writes ``stats.json`` beside its shards; its ``vocabulary`` entry
holds the tokenizer's fingerprint (sha256 of the model bytes and the normalisation and
segmenter settings) and the path it was loaded from.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from albert_data.errors import UserError
from albert_data.files import fileio

STATS_NAME = "stats.json"
OVERRIDE_FLAG = "--allow-vocab-mismatch"


@dataclass(frozen=True)
class RecordsVocabulary:
    """The vocabulary recorded in a ``stats.json``."""

    stats_path: str
    fingerprint: str
    path: str | None


def stats_paths(record_files: list[str]) -> list[str]:
    """The ``stats.json`` files beside ``record_files`` that exist (one per directory)."""
    dirs = dict.fromkeys(fileio.parent_dir(f) for f in record_files)
    found = []
    for d in dirs:
        candidate = f"{d.rstrip('/')}/{STATS_NAME}"
        if fileio.exists(candidate):
            found.append(candidate)
    return found


def recorded_vocabularies(record_files: list[str]) -> list[RecordsVocabulary]:
    """The vocabularies named by the ``stats.json`` files beside ``record_files``; a
    ``stats.json`` without a fingerprint (or not JSON) is passed over."""
    out = []
    for path in stats_paths(record_files):
        with fileio.open_raw(path) as fh:
            try:
                vocab = json.loads(fh.read().decode("utf-8")).get("vocabulary") or {}
            except (ValueError, UnicodeDecodeError, AttributeError):
                continue
        if vocab.get("fingerprint"):
            out.append(RecordsVocabulary(path, vocab["fingerprint"], vocab.get("path")))
    return out


def check_vocabulary(
    record_files: list[str], *, fingerprint: str, vocab_path: str, allow_mismatch: bool = False
) -> None:
    """Refuse a vocabulary other than the one the records were made with, when their
    ``stats.json`` says which (``allow_mismatch`` skips the check)."""
    if allow_mismatch:
        return
    for recorded in recorded_vocabularies(record_files):
        if recorded.fingerprint != fingerprint:
            raise UserError(
                f"{vocab_path} (fingerprint {fingerprint[:12]}) is not the vocabulary the records were made with: {recorded.stats_path} names {recorded.path or 'another vocabulary'} (fingerprint {recorded.fingerprint[:12]}); pass that vocabulary, or {OVERRIDE_FLAG} if you know they agree"
            )


def record_in_model_dir(record_files: list[str] | tuple[str, ...], model_dir: str) -> str | None:
    """Copy the first ``stats.json`` beside ``record_files`` that names a vocabulary into
    ``model_dir`` (written whole, then renamed), so that ``export --model-dir`` can check
    a vocabulary against the records without ``--records``. Returns the copy's path, or
    None when the records have no such ``stats.json``. A failed write (a full disk)
    leaves no partial copy."""
    recorded = recorded_vocabularies(list(record_files))
    if not recorded:
        return None
    with fileio.open_raw(recorded[0].stats_path) as fh:
        data = fh.read()
    target = f"{model_dir.rstrip('/')}/{STATS_NAME}"
    partial = fileio.temp_name(target)
    try:
        with fileio.open_write(partial, compress=False) as out:
            out.write(data)
        fileio.rename(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            fileio.delete([partial])
        raise
    return target


@dataclass(frozen=True)
class RecordShape:
    """The record shape a ``stats.json`` records (``record_shape``)."""

    stats_path: str
    max_seq_length: int
    max_predictions_per_seq: int


def recorded_shapes(record_files: list[str]) -> list[RecordShape]:
    """The record shapes named by the ``stats.json`` files beside ``record_files``; one
    without a ``record_shape`` (or not JSON) is passed over."""
    out = []
    for path in stats_paths(record_files):
        with fileio.open_raw(path) as fh:
            try:
                shape = json.loads(fh.read().decode("utf-8")).get("record_shape") or {}
                length = int(shape["max_seq_length"])
                preds = int(shape["max_predictions_per_seq"])
            except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
                continue
        out.append(RecordShape(path, length, preds))
    return out
