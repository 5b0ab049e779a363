"""Frozen configuration of a training run, filled by ``albert-data train``."""

from __future__ import annotations

from dataclasses import dataclass, field

from albert_data.pretraining.config_errors import require
from albert_data.pretraining.instances import InstanceConfig
from albert_data.pretraining.masking import MaskingConfig
from albert_data.training.choices import MASKING, OPTIMIZERS, PRECISIONS, STRATEGIES


@dataclass(frozen=True)
class DynamicMaskingConfig:
    """How ``--masking dynamic`` records are masked on the fly: ``make-pretraining``'s
    n-gram algorithm with its :class:`MaskingConfig` (whose ``max_predictions_per_seq``
    the records' shape, :attr:`DataConfig.max_predictions_per_seq`, overrides), plus the
    special ids. Random replacements come from ``regular_ids`` when given (derived from
    ``--vocab``), else from ``mask_id + 1 .. vocab_size - 1``."""

    masking: MaskingConfig = field(default_factory=MaskingConfig)
    mask_id: int = 4
    cls_id: int = 2
    sep_id: int = 3
    regular_ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("mask_id", "cls_id", "sep_id"):
            _at_least(self, name, 0)


@dataclass(frozen=True)
class DataConfig:
    """Where the records are and how they are batched."""

    patterns: tuple[str, ...]
    max_seq_length: int = InstanceConfig.max_seq_length  # the records' shape
    max_predictions_per_seq: int = MaskingConfig.max_predictions_per_seq
    batch_size: int = 4096  # global: across replicas and accumulation steps
    shuffle_buffer: int = 10000
    cycle_length: int = 8
    seed: int = 12345
    masking: str = "auto"
    dynamic: DynamicMaskingConfig = field(default_factory=DynamicMaskingConfig)

    def __post_init__(self) -> None:
        _one_of(self.masking, "masking", MASKING)
        _at_least(self, "max_seq_length", 2)
        for name in ("max_predictions_per_seq", "batch_size", "shuffle_buffer", "cycle_length"):
            _at_least(self, name, 1)


@dataclass(frozen=True)
class OptimizerConfig:
    """Google's defaults: LAMB, lr 0.00176, 3125 warm-up steps, linear decay to zero."""

    name: str = "lamb"
    learning_rate: float = 0.00176
    num_train_steps: int = 125000
    num_warmup_steps: int = 3125
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-6

    def __post_init__(self) -> None:
        _one_of(self.name, "name", OPTIMIZERS)
        require(self.learning_rate > 0, "learning_rate", self.learning_rate, "must be > 0")
        _at_least(self, "num_train_steps", 1)
        for name in ("num_warmup_steps", "weight_decay", "clip_norm"):
            _at_least(self, name, 0)


@dataclass(frozen=True)
class TrainConfig:
    """Everything about a run besides the model shape and the data."""

    model_dir: str
    num_train_steps: int = OptimizerConfig.num_train_steps
    grad_accum_steps: int = 1
    save_every: int = 5000
    keep_checkpoints: int = 5
    log_every: int = 100
    strategy: str = "auto"
    tpu: str | None = None
    precision: str = "fp32"
    jit: bool = True  # XLA for the forward/backward pass (a TPU always compiles)
    init_checkpoint: str | None = None
    eval_patterns: tuple[str, ...] = ()
    eval_batch_size: int = 64
    eval_steps: int = 100
    eval_every: int = 0  # 0: only at the end
    max_steps_this_run: int | None = None  # stop early (tests, time-boxed jobs)

    def __post_init__(self) -> None:
        _one_of(self.strategy, "strategy", STRATEGIES)
        _one_of(self.precision, "precision", PRECISIONS)
        for name in ("num_train_steps", "grad_accum_steps", "save_every", "keep_checkpoints"):
            _at_least(self, name, 1)
        for name in ("log_every", "eval_batch_size", "eval_steps"):
            _at_least(self, name, 1)
        _at_least(self, "eval_every", 0)
        if self.max_steps_this_run is not None:
            _at_least(self, "max_steps_this_run", 1)


def _at_least(config: object, name: str, low: float) -> None:
    value = getattr(config, name)
    require(value >= low, name, value, f"must be >= {low}")


def _one_of(value: str, name: str, choices: tuple[str, ...]) -> None:
    require(value in choices, name, value, f"is not one of {', '.join(choices)}")
