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
    max_seq_length: int = 512
    max_predictions_per_seq: int = 20
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
