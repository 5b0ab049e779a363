"""The ``train`` job: the request of one training run and :func:`run`.

``run`` resolves the model shape (``--config`` or ``--preset``; with ``--vocab`` the
vocabulary's size, a contradicting ``--vocab-size`` or config being an error), checks
that ``--vocab`` is the vocabulary the records were made with (their ``stats.json``),
builds the frozen configurations of :mod:`albert_data.training.config` and hands them
to the trainer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from albert_data.errors import UserError
from albert_data.jobs.outputs import claimed
from albert_data.jobs.reporting import Say, say
from albert_data.model.config import MAX_VOCAB_SIZE
from albert_data.pretraining.config_errors import ConfigError
from albert_data.pretraining.masking import MaskingConfig
from albert_data.training.config import (
    DataConfig,
    DynamicMaskingConfig,
    OptimizerConfig,
    TrainConfig,
)


@dataclass(frozen=True)
class TrainRequest:
    """One ``albert-data train`` run: the core's configs as the options set them (see
    :func:`train_request`), and what decides the model shape and the vocabulary.

    ``data.dynamic`` holds the special ids of ``--mask-id`` etc.; with ``vocab`` they
    and the replacement ids are the vocabulary's. ``max_seq_length`` and
    ``max_predictions_per_seq`` are the record shape as given (``None``: the records'
    ``stats.json`` says it); :func:`with_record_shape` resolves them into ``data``."""

    data: DataConfig
    optimizer: OptimizerConfig
    run: TrainConfig
    config_path: str | None = None
    preset: str | None = None
    vocab_size: int | None = None
    vocab: str | None = None
    allow_vocab_mismatch: bool = False
    max_seq_length: int | None = None
    max_predictions_per_seq: int | None = None
    take_over: bool = False  # take over another run's live claim on --model-dir

    def __post_init__(self) -> None:
        if self.vocab_size is not None and not 1 <= self.vocab_size <= MAX_VOCAB_SIZE:
            raise UserError(
                f"--vocab-size {self.vocab_size} must be from 1 to {MAX_VOCAB_SIZE:,} "
                "(the trainer reads token ids as 32-bit integers)"
            )


# The command's options, by the config field each sets (where the names differ), and the
# flag that names each field in an error.
_RENAMED = {
    "records": "patterns",
    "train_batch_size": "batch_size",
    "optimizer": "name",
    "eval_records": "eval_patterns",
}
_FLAGS = {field: "--" + option.replace("_", "-") for option, field in _RENAMED.items()}


def train_request(**options) -> TrainRequest:
    """The request of ``albert-data train``'s options (Click's names); the configs' own
    range checks become one-line errors naming the flag. ``num_train_steps`` sets both
    the run's length and the learning-rate schedule's."""
    options = {_RENAMED.get(k, k): v for k, v in options.items()}
    shape = {name: options.pop(name, None) for name in RECORD_SHAPE_DEFAULTS}

    def take(cls, *skip: str) -> dict:
        names = [f.name for f in fields(cls) if f.name in options and f.name not in skip]
        return {name: options.pop(name) for name in names}

    try:
        run = TrainConfig(**take(TrainConfig))
        optimizer = OptimizerConfig(
            num_train_steps=run.num_train_steps, **take(OptimizerConfig, "num_train_steps")
        )
        masking = MaskingConfig(**take(MaskingConfig))
        dynamic = DynamicMaskingConfig(masking=masking, **take(DynamicMaskingConfig, "masking"))
        data = DataConfig(dynamic=dynamic, **take(DataConfig, "dynamic"), **_given(shape))
    except ConfigError as err:
        flag = _FLAGS.get(err.field, "--" + err.field.replace("_", "-"))
        raise UserError(err.describe(flag)) from None
    return TrainRequest(data=data, optimizer=optimizer, run=run, **shape, **options)


def _given(shape: dict) -> dict:
    return {name: value for name, value in shape.items() if value is not None}


@dataclass(frozen=True)
class TrainResult:
    """Where the run stopped, and its last metrics."""

    step: int
    stopped: str
    checkpoint: str | None
    metrics: dict
    eval_metrics: dict
    signal: str | None = None  # the stop signal this process received

    def summary_lines(self) -> list[str]:
        lines = [f"stopped at step {self.step} ({self.stopped}); checkpoint {self.checkpoint}"]
        if self.eval_metrics:
            figures = ", ".join(f"{k} {v:.4f}" for k, v in sorted(self.eval_metrics.items()))
            lines.append(f"  eval: {figures}")
        return lines


@dataclass(frozen=True)
class Vocabulary:
    """What ``--vocab`` says: its size, special and replacement ids, fingerprint."""

    path: str
    size: int
    ids: dict
    fingerprint: str


def load_vocabulary(path: str, *, recorded: dict | None = None) -> Vocabulary:
    """Read ``--vocab`` (SentencePiece ``.model`` or WordPiece ``vocab.txt``); its
    fingerprint is taken with the settings ``recorded`` in the records' ``stats.json``
    (word segmenter, normalisation), as ``make-pretraining`` took it."""
    from albert_data.records.vocabulary import load_vocab
    from albert_data.training.vocab_ids import require_vocab_file, vocab_ids

    require_vocab_file(path)
    loaded = load_vocab(path, recorded=recorded)  # loaded once: ids and fingerprint
    ids = vocab_ids(loaded.tokenizer)
    return Vocabulary(path, ids["vocab_size"], ids, loaded.fingerprint)


# Google's run_pretraining.py defaults, for records without a stats.json.
RECORD_SHAPE_DEFAULTS = {
    "max_seq_length": DataConfig.max_seq_length,
    "max_predictions_per_seq": DataConfig.max_predictions_per_seq,
}
_SHAPE_FLAGS = {
    "max_seq_length": "--max-seq-length",
    "max_predictions_per_seq": "--max-predictions-per-seq",
}


def with_record_shape(request: TrainRequest) -> TrainRequest:
    """``request`` with ``max_seq_length`` and ``max_predictions_per_seq`` taken from the
    records' ``stats.json`` where not given (Google's 512 and 20 without one). A given
    value the ``stats.json`` contradicts, or records of two shapes, are refused."""
    from albert_data.records.provenance import recorded_shapes

    shapes = recorded_shapes(_record_files(request))
    for other in shapes[1:]:
        if (other.max_seq_length, other.max_predictions_per_seq) != (
            shapes[0].max_seq_length,
            shapes[0].max_predictions_per_seq,
        ):
            raise UserError(
                f"{shapes[0].stats_path} records max_seq_length {shapes[0].max_seq_length} and max_predictions_per_seq {shapes[0].max_predictions_per_seq} but {other.stats_path} records {other.max_seq_length} and {other.max_predictions_per_seq}; train on records of one shape"
            )
    values = {}
    for name, flag in _SHAPE_FLAGS.items():
        given = getattr(request, name)
        recorded = getattr(shapes[0], name) if shapes else None
        if given is not None and recorded is not None and given != recorded:
            raise UserError(
                f"{flag} {given} contradicts {shapes[0].stats_path}, which says the records were made with {name} {recorded}; drop {flag} (it is read from stats.json) or remake the records"
            )
        values[name] = next(
            v for v in (given, recorded, RECORD_SHAPE_DEFAULTS[name]) if v is not None
        )
    data = request.data
    masking = dataclasses.replace(
        data.dynamic.masking, max_predictions_per_seq=values["max_predictions_per_seq"]
    )
    data = dataclasses.replace(
        data, dynamic=dataclasses.replace(data.dynamic, masking=masking), **values
    )
    return dataclasses.replace(request, data=data, **values)


def schedule_warnings(request: TrainRequest) -> list[str]:
    """One line when the run is not longer than its warm-up: the learning rate would
    never leave warm-up (it is not scaled to the run: the schedule is the one asked for)."""
    steps, warmup = request.optimizer.num_train_steps, request.optimizer.num_warmup_steps
    if warmup < steps:
        return []
    suggestion = max(1, round(steps * 0.025))  # ALBERT's 3 125 of 125 000 steps
    return [
        f"warning: --num-warmup-steps {warmup} is not shorter than --num-train-steps {steps}: the learning rate never leaves warm-up nor reaches --learning-rate {request.optimizer.learning_rate:g}; pass --num-warmup-steps {suggestion} (ALBERT warms up for 2.5% of the run)"
    ]


def model_config(request: TrainRequest, vocabulary: Vocabulary | None):
    """The model shape: ``--config`` or ``--preset``, sized to the vocabulary."""
    from albert_data.model.config import AlbertConfig, preset

    if bool(request.config_path) == bool(request.preset):
        raise UserError("give exactly one of --config albert_config.json and --preset NAME")
    if request.config_path:
        config = AlbertConfig.from_json(request.config_path)
    else:
        config = preset(request.preset)
    size = request.vocab_size
    if vocabulary is not None:
        pieces = vocabulary.size
        if size is not None and size != pieces:
            raise UserError(
                f"--vocab-size {size} contradicts --vocab {vocabulary.path}, which has {pieces} "
                "pieces; drop --vocab-size (the model takes the vocabulary's size)"
            )
        if request.config_path and config.vocab_size != pieces:
            raise UserError(
                f"--config {request.config_path} has vocab_size {config.vocab_size} but --vocab "
                f"{vocabulary.path} has {pieces} pieces; use the config made for this vocabulary "
                "or set its vocab_size to that"
            )
        size = pieces
    return dataclasses.replace(config, vocab_size=size) if size else config


def data_config(request: TrainRequest, vocabulary: Vocabulary | None) -> DataConfig:
    """The request's data config; with ``--vocab``, its special and replacement ids."""
    if vocabulary is None:
        return request.data
    ids = vocabulary.ids
    dynamic = dataclasses.replace(
        request.data.dynamic,
        mask_id=ids["mask_id"],
        cls_id=ids["cls_id"],
        sep_id=ids["sep_id"],
        regular_ids=ids["regular_ids"],
    )
    return dataclasses.replace(request.data, dynamic=dynamic)


