"""Running a pipeline on a remote runner (Dataflow, the portable runner, Flink, Spark):
submit it, name the job (and its console page on Dataflow), say each state it reaches
until it ends, and tell any failure in one line; and the step names of a translated job
(a Dataflow dry run prints them)."""

from __future__ import annotations

from collections.abc import Callable

from albert_data.errors import UserError


def run_remote(pipeline, *, error_path: str, say: Callable[[str], None]):
    """Submit, name the job (and its console URL on Dataflow), report each state change
    until it ends. Every failure is one line: the submission's, the first bad input a
    worker reported (in input order), the worker's exception, or the job's end state."""
    from apache_beam.runners.runner import PipelineState

    from pipelines.errors import raise_first_error
    from pipelines.options import job_failure, run_pipeline

    options = pipeline.options.get_all_options()
    runner = options.get("runner")
    try:
        result = run_pipeline(pipeline, wait=False)
    except (UserError, OSError):
        raise
    except Exception as err:  # noqa: BLE001 - each runner fails its submission its own way
        raise UserError(job_failure(err, runner=runner, options=options, submitted=False)) from None
    job_id = _job_id(result)
    if runner == "DataflowRunner" and job_id:
        url = (
            f"https://console.cloud.google.com/dataflow/jobs/{options.get('region')}/{job_id}"
            f"?project={options.get('project')}"
        )
        say(f"job {job_id} submitted: {url}")
    elif job_id:
        say(f"job {job_id} submitted to {runner}")
    try:
        state = _wait(result, runner, say=say)
    except KeyboardInterrupt:  # the job is the runner's now: stopping here does not stop it
        say(
            f"the {runner} job {job_id or ''} was not cancelled: stop it on the runner".replace(
                "  ", " "
            )
        )
        raise
    except (UserError, OSError):
        raise
    except Exception as err:  # noqa: BLE001 - a failed job is raised by wait_until_finish
        raise_first_error(error_path)
        raise UserError(job_failure(err, runner=runner, options=options, job_id=job_id)) from None
    if state != PipelineState.DONE:
        raise_first_error(error_path)
        raise UserError(
            f"the {runner} job {job_id or ''} ended {state}; {_log_hint(runner)}".replace("  ", " ")
        )
    return result


def _job_id(result) -> str | None:
    job_id = getattr(result, "job_id", None)
    if callable(job_id):
        return job_id()
    return getattr(result, "_job_id", None)  # the portable runner's


def _log_hint(runner: str | None) -> str:
    if runner == "DataflowRunner":
        return "see the job's page in the Dataflow console for the worker errors"
    return "the job service's log has the workers' errors"


def _wait(result, runner: str | None, *, say: Callable[[str], None]) -> str:
    """Wait for the job to end, saying each state it reaches; its final state."""
    from apache_beam.runners.runner import PipelineState

    last = None
    while True:
        state = str(getattr(result, "state", "UNKNOWN"))
        if state != last:
            say(f"job state: {state}")
            last = state
        if PipelineState.is_terminal(state):
            return state
        if runner == "DataflowRunner":
            result.wait_until_finish(duration=30_000)  # a state line every 30 s at most
            continue
        try:  # other runners wait to the end (the portable one reads its messages once)
            result.wait_until_finish()
        except (TypeError, NotImplementedError):  # a runner without waiting: poll
            import time

            time.sleep(5)


def job_step_names(result) -> list[str]:
    """The leaf transforms of the translated job (DataflowRunner's dry run), in the
    order the pipeline applies them."""
    job = getattr(result, "job", None)
    proto = getattr(job, "proto_pipeline", None)
    if proto is None:
        return []
    transforms = proto.components.transforms
    names: list[str] = []

    def visit(transform_id: str) -> None:
        transform = transforms[transform_id]
        if not transform.subtransforms:
            names.append(transform.unique_name)
        for sub in transform.subtransforms:
            visit(sub)

    for root in proto.root_transform_ids:
        visit(root)
    return names
