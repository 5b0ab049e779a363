"""The job layer: one frozen request and one run() per command."""
