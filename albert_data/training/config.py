"""Frozen configuration of a training run, filled by ``albert-data train``."""

from __future__ import annotations

from dataclasses import dataclass, field

from albert_data.pretraining.masking import MaskingConfig

STRATEGIES = ("auto", "one_device", "mirrored", "tpu", "multi_worker")
PRECISIONS = ("fp32", "bf16", "mixed_fp16")
MASKING = ("auto", "static", "dynamic")
OPTIMIZERS = ("lamb", "adamw")


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


@dataclass(frozen=True)
class DataConfig:
    """Where the records are and how they are batched."""

    patterns: tuple[str, ...]
    max_seq_length: int = 512
    max_predictions_per_seq: int = 20
    batch_size: int = 4096  # global: across replicas and accumulation steps
    shuffle_buffer: int = 10000
    cycle_length: int = 8
    seed: int = 12345
    masking: str = "auto"
    dynamic: DynamicMaskingConfig = field(default_factory=DynamicMaskingConfig)


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


@dataclass(frozen=True)
class TrainConfig:
    """Everything about a run besides the model shape and the data."""

    model_dir: str
    num_train_steps: int = 125000
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
