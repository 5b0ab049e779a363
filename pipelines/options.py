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
import contextlib
import functools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from albert_data.errors import UserError
from albert_data.limits import usable_cpus
from vocab.base import VocabError

# The runners albert-data runs its pipelines on, by the name Beam gives them, with the
# short names a user may type. Local: its workers share this machine and its working
# directory (a DirectRunner worker, or Prism's loopback workers in this process).
RUNNERS = {
    "DirectRunner": ("direct",),
    "PrismRunner": ("prism",),
    "PortableRunner": ("portable",),
    "FlinkRunner": ("flink",),
    "SparkRunner": ("spark",),
    "DataflowRunner": ("dataflow",),
}
LOCAL_RUNNERS = ("DirectRunner", "PrismRunner")
# Runners Beam knows that cannot run these pipelines, and why (one line each).
REFUSED_RUNNERS = {
    "DaskRunner": "Beam's DaskRunner cannot run these pipelines: it computes only the last leaf of a pipeline, merges tagged outputs and drops what finish_bundle emits, so shards and counts would be missing",
    "InteractiveRunner": "the InteractiveRunner is for notebooks; use the DirectRunner (the default) on this machine",
    "BundleBasedDirectRunner": "the BundleBasedDirectRunner runs in one thread without Beam's portable harness; use the DirectRunner",
    "SwitchingDirectRunner": "use --runner DirectRunner (this is its internal name)",
    "FnApiRunner": "use --runner DirectRunner (it runs on the FnApiRunner)",
    "TestDirectRunner": "a runner for Beam's own tests; use --runner DirectRunner",
    "TestDataflowRunner": "a runner for Beam's own tests; use --runner DataflowRunner",
    "KafkaStreamsRunner": "the Kafka Streams runner runs streaming pipelines; these are batch jobs",
}
_STAGING_FLAGS = (
    "--setup_file",
    "--extra_package",
    "--extra_packages",
    "--requirements_file",
    "--sdk_container_image",
    "--worker_harness_container_image",
)


def resolve_runner(name: str | None) -> str | None:
    """The runner ``name`` stands for, as Beam names it (``flink``, ``FlinkRunner`` and
    ``apache_beam.runners.portability.flink_runner.FlinkRunner`` are ``FlinkRunner``);
    one line naming the supported runners for any other, and saying why for a Beam
    runner that cannot run these pipelines."""
    if name is None:
        return None
    key = name.strip().rsplit(".", 1)[-1].lower()
    for canonical, short in RUNNERS.items():
        if key in (canonical.lower(), *short):
            return canonical
    for refused, why in REFUSED_RUNNERS.items():
        if key in (refused.lower(), refused.lower().removesuffix("runner")):
            raise UserError(f"--runner {name}: {why}")
    supported = ", ".join(f"{c} ({s[0]})" for c, s in RUNNERS.items())
    raise UserError(f"--runner {name} is not a runner albert-data runs on; use one of {supported}")


def is_local(runner: str | None) -> bool:
    """Whether ``runner``'s workers share this machine and its working directory."""
    return runner is None or resolve_runner(runner) in LOCAL_RUNNERS


def is_direct(runner: str | None) -> bool:
    return runner is None or resolve_runner(runner) == "DirectRunner"


