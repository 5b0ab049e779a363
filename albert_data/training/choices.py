"""The names the trainer's choice options accept, in a module without the configs'
imports (numpy): ``train``'s Click options list them at ``--help`` time, and the
configs of :mod:`albert_data.training.config` check their fields against them."""

STRATEGIES = ("auto", "one_device", "mirrored", "tpu", "multi_worker")
PRECISIONS = ("fp32", "bf16", "mixed_fp16")
MASKING = ("auto", "static", "dynamic")
OPTIMIZERS = ("lamb", "adamw")
