"""Beam pipeline options shared by every albert-data pipeline.

* No ``--runner``: the DirectRunner in multi-processing mode on all cores
  (``--num-workers`` overrides), the fastest way to use one machine.
* Any other runner (Dataflow, Flink, Spark, Prism...) gets every pass-through option
  as given; for a remote runner this package is built as a wheel and staged with
  ``--extra_package`` unless the user stages code themselves (``--setup_file``,
  ``--extra_package(s)``, ``--requirements_file`` or a container image).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from albert_data.errors import UserError
from vocab.base import VocabError

LOCAL_RUNNERS = {"direct", "directrunner", "prismrunner", "prism"}
_STAGING_FLAGS = (
    "--setup_file",
    "--extra_package",
    "--extra_packages",
    "--requirements_file",
    "--sdk_container_image",
    "--worker_harness_container_image",
)


def is_local(runner: str | None) -> bool:
    return runner is None or runner.lower() in LOCAL_RUNNERS


def build_options(
    *,
    runner: str | None,
    pass_through: list[str],
    num_workers: int | None = None,
    job_name: str | None = None,
    warm_workers: bool = False,
):
    """``PipelineOptions`` for ``runner`` with the user's pass-through flags.

    ``warm_workers``: the DirectRunner's workers are given by :func:`direct_runner`'s
    environment (:class:`pipelines.workers.WarmWorkers`); its ``FnApiRunner`` keeps a
    given environment only in ``in_memory`` mode (``multi_processing`` would replace it
    with processes of its own), and ``direct_num_workers`` still sets how many run."""
    import logging

    from apache_beam.options.pipeline_options import PipelineOptions

    logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
    # Worker failures are re-raised by run_pipeline as one line; the local job service
    # would otherwise print every worker traceback first.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(
        logging.CRITICAL
    )
    args = list(pass_through)
    if runner is None or runner.lower() in ("direct", "directrunner"):
        workers = num_workers or os.cpu_count() or 1
        args = [
            "--runner=DirectRunner",
            "--direct_running_mode=multi_processing"
            if workers > 1 and not warm_workers
            else "--direct_running_mode=in_memory",
            f"--direct_num_workers={workers}",
            "--default_sdk_harness_log_level=CRITICAL",
            *args,
        ]
    else:
        args = [f"--runner={runner}", *args]
        if job_name and not any(a.startswith("--job_name") for a in args):
            args.append(f"--job_name={job_name}")
        if not is_local(runner) and not any(a.split("=")[0] in _STAGING_FLAGS for a in args):
            args.extend(staging_args())
    try:
        return PipelineOptions(args)
    except SystemExit as err:  # argparse inside Beam exits on a malformed option
        raise UserError(
            f"invalid Beam pipeline option in {' '.join(pass_through)!r}; see --help"
        ) from err


def direct_runner(options, warm=None):
    """The DirectRunner's engine, ``FnApiRunner``, for ``options``; with ``warm`` (a
    started :class:`pipelines.workers.WarmWorkers`) its workers are those processes.

    The same runner ``DirectRunner`` picks for these pipelines, without its choice:
    Beam's DirectRunner first translates the pipeline for the Prism runner and tries to
    fetch Prism's binary from GitHub (a download at run time), then
    translates it again for this one."""
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
    )
    environment = warm.environment(options) if warm is not None else None
    return fn_runner.FnApiRunner(default_environment=environment, provision_info=provision)


def check_paths_for_runner(runner: str | None, paths: dict[str, list[str]]) -> None:
    """Dataflow workers cannot see this machine's files: refuse local inputs and outputs
    up front instead of failing on the workers. ``paths`` maps a flag name to its paths."""
    from albert_data.files.fileio import is_remote

    if runner is None or runner.lower() not in ("dataflowrunner", "dataflow"):
        return
    for flag, values in paths.items():
        local = [p for p in values if not is_remote(p)]
        if local:
            raise UserError(
                f"{flag} {local[0]} is a local path, which {runner} workers cannot read or write; use a gs:// path"
            )


def project_root() -> Path | None:
    """The source checkout this package runs from, if any (it has a pyproject.toml)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "albert_data").is_dir() else None


