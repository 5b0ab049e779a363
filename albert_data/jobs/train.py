"""The ``train`` job: the request of one training run and :func:`run`.

``run`` resolves the model shape (``--config`` or ``--preset``; with ``--vocab`` the
vocabulary's size, a contradicting ``--vocab-size`` or config being an error), checks
that ``--vocab`` is the vocabulary the records were made with (their ``stats.json``),
builds the frozen configurations of :mod:`albert_data.training.config` and hands them
to the trainer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from albert_data.errors import UserError
from albert_data.jobs.reporting import Say, say


@dataclass(frozen=True)
class TrainRequest:
    """The options of one ``albert-data train`` run, as given on the command line."""

    records: tuple[str, ...]
    model_dir: str
    config_path: str | None = None
    preset: str | None = None
    vocab_size: int | None = None
    vocab: str | None = None
    allow_vocab_mismatch: bool = False
    max_seq_length: int | None = None  # None: the records' stats.json, else 512
    max_predictions_per_seq: int | None = None  # None: the records' stats.json, else 20
    train_batch_size: int = 4096
    num_train_steps: int = 125000
    num_warmup_steps: int = 3125
    learning_rate: float = 0.00176
    optimizer: str = "lamb"
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    grad_accum_steps: int = 1
    save_every: int = 5000
    keep_checkpoints: int = 5
    log_every: int = 100
    seed: int = 12345
    shuffle_buffer: int = 10000
    masking: str = "auto"
    masked_lm_prob: float = 0.15
    max_n: int = 3
    mask_id: int = 4
    cls_id: int = 2
    sep_id: int = 3
    strategy: str = "auto"
    tpu: str | None = None
    precision: str = "fp32"
    jit: bool = True
    init_checkpoint: str | None = None
    eval_records: tuple[str, ...] = ()
    eval_batch_size: int = 64
    eval_steps: int = 100
    eval_every: int = 0
    max_steps_this_run: int | None = None


@dataclass(frozen=True)
class TrainResult:
    """Where the run stopped, and its last metrics."""

    step: int
    stopped: str
    checkpoint: str | None
    metrics: dict
    eval_metrics: dict

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
    from albert_data.records.inspection import load_vocab
    from albert_data.training.vocab_ids import ids_from_vocab

    ids = ids_from_vocab(path)
    fingerprint = load_vocab(path, recorded=recorded).fingerprint
    return Vocabulary(path, ids["vocab_size"], ids, fingerprint)


# Google's run_pretraining.py defaults, for records without a stats.json.
RECORD_SHAPE_DEFAULTS = {"max_seq_length": 512, "max_predictions_per_seq": 20}
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
    return dataclasses.replace(request, **values)


def schedule_warnings(request: TrainRequest) -> list[str]:
    """One line when the run is not longer than its warm-up: the learning rate would
    never leave warm-up (it is not scaled to the run: the schedule is the one asked for)."""
    steps, warmup = request.num_train_steps, request.num_warmup_steps
    if warmup < steps:
        return []
    suggestion = max(1, round(steps * 0.025))  # ALBERT's 3 125 of 125 000 steps
    return [
        f"warning: --num-warmup-steps {warmup} is not shorter than --num-train-steps {steps}: the learning rate never leaves warm-up nor reaches --learning-rate {request.learning_rate:g}; pass --num-warmup-steps {suggestion} (ALBERT warms up for 2.5% of the run)"
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


def _dynamic_masking(request: TrainRequest, vocabulary: Vocabulary | None):
    from albert_data.pretraining.masking import MaskingConfig
    from albert_data.training.config import DynamicMaskingConfig

    masking = MaskingConfig(
        masked_lm_prob=request.masked_lm_prob,
        max_predictions_per_seq=request.max_predictions_per_seq,
        max_n=request.max_n,
    )
    if vocabulary is None:
        return DynamicMaskingConfig(
            masking=masking, mask_id=request.mask_id, cls_id=request.cls_id, sep_id=request.sep_id
        )
    ids = vocabulary.ids
    return DynamicMaskingConfig(
        masking=masking,
        mask_id=ids["mask_id"],
        cls_id=ids["cls_id"],
        sep_id=ids["sep_id"],
        regular_ids=ids["regular_ids"],
    )


def data_config(request: TrainRequest, vocabulary: Vocabulary | None):
    from albert_data.training.config import DataConfig

    return DataConfig(
        patterns=tuple(request.records),
        max_seq_length=request.max_seq_length,
        max_predictions_per_seq=request.max_predictions_per_seq,
        batch_size=request.train_batch_size,
        shuffle_buffer=request.shuffle_buffer,
        seed=request.seed,
        masking=request.masking,
        dynamic=_dynamic_masking(request, vocabulary),
    )


def optimizer_config(request: TrainRequest):
    from albert_data.training.config import OptimizerConfig

    return OptimizerConfig(
        name=request.optimizer,
        learning_rate=request.learning_rate,
        num_train_steps=request.num_train_steps,
        num_warmup_steps=request.num_warmup_steps,
        weight_decay=request.weight_decay,
        clip_norm=request.clip_norm,
    )


def run_config(request: TrainRequest):
    from albert_data.training.config import TrainConfig

    shared = {f.name for f in dataclasses.fields(TrainConfig)} & {
        f.name for f in dataclasses.fields(TrainRequest)
    }
    return TrainConfig(
        **{name: getattr(request, name) for name in shared},
        eval_patterns=tuple(request.eval_records),
    )


def _record_files(request: TrainRequest) -> list[str]:
    from albert_data.training.data import expand_patterns

    files = list(expand_patterns(request.records))
    if request.eval_records:
        files += expand_patterns(request.eval_records, "--eval-records")
    return files


def checked_vocabulary(request: TrainRequest) -> Vocabulary:
    """``--vocab``, refused if it is not the vocabulary the records were made with (their
    ``stats.json`` says which) unless ``--allow-vocab-mismatch``."""
    from albert_data.records.inspection import recorded_vocabulary
    from albert_data.records.provenance import check_vocabulary

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
    result = train(
        model_config=config,
        data=data_config(request, vocabulary),
        optimizer_config=optimizer_config(request),
        run=run_config(request),
        log=say,
    )
    return TrainResult(
        step=result.step,
        stopped=result.stopped,
        checkpoint=result.checkpoint,
        metrics=result.metrics,
        eval_metrics=result.eval_metrics,
    )
