"""The job layer: one frozen request dataclass and one ``run()`` per command.

Convention (every module here follows it):

* ``jobs/<command>.py`` defines ``@dataclass(frozen=True) class <Command>Request`` (all
  options of the command, typed, passed by keyword, checked in ``__post_init__`` or in a
  ``check_request`` function with one-line :class:`~albert_data.errors.UserError`\\ s) and
  ``run(request) -> <Command>Result``; the result has ``summary_lines() -> list[str]``.
* ``albert_data/commands/<command>.py`` only maps Click options to the request, calls
  ``run`` and prints the summary. Nothing below the CLI reads flags or globals.
* Beam commands share ``jobs/beam_job.py``: path and runner checks, range planning, the
  work directory, pipeline options, the first worker error in input order, publishing
  outputs only on success.
* Jobs may import ``pipelines`` (Beam); ``pipelines`` never import jobs; the core
  (``text``, ``files``, ``records``, ``pretraining``) never imports Beam or Click.
"""
