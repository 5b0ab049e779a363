"""The job layer: one frozen request dataclass and one ``run()`` per command.

Convention (every module here follows it):

* ``jobs/<command>.py`` defines ``@dataclass(frozen=True) class <Command>Request`` (the
  core's configs the command sets, e.g. ``PretrainingConfig``, ``SpmRecipe``,
  ``SplitConfig``, plus what only the command has, typed, passed by keyword; the configs
  check their own ranges, a ``ConfigError`` becoming a one-line
  :class:`~albert_data.errors.UserError` naming the flag) and
  ``run(request, *, say=reporting.say) -> <Command>Result``; the result has
  ``summary_lines() -> list[str]``. A job orchestrates: algorithms are the core's, Beam
  plumbing is ``pipelines``'.
* ``albert_data/commands/<command>.py`` only maps Click options to the request, calls
  ``run`` and prints the summary. Nothing below the CLI reads flags or globals.
* Beam commands share ``jobs/beam_job.py`` (runner settings and checks, running a job:
  Beam's console kept in a log, progress, the first worker error in input order) and
  ``jobs/outputs.py`` (claims on the outputs, the work directory, publishing only on
  success); the input planning is the core's ``albert_data.text.input_plan``.
* Jobs may import ``pipelines`` (Beam); ``pipelines`` never import jobs; the core
  (``text``, ``files``, ``records``, ``pretraining``) never imports Beam or Click.
"""
