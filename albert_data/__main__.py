"""``python -m albert_data``: the same as the ``albert-data`` command."""

from albert_data.cli import main

main(prog_name="albert-data")
