"""The TF2 ALBERT trainer: input pipeline, losses and metrics, optimiser, training loop."""
