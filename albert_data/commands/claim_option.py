"""``--take-over``: the one option every command that writes an output shares."""

from __future__ import annotations

import click

take_over_option = click.option(
    "--take-over",
    is_flag=True,
    help=(
        "Take over the claim another albert-data run holds on the output (it is refused "
        "otherwise while that run renews it). Only for a run you know is gone: a claim "
        "not renewed for ALBERT_DATA_CLAIM_LEASE seconds (default 60) is taken over "
        "without it."
    ),
)