def _record_files(request: TrainRequest) -> list[str]:
    from albert_data.training.data import sorted_record_files

    files = list(sorted_record_files(request.data.patterns))
    if request.run.eval_patterns:
        files += sorted_record_files(request.run.eval_patterns, "--eval-records")
    return files


def checked_vocabulary(request: TrainRequest) -> Vocabulary:
    """``--vocab``, refused if it is not the vocabulary the records were made with (their
    ``stats.json`` says which) unless ``--allow-vocab-mismatch``."""
    from albert_data.records.provenance import check_vocabulary
    from albert_data.records.vocabulary import recorded_vocabulary

    files = _record_files(request)
    vocabulary = load_vocabulary(request.vocab, recorded=recorded_vocabulary(files))
    check_vocabulary(
        files,
        fingerprint=vocabulary.fingerprint,
        vocab_path=vocabulary.path,
        allow_mismatch=request.allow_vocab_mismatch,
    )
    return vocabulary


def run(request: TrainRequest, *, say: Say = say) -> TrainResult:
    """Check the request against the vocabulary and the records, then train."""
    from albert_data.training.trainer import train

    request = with_record_shape(request)
    for line in schedule_warnings(request):
        say(line)
    vocabulary = checked_vocabulary(request) if request.vocab else None
    config = model_config(request, vocabulary)
    with claimed(
        request.run.model_dir,
        directory=True,
        command="train",
        take_over=request.take_over,
        say=say,
        enabled=_claims_model_dir(),
    ):
        result = train(
            model_config=config,
            data=data_config(request, vocabulary),
            optimizer_config=request.optimizer,
            run=request.run,
            say=say,
        )
    return TrainResult(
        step=result.step,
        stopped=result.stopped,
        checkpoint=result.checkpoint,
        metrics=result.metrics,
        eval_metrics=result.eval_metrics,
        signal=result.signal,
    )


def _claims_model_dir() -> bool:
    """Whether this process claims ``--model-dir``: a one-process run does; of a
    multi-worker run (``TF_CONFIG``), which shares it, only the chief (the ``chief``
    task, or worker 0 when there is none)."""
    import json
    import os

    try:
        config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    except ValueError:
        return True  # the strategy refuses it, in one line
    cluster, task = config.get("cluster", {}), config.get("task", {})
    if len(cluster.get("worker", [])) + len(cluster.get("chief", [])) <= 1:
        return True
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index", 0) == 0
