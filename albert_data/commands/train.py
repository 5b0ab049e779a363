"""``albert-data train``: pretrain (or continue pretraining) ALBERT on make-pretraining's records."""

from __future__ import annotations

import sys

import click


@click.command("train")
@click.option(
    "--records",
    "records",
    multiple=True,
    required=True,
    help="Record files, globs or directories (repeatable; local or gs://).",
)
@click.option(
    "--model-dir",
    required=True,
    help="Checkpoints, TensorBoard events and albert_config.json go here; re-running resumes from it.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Google's albert_config.json (plus optional share_type / ln_type).",
)
@click.option(
    "--preset",
    type=click.Choice(["base", "large", "xlarge", "xxlarge", "tiny"]),
    help="A preset model shape instead of --config.",
)
@click.option(
    "--vocab-size",
    type=click.IntRange(min=1),
    help="Override the preset's vocab_size (30000); with --vocab the vocabulary's size is used.",
)
@click.option(
    "--max-seq-length",
    type=click.IntRange(min=2),
    default=None,
    help="Default: the records' stats.json (512 without one); a value it contradicts is refused.",
)
@click.option(
    "--max-predictions-per-seq",
    type=click.IntRange(min=1),
    default=None,
    help="Default: the records' stats.json (20 without one); a value it contradicts is refused.",
)
@click.option(
    "--train-batch-size",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Global batch (all replicas and accumulation steps).",
)
@click.option("--num-train-steps", type=click.IntRange(min=1), default=125000, show_default=True)
@click.option("--num-warmup-steps", type=click.IntRange(min=0), default=3125, show_default=True)
@click.option(
    "--learning-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=0.00176,
    show_default=True,
)
@click.option(
    "--optimizer", type=click.Choice(["lamb", "adamw"]), default="lamb", show_default=True
)
@click.option(
    "--weight-decay",
    type=click.FloatRange(min=0),
    default=0.01,
    show_default=True,
    help="Not applied to LayerNorm parameters and biases.",
)
@click.option(
    "--clip-norm",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Clip gradients by global norm (0: off).",
)
@click.option("--grad-accum-steps", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--save-every",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Checkpoint every N steps.",
)
@click.option("--keep-checkpoints", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--log-every", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--seed", type=int, default=12345, show_default=True)
@click.option("--shuffle-buffer", type=click.IntRange(min=1), default=10000, show_default=True)
@click.option(
    "--masking",
    type=click.Choice(["auto", "static", "dynamic"]),
    default="auto",
    show_default=True,
    help="auto: dynamic if the records carry no masks.",
)
@click.option(
    "--masked-lm-prob", type=click.FloatRange(0, 1, min_open=True), default=0.15, show_default=True
)
@click.option(
    "--max-n",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Longest masked n-gram (dynamic masking).",
)
@click.option(
    "--vocab",
    type=click.Path(dir_okay=False),
    help="SentencePiece .model or vocab.txt the records were made with: sets the model's "
    "vocab_size, the special and replacement ids for dynamic masking, and is checked against "
    "the records' stats.json.",
)
@click.option(
    "--allow-vocab-mismatch",
    is_flag=True,
    help="Train even if --vocab is not the vocabulary the records' stats.json names.",
)
@click.option(
    "--mask-id",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="[MASK] id without --vocab; replacements are mask_id+1..vocab_size-1.",
)
@click.option("--cls-id", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--sep-id", type=click.IntRange(min=0), default=3, show_default=True)
@click.option(
    "--strategy",
    type=click.Choice(["auto", "one_device", "mirrored", "tpu", "multi_worker"]),
    default="auto",
    show_default=True,
)
@click.option("--tpu", help="TPU name or grpc:// address (implies --strategy tpu under auto).")
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16", "mixed_fp16"]),
    default="fp32",
    show_default=True,
)
@click.option(
    "--jit/--no-jit",
    default=True,
    show_default=True,
    help="Compile the forward/backward pass with XLA (the same weights to 1e-4); --no-jit "
    "runs it op by op and starts faster. A TPU always compiles.",
)
@click.option(
    "--init-checkpoint",
    help="Google TF1 ALBERT checkpoint or one of this trainer's (prefix or directory).",
)
@click.option(
    "--eval-records", multiple=True, help="Records to evaluate on at the end (repeatable)."
)
@click.option("--eval-batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--eval-steps", type=click.IntRange(min=1), default=100, show_default=True)
@click.option(
    "--eval-every",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also evaluate every N steps (0: only at the end).",
)
@click.option(
    "--max-steps-this-run",
    type=click.IntRange(min=1),
    help="Stop (with a checkpoint) after this many steps of this run.",
)
@click.option("--verbose", is_flag=True, help="Show TensorFlow's C++ start-up and runtime logs.")
def train(verbose: bool, **options):
    """Train ALBERT (MLM + SOP) on RECORDS written by make-pretraining.

    \b
    Re-running the same command resumes from the newest checkpoint in --model-dir.
    SIGTERM saves a checkpoint and exits 0. Ctrl-C saves one after the current step
    and exits 130 (a second Ctrl-C stops at once, without saving). A NaN/inf loss stops
    with an error and keeps the last good checkpoint.
    """
    from albert_data.extras import require

    require("tensorflow", command="train")
    from albert_data.jobs.tensorflow_console import quiet_tensorflow

    quiet_tensorflow(verbose)
    from albert_data.jobs.train import TrainRequest, run

    options["records"] = tuple(options["records"])
    options["eval_records"] = tuple(options["eval_records"])
    result = run(TrainRequest(**options))
    for line in result.summary_lines():
        click.echo(line)
    if result.stopped == "sigint":
        sys.exit(130)  # interrupted, as a shell expects, though the checkpoint is saved
