"""``albert-data train``: pretrain (or continue pretraining) ALBERT on make-pretraining's records."""

from __future__ import annotations

import sys

import click

from albert_data.commands.claim_option import take_over_option
from albert_data.commands.defaults import option
from albert_data.model.config import PRESETS
from albert_data.training.choices import MASKING, OPTIMIZERS, PRECISIONS, STRATEGIES

DATA = "albert_data.training.config:DataConfig"
OPT = "albert_data.training.config:OptimizerConfig"
RUN = "albert_data.training.config:TrainConfig"
DYN = "albert_data.training.config:DynamicMaskingConfig"
# The record shape: no default here (None: the records' stats.json says it); the help
# names the config's default, used for records without one.
RECORDED = {
    "shown": lambda _: None,
    "described": lambda value: f"the records' stats.json, else {value}",
}


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
    type=click.Choice(list(PRESETS)),
    help="A preset model shape instead of --config.",
)
@click.option(
    "--vocab-size",
    type=int,
    help="Override the preset's vocab_size (30000); with --vocab the vocabulary's size is used.",
)
@option(
    "--max-seq-length",
    type=int,
    default_from=f"{DATA}.max_seq_length",
    **RECORDED,
    help="A value the records' stats.json contradicts is refused.",
)
@option(
    "--max-predictions-per-seq",
    type=int,
    default_from=f"{DATA}.max_predictions_per_seq",
    **RECORDED,
    help="A value the records' stats.json contradicts is refused.",
)
@option(
    "--train-batch-size",
    default_from=f"{DATA}.batch_size",
    type=int,
    help="Global batch (all replicas and accumulation steps).",
)
@option("--num-train-steps", default_from=f"{OPT}.num_train_steps", type=int)
@option("--num-warmup-steps", default_from=f"{OPT}.num_warmup_steps", type=int)
@option(
    "--learning-rate",
    default_from=f"{OPT}.learning_rate",
    type=float,
)
@option("--optimizer", default_from=f"{OPT}.name", type=click.Choice(OPTIMIZERS))
@option(
    "--weight-decay",
    default_from=f"{OPT}.weight_decay",
    type=float,
    help="Not applied to LayerNorm parameters and biases.",
)
@option(
    "--clip-norm",
    default_from=f"{OPT}.clip_norm",
    type=float,
    help="Clip gradients by global norm (0: off).",
)
@option("--grad-accum-steps", default_from=f"{RUN}.grad_accum_steps", type=int)
@option(
    "--save-every",
    default_from=f"{RUN}.save_every",
    type=int,
    help="Checkpoint every N steps.",
)
@option("--keep-checkpoints", default_from=f"{RUN}.keep_checkpoints", type=int)
@option("--log-every", default_from=f"{RUN}.log_every", type=int)
@option("--seed", default_from=f"{DATA}.seed", type=int)
@option("--shuffle-buffer", default_from=f"{DATA}.shuffle_buffer", type=int)
@option(
    "--masking",
    default_from=f"{DATA}.masking",
    type=click.Choice(MASKING),
    help="auto: dynamic if the records carry no masks.",
)
@option("--masked-lm-prob", default_from=f"{DYN}.masking.masked_lm_prob", type=float)
@option(
    "--max-n",
    default_from=f"{DYN}.masking.max_n",
    type=int,
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
@option(
    "--mask-id",
    default_from=f"{DYN}.mask_id",
    type=int,
    help="[MASK] id without --vocab; replacements are mask_id+1..vocab_size-1.",
)
@option("--cls-id", default_from=f"{DYN}.cls_id", type=int)
@option("--sep-id", default_from=f"{DYN}.sep_id", type=int)
@option(
    "--strategy",
    default_from=f"{RUN}.strategy",
    type=click.Choice(STRATEGIES),
)
@click.option("--tpu", help="TPU name or grpc:// address (implies --strategy tpu under auto).")
@option(
    "--precision",
    default_from=f"{RUN}.precision",
    type=click.Choice(PRECISIONS),
)
@option(
    "--jit/--no-jit",
    default_from=f"{RUN}.jit",
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
@option("--eval-batch-size", default_from=f"{RUN}.eval_batch_size", type=int)
@option("--eval-steps", default_from=f"{RUN}.eval_steps", type=int)
@option(
    "--eval-every",
    default_from=f"{RUN}.eval_every",
    type=int,
    help="Also evaluate every N steps (0: only at the end).",
)
@click.option(
    "--max-steps-this-run",
    type=int,
    help="Stop (with a checkpoint) after this many steps of this run.",
)
@click.option("--verbose", is_flag=True, help="Show TensorFlow's C++ start-up and runtime logs.")
@take_over_option
def train(verbose: bool, **options):
    """Train ALBERT (MLM + SOP) on RECORDS written by make-pretraining.

    \b
    Re-running the same command resumes from the newest checkpoint in --model-dir.
    SIGTERM saves a checkpoint after the current step and exits 143, Ctrl-C the same
    and exits 130 (a second Ctrl-C stops at once, without saving). A NaN/inf loss stops
    with an error and keeps the last good checkpoint.
    """
    from albert_data.extras import require
    from albert_data.jobs.train import run, train_request

    options["records"] = tuple(options["records"])
    options["eval_records"] = tuple(options["eval_records"])
    request = train_request(**options)  # the range checks, before TensorFlow is imported
    require("tensorflow", command="train")
    from albert_data.jobs.tensorflow_console import quiet_tensorflow

    quiet_tensorflow(verbose)
    result = run(request)
    for line in result.summary_lines():
        click.echo(line)
    if result.signal == "sigint":
        sys.exit(130)  # interrupted, as a shell expects, though the checkpoint is saved
    if result.signal == "sigterm":
        sys.exit(143)  # terminated, as a scheduler expects, though the checkpoint is saved
