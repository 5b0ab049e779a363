"""Warm worker processes for the local DirectRunner.

With more than one worker, Beam's DirectRunner starts each worker process only when the
pipeline's first stage runs, after the launcher has imported Beam and built and
translated the pipeline: every worker then spends about a second importing Beam while
nothing else happens, and the runner waits for each worker's interpreter to finish at
the end. :class:`WarmWorkers` starts the workers first (``pipelines.worker_process``),
so that their imports overlap the launcher's, and hands them to the runner through
Beam's external worker pool protocol (``BeamFnExternalWorkerPool.StartWorker``): the
runner's :class:`FnApiRunner` asks for a worker, the next warm process gets the
endpoints and runs Beam's own SDK harness. Workers are the same code as Beam's; only
their start moves.

The launcher itself is idle while the pipeline runs, so the first worker is a harness
in a thread of the launcher (as Beam's own worker pool runs its workers), and only the
others are processes: one fewer Python start and Beam import per run.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading

STOP_SECONDS = 10.0


# A worker is one core's worth of work: its numpy (which Beam imports) need not start a
# BLAS thread for every core of the machine. OpenBLAS starts them when numpy is imported
# and they spin there (~0.05 s of a second core per process, measured), while the other
# workers and the launcher are importing too; with 64 workers that would be 64 × 63
# threads, against the machine's limit on a user's threads. Nothing a worker runs calls
# BLAS. A user's own OPENBLAS_NUM_THREADS wins.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1"}


def worker_environment(environ) -> dict[str, str]:
    """The environment of a worker process: the launcher's, with :data:`SINGLE_THREADED`
    where the user has not set those variables."""
    return {**SINGLE_THREADED, **environ}


class WarmWorkers:
    """``count`` workers: one in this process, ``count - 1`` processes importing Beam
    (``lean``: without its optional IO, see ``pipelines.lean_beam``), started at once; a
    context manager that stops every process it started on exit."""

    def __init__(self, count: int, *, lean: bool = False):
        self.count = count
        self.lean = lean
        self.processes: list[subprocess.Popen] = []
        self.in_process = None  # the harness run by this process, once asked for
        self.handed = 0
        self.lock = threading.Lock()
        self.pipeline_options_json = "{}"
        self.server = None
        self.url: str | None = None

    def __enter__(self) -> WarmWorkers:
        for _ in range(self.count - 1):
            self.processes.append(self._spawn())
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines.worker_process",
                *(["--lean"] if self.lean else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            cwd=os.getcwd(),
            env=worker_environment(os.environ),
        )

    def environment(self, options):
        """The runner's environment for these workers, serving the pool on localhost;
        ``options`` are the pipeline's (the workers get them as Beam's would)."""
        import grpc
        from apache_beam.portability.api import beam_fn_api_pb2_grpc
        from apache_beam.runners.portability.portable_runner import JobServiceHandle
        from apache_beam.transforms.environments import (
            ExternalEnvironment,
            python_sdk_capabilities,
        )
        from apache_beam.utils import thread_pool_executor
        from google.protobuf import json_format

        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        self.pipeline_options_json = json_format.MessageToJson(encoded)
        self.server = grpc.server(thread_pool_executor.shared_unbounded_instance())
        port = self.server.add_insecure_port("localhost:0")
        beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(
            _Pool(self), self.server
        )
        self.server.start()
        self.url = f"localhost:{port}"
        return ExternalEnvironment(self.url, capabilities=python_sdk_capabilities())

    def hand_over(self, request) -> None:
        """Give the next warm process the endpoints of ``request`` (a StartWorker)."""
        from google.protobuf import text_format

        env = {
            "CONTROL_API_SERVICE_DESCRIPTOR": text_format.MessageToString(request.control_endpoint),
            "LOGGING_API_SERVICE_DESCRIPTOR": text_format.MessageToString(request.logging_endpoint),
            "PIPELINE_OPTIONS": self.pipeline_options_json,
            "WORKER_ID": request.worker_id,
        }
        with self.lock:
            if self.in_process is None:
                self.in_process = _start_harness(request)
                return
            if self.handed == len(self.processes):  # the runner wants more than planned
                self.processes.append(self._spawn())
            process = self.processes[self.handed]
            self.handed += 1
        process.stdin.write((json.dumps(env) + "\n").encode("utf-8"))
        process.stdin.flush()

    def close(self, *, kill: bool = False) -> None:
        """Release the processes not handed out and wait for the others (the runner has
        closed their control channels); kill what is still running after
        :data:`STOP_SECONDS`, or at once with ``kill`` (the run failed or was
        interrupted)."""
        for process in self.processes:
            with contextlib.suppress(OSError):
                process.stdin.close()
            if kill:
                process.kill()
        for process in self.processes:
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.server is not None:
            self.server.stop(0)


def _start_harness(request):
    """Beam's SDK harness for ``request`` (a StartWorker) in a thread of this process,
    as Beam's worker pool runs one (``worker_pool_main``, ``use_process=False``)."""
    from apache_beam.runners.worker.sdk_worker import SdkHarness

    harness = SdkHarness(request.control_endpoint.url, worker_id=request.worker_id)
    thread = threading.Thread(target=harness.run, name="launcher-worker", daemon=True)
    thread.start()
    return thread


class _Pool:
    """The external worker pool service (``BeamFnExternalWorkerPool``): StartWorker
    hands out a warm process."""

    def __init__(self, workers: WarmWorkers):
        self.workers = workers

    def StartWorker(self, request, context):  # noqa: N802 - the gRPC method name
        from apache_beam.portability.api import beam_fn_api_pb2

        try:
            self.workers.hand_over(request)
        except OSError as err:
            return beam_fn_api_pb2.StartWorkerResponse(error=f"warm worker: {err}")
        return beam_fn_api_pb2.StartWorkerResponse()

    def StopWorker(self, request, context):  # noqa: N802 - the gRPC method name
        from apache_beam.portability.api import beam_fn_api_pb2

        return beam_fn_api_pb2.StopWorkerResponse()
