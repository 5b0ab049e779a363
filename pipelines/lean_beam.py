"""Beam without its optional integrations, for a local run of local files.

``import apache_beam`` imports every IO connector whose library is installed: Google
Cloud (GCS, BigQuery, Pub/Sub, Datastore...), the S3, Azure and HDFS file systems (and
apitools, which S3's retry rules load), cross-language IOs, Parquet (pyarrow) and
MongoDB: about half of what the import costs, in the launcher and in every worker
(``make bench``'s start-up figures). Beam imports
each of them inside ``try: ... except ImportError``, as a library that may be missing. A DirectRunner run whose inputs and outputs are local files uses
none of them, so :func:`without_optional_io` makes them look missing while Beam is
first imported. Nothing else changes: a run that names a ``gs://`` (or any remote) path
imports Beam whole.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import logging
import sys

OPTIONAL = (
    "apache_beam.io.aws",
    "apache_beam.io.azure",
    "apache_beam.io.hadoopfilesystem",
    "apitools",
    "apache_beam.io.gcp",
    "apache_beam.transforms.xlang",
    "google.cloud",
    "pyarrow",
    "pymongo",
)


def _optional(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in OPTIONAL)


class _Absent(importlib.abc.MetaPathFinder):
    """Finds the :data:`OPTIONAL` modules missing."""

    def find_spec(self, name, path=None, target=None):
        if _optional(name):
            raise ModuleNotFoundError(f"{name} is not used by a local run", name=name)
        return None


@contextlib.contextmanager
def without_optional_io(enabled: bool = True):
    """Inside the block, the first import of Beam leaves out :data:`OPTIONAL` (no
    effect if Beam is already imported or ``enabled`` is false)."""
    if not enabled or "apache_beam" in sys.modules:
        yield
        return
    # Beam logs a warning for the GCS filesystem it could not import.
    logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
    finder = _Absent()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