def build_options(
    *,
    runner: str | None,
    pass_through: list[str],
    num_workers: int | None = None,
    job_name: str | None = None,
    warm_workers: bool = False,
    type_check: bool = True,
):
    """``PipelineOptions`` for ``runner`` with the user's pass-through flags.

    ``type_check=False`` (the local fast path): Beam does not infer and check element
    types while the pipeline is built. These pipelines declare none, so every inference
    ends in ``Any`` and picks the coders it would pick without it; it cost ~0.04 s of
    each start-up (``tests/test_runners.py`` compares the bytes with Beam's stock
    DirectRunner, which keeps the check).

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
    if is_direct(runner):
        workers = num_workers or usable_cpus()
        args = [
            "--runner=DirectRunner",
            "--direct_running_mode=multi_processing"
            if workers > 1 and not warm_workers
            else "--direct_running_mode=in_memory",
            f"--direct_num_workers={workers}",
            "--default_sdk_harness_log_level=CRITICAL",
            *([] if type_check else ["--no_pipeline_type_check"]),
            *args,
        ]
    else:
        args = [f"--runner={resolve_runner(runner)}", *args]
        if job_name and not any(a.startswith("--job_name") for a in args):
            args.append(f"--job_name={job_name}")
        if not is_local(runner) and not any(a.split("=")[0] in _STAGING_FLAGS for a in args):
            args.extend(staging_args())
    _check_dry_run_locations(runner, args)
    try:
        return PipelineOptions(args)
    except SystemExit as err:  # argparse inside Beam exits on a malformed option
        raise UserError(
            f"invalid Beam pipeline option in {' '.join(pass_through)!r}; see --help"
        ) from err


def _check_dry_run_locations(runner: str | None, args: list[str]) -> None:
    """A Dataflow dry run stays offline only with a valid ``gs://`` temporary or staging
    location: without one Beam looks for (and would create) a default bucket on Google
    Cloud Storage, retrying for minutes without credentials."""
    import re

    from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator as V

    if is_local(runner) or resolve_runner(runner) != "DataflowRunner":
        return
    values = dict(a.split("=", 1) for a in args if a.startswith("--") and "=" in a)
    if values.get("--dry_run", "").lower() not in ("true", "1", "yes"):
        return
    for flag in ("--temp_location", "--staging_location"):
        match = re.fullmatch(V.GCS_URI, values.get(flag, ""), re.DOTALL)
        if (
            match
            and match["SCHEME"] == V.GCS_SCHEME
            and re.fullmatch(V.GCS_BUCKET, match["BUCKET"])
            and match["OBJECT"]
        ):
            return
    given = values.get("--temp_location")
    what = f"--temp_location {given} is not a gs://BUCKET/PATH" if given else "no --temp_location"
    raise UserError(
        f"{what}: a Dataflow dry run needs one (Beam would otherwise look for a default bucket on Google Cloud Storage), e.g. --temp_location gs://my-bucket/tmp"
    )


def direct_runner(options, warm=None):
    """The DirectRunner's engine, ``FnApiRunner`` (as :class:`pipelines.local_runner.LocalRunner`,
    which gives a stage's bundles only to workers with input, and with this process's
    state samplers on a short period, ``pipelines.state_sampling``), for ``options``; with
    ``warm`` (a started :class:`pipelines.workers.WarmWorkers`) its workers are those
    processes.

    The same runner ``DirectRunner`` picks for these pipelines, without its choice:
    Beam's DirectRunner first translates the pipeline for the Prism runner and tries to
    fetch Prism's binary from GitHub (a download at run time), then
    translates it again for this one."""
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    from pipelines import state_sampling
    from pipelines.local_runner import LocalRunner

    state_sampling.install()

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
    )
    environment = warm.environment(options) if warm is not None else None
    return LocalRunner(default_environment=environment, provision_info=provision)


def check_paths_for_runner(runner: str | None, paths: dict[str, list[str]]) -> None:
    """Dataflow workers cannot see this machine's files: refuse local inputs and outputs
    up front instead of failing on the workers. ``paths`` maps a flag name to its paths."""
    from albert_data.files.fileio import is_remote

    if runner is None or resolve_runner(runner) != "DataflowRunner":
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


def _source_copy(root: Path, dest: Path) -> Path:
    """What the wheel is built from, copied out of the checkout (setuptools leaves
    ``build/`` and ``*.egg-info`` in the directory it builds)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            shutil.copy2(root / name, dest / name)
    for package in ("albert_data", "pipelines", "vocab"):
        shutil.copytree(root / package, dest / package, ignore=skip)
    return dest


