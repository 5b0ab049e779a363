"""albert-data: prepare ALBERT pretraining data and train an ALBERT encoder on it."""

__version__ = "0.1.0"