def _staging_dir(prefix: str) -> Path:
    """A temporary directory for files the job submission uploads, removed when this
    process exits (the submission has read them by then)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


def staging_args() -> list[str]:
    """Options that ship this package to remote workers (their files are removed when
    this process exits)."""
    root = project_root()
    if root is None:
        from albert_data import __version__

        req = _staging_dir("albert-data-req-") / "requirements.txt"
        req.write_text(f"albert-data=={__version__}\n")
        return [f"--requirements_file={req}"]
    out = _staging_dir("albert-data-wheel-")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(root)],
        capture_output=True,
        text=True,
    )
    wheels = sorted(out.glob("albert_data-*.whl"))
    if result.returncode != 0 or not wheels:
        shutil.rmtree(out, ignore_errors=True)
        raise UserError(
            f"could not build a wheel of {root} to stage on the workers ({result.stderr.strip().splitlines()[-1:]}); pass --setup_file or --extra_package yourself"
        )
    return [f"--extra_package={wheels[0]}"]


def run_pipeline(pipeline, *, wait: bool = True) -> object:
    """Run (and wait, unless ``wait`` is false); turn a user error raised inside a worker
    into a one-line UserError, and a full disk, a file-size limit or an unwritable
    location met inside a worker into the ``OSError`` the CLI reports in one line."""
    try:
        result = pipeline.run()
        if wait:
            result.wait_until_finish()
        return result
    except UserError:
        raise
    except VocabError as err:  # met by the harness in this process (unwrapped)
        raise UserError(str(err)) from None
    except Exception as err:  # noqa: BLE001 - Beam wraps worker exceptions in many types
        if _interrupted(err):
            raise KeyboardInterrupt from None
        message = str(err)
        # A vocabulary a worker cannot use (VocabError) is a user error too.
        for marker in ("UserError: ", "VocabError: "):
            if marker in message:
                line = message.split(marker, 1)[1].splitlines()[0]
                line = line.split(" [while running")[0].strip().strip("'\"")
                raise UserError(line) from err
        os_error = _worker_os_error(message)
        if os_error is not None:
            raise os_error from err
        raise


def _worker_os_error(message: str) -> OSError | None:
    """A full disk, a file-size limit or a forbidden location met inside a worker, as
    the ``OSError`` the CLI turns into one line (``fileio.describe_os_error``)."""
    from albert_data.files.fileio import ACCESS_ERRNOS, SPACE_ERRNOS
    from pipelines.errors import os_error_in

    return os_error_in(message, SPACE_ERRNOS | ACCESS_ERRNOS)


def _interrupted(err: BaseException) -> bool:
    """Whether ``err`` is Ctrl-C met inside a DoFn run in this process (the in-memory
    DirectRunner): Beam re-raises it as ``RuntimeError("KeyboardInterrupt [while
    running ...]")``."""
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, KeyboardInterrupt):
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


def counter(result, name: str) -> int:
    """The committed value of a Beam counter (0 if it never fired)."""
    from apache_beam.metrics.metric import MetricsFilter

    found = result.metrics().query(MetricsFilter().with_name(name))["counters"]
    return int(sum(c.committed or 0 for c in found))


def known_beam_options() -> set[str]:
    """Every ``--option`` a registered ``PipelineOptions`` subclass defines (Beam's own
    and any a runner or user module registered by being imported)."""
    import argparse

    from apache_beam.options.pipeline_options import PipelineOptions

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    seen: set[str] = set()
    pending = list(PipelineOptions.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if str(cls) in seen:
            continue
        seen.add(str(cls))
        try:
            cls._add_argparse_args(parser)  # noqa: SLF001 - Beam's registration hook
        except argparse.ArgumentError:
            continue  # the same option registered twice (a class defined twice)
    return {opt for action in parser._actions for opt in action.option_strings}  # noqa: SLF001


def check_known_options(pass_through: list[str], *, command_options: tuple[str, ...] = ()) -> None:
    """Refuse a pass-through option that neither the command (``command_options``, e.g.
    ``("--min-sentences", ...)``) nor Beam knows, naming the closest known option: Beam
    would otherwise ignore a misspelled option in silence."""
    import difflib

    known = None
    for token in pass_through:
        if not token.startswith("--"):
            continue
        name = token.split("=", 1)[0]
        if known is None:
            known = known_beam_options()
        if name in known or name in command_options:
            continue
        close = difflib.get_close_matches(name, [*command_options, *sorted(known)], n=1)
        hint = f"did you mean {close[0]}?" if close else "see --help and Beam's pipeline options"
        raise UserError(f"unknown option {name}: neither this command nor Beam knows it; {hint}")