def _can_build_here() -> bool:
    """Whether this interpreter's own setuptools can build the wheel (as new as
    pyproject.toml's build requirement): then neither pip nor an isolated build
    environment is needed, which take seconds (and an index)."""
    try:
        from importlib.metadata import version

        major = int(version("setuptools").split(".")[0])
    except Exception:  # noqa: BLE001 - not installed, or an unreadable version
        return False
    return major >= 77


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
    source = _source_copy(root, out / "src")  # setuptools writes build/ into its source
    if _can_build_here():  # PEP 517's build_wheel, called as pip would, without pip
        command = ["-c", f"from setuptools import build_meta; build_meta.build_wheel({str(out)!r})"]
    else:  # pip installs a setuptools new enough in an isolated environment first
        command = ["-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)]
    result = subprocess.run([sys.executable, *command], cwd=source, capture_output=True, text=True)
    shutil.rmtree(source, ignore_errors=True)
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


def job_failure(
    err: BaseException,
    *,
    runner: str | None,
    options: dict,
    job_id: str | None = None,
    submitted: bool = True,
) -> str:
    """One line for a job on a remote runner that could not be submitted
    (``submitted=False``) or failed: a bad input or unusable vocabulary a worker met,
    else the worker's exception, else the job's end, with where its log is. A full disk
    or a forbidden location met by a worker is raised as the ``OSError`` the CLI
    describes in one line."""
    import grpc

    from pipelines.errors import worker_exception_line

    message = str(err)
    for marker in ("UserError: ", "VocabError: "):
        if marker in message:
            line = message.split(marker, 1)[1].splitlines()[0]
            return line.split(" [while running")[0].strip().strip("'\"")
    os_error = _worker_os_error(message)
    if os_error is not None:
        raise os_error from None
    if not submitted:
        endpoint = options.get("job_endpoint")
        if isinstance(err, grpc.FutureTimeoutError) and endpoint:
            timeout = options.get("job_server_timeout")
            return f"no job service answered at --job_endpoint {endpoint} within {timeout} s; start it (README, Runners) or correct the address"
        first = (message.strip().splitlines() or [""])[0][:300]
        line = f"the {runner} job could not be submitted: {type(err).__name__}: {first}"
        if runner == "PrismRunner" and "prism binary" in message:
            line += "; without network, pass --prism_location with a downloaded Prism binary"
        return line.rstrip(": ")
    where = (
        "the job's page in the Dataflow console"
        if runner == "DataflowRunner"
        else "the job service's log"
    )
    worker = worker_exception_line(message)
    job = f"the {runner} job {job_id}" if job_id else f"the {runner} job"
    if worker:
        return f"{job} failed: {worker} (the full traceback is in {where})"
    first = (message.strip().splitlines() or [type(err).__name__])[0][:300]
    return f"{job} failed: {first} (see {where})"


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


def counters(result) -> dict[str, int]:
    """Every Beam counter of a run by name, committed values summed over steps."""
    out: dict[str, int] = {}
    for found in result.metrics().query()["counters"]:
        name = found.key.metric.name
        out[name] = out.get(name, 0) + int(found.committed or 0)
    return out


_RUNNER_MODULES = {
    "DirectRunner": "apache_beam.runners.direct.direct_runner",
    "PrismRunner": "apache_beam.runners.portability.prism_runner",
    "PortableRunner": "apache_beam.runners.portability.portable_runner",
    "FlinkRunner": "apache_beam.runners.portability.flink_runner",
    "SparkRunner": "apache_beam.runners.portability.spark_runner",
    "DataflowRunner": "apache_beam.runners.dataflow.dataflow_runner",
}


@functools.lru_cache(maxsize=8)
def _beam_parser(runner: str | None = None):
    """An ``argparse`` parser holding every option a registered ``PipelineOptions``
    subclass defines: Beam's own, and those of ``runner``'s module (imported first, as
    a runner registers its options by being imported)."""
    import argparse
    import importlib

    from apache_beam.options.pipeline_options import PipelineOptions

    try:
        canonical = resolve_runner(runner)
    except UserError:
        canonical = None  # refused in one line by the command right after
    if canonical in _RUNNER_MODULES:
        # e.g. Dataflow without apache-beam[gcp]: Beam says so when it runs
        with contextlib.suppress(ImportError):
            importlib.import_module(_RUNNER_MODULES[canonical])
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
    return parser


def known_beam_options(runner: str | None = None) -> set[str]:
    """Every ``--option`` Beam (and ``runner``'s module) defines."""
    parser = _beam_parser(runner)
    return {opt for action in parser._actions for opt in action.option_strings}  # noqa: SLF001


def beam_option_arity(name: str, *, runner: str | None = None) -> int | None:
    """How many values Beam's definition of ``--name`` takes: 0 for a flag
    (``--save_main_session``), 1 for an option with a value (``--project``), ``None``
    when Beam does not define it."""
    parser = _beam_parser(runner)
    for action in parser._actions:  # noqa: SLF001
        if name in action.option_strings:
            return 0 if action.nargs == 0 else 1
    return None


def check_known_options(
    pass_through: list[str], *, command_options: tuple[str, ...] = (), runner: str | None = None
) -> None:
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
            known = known_beam_options(runner)
        if name in known or name in command_options:
            continue
        close = difflib.get_close_matches(name, [*command_options, *sorted(known)], n=1)
        hint = f"did you mean {close[0]}?" if close else "see --help and Beam's pipeline options"
        raise UserError(f"unknown option {name}: neither this command nor Beam knows it; {hint}")
