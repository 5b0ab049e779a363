"""``albert-data train``: pretrain (or continue pretraining) ALBERT on make-pretraining's records."""

from __future__ import annotations

import click

from albert_data.errors import UserError


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
    "--vocab-size", type=click.IntRange(min=1), help="Override the preset's vocab_size (30000)."
)
@click.option("--max-seq-length", type=click.IntRange(min=2), default=512, show_default=True)
@click.option(
    "--max-predictions-per-seq", type=click.IntRange(min=1), default=20, show_default=True
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
    help="SentencePiece .model or vocab.txt: special and replacement ids for dynamic masking.",
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
    default=False,
    show_default=True,
    help="Compile the forward/backward pass with XLA.",
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
def train(**opts):
    """Train ALBERT (MLM + SOP) on RECORDS written by make-pretraining.

    \b
    Re-running the same command resumes from the newest checkpoint in --model-dir.
    SIGTERM saves a checkpoint and exits 0. A NaN/inf loss stops with an error and
    keeps the last good checkpoint.
    """
    from albert_data.training.trainer import train as run_training

    model_config = _model_config(opts)
    data, optimizer, run = _configs(opts, model_config)
    result = run_training(
        model_config=model_config,
        data=data,
        optimizer_config=optimizer,
        run=run,
        log=lambda line: click.echo(line, err=True),
    )
    click.echo(f"stopped at step {result.step} ({result.stopped}); checkpoint {result.checkpoint}")


def _model_config(opts):
    import dataclasses

    from albert_data.model.config import AlbertConfig, preset

    if bool(opts["config_path"]) == bool(opts["preset"]):
        raise UserError("give exactly one of --config albert_config.json and --preset NAME")
    config = (
        AlbertConfig.from_json(opts["config_path"])
        if opts["config_path"]
        else preset(opts["preset"])
    )
    if opts["vocab_size"]:
        config = dataclasses.replace(config, vocab_size=opts["vocab_size"])
    return config


def _dynamic(opts, vocab_size):
    from albert_data.training.config import DynamicMaskingConfig
    from albert_data.training.vocab_ids import ids_from_vocab

    ids = {"mask_id": opts["mask_id"], "cls_id": opts["cls_id"], "sep_id": opts["sep_id"]}
    regular = None
    if opts["vocab"]:
        found = ids_from_vocab(opts["vocab"])
        if found["vocab_size"] > vocab_size:
            raise UserError(
                f"--vocab {opts['vocab']} has {found['vocab_size']} pieces but the model's "
                f"vocab_size is {vocab_size}; use a config whose vocab_size covers the vocab"
            )
        ids = {k: found[k] for k in ids}
        regular = found["regular_ids"]
    return DynamicMaskingConfig(
        masked_lm_prob=opts["masked_lm_prob"], max_n=opts["max_n"], regular_ids=regular, **ids
    )


def _configs(opts, model_config):
    from albert_data.training.config import DataConfig, OptimizerConfig, TrainConfig

    data = DataConfig(
        patterns=tuple(opts["records"]),
        max_seq_length=opts["max_seq_length"],
        max_predictions_per_seq=opts["max_predictions_per_seq"],
        batch_size=opts["train_batch_size"],
        shuffle_buffer=opts["shuffle_buffer"],
        seed=opts["seed"],
        masking=opts["masking"],
        dynamic=_dynamic(opts, model_config.vocab_size),
    )
    optimizer = OptimizerConfig(
        name=opts["optimizer"],
        learning_rate=opts["learning_rate"],
        num_train_steps=opts["num_train_steps"],
        num_warmup_steps=opts["num_warmup_steps"],
        weight_decay=opts["weight_decay"],
        clip_norm=opts["clip_norm"],
    )
    run = TrainConfig(
        model_dir=opts["model_dir"],
        num_train_steps=opts["num_train_steps"],
        grad_accum_steps=opts["grad_accum_steps"],
        save_every=opts["save_every"],
        keep_checkpoints=opts["keep_checkpoints"],
        log_every=opts["log_every"],
        strategy=opts["strategy"],
        tpu=opts["tpu"],
        precision=opts["precision"],
        jit=opts["jit"],
        init_checkpoint=opts["init_checkpoint"],
        eval_patterns=tuple(opts["eval_records"]),
        eval_batch_size=opts["eval_batch_size"],
        eval_steps=opts["eval_steps"],
        eval_every=opts["eval_every"],
        max_steps_this_run=opts["max_steps_this_run"],
    )
    return data, optimizer, run
