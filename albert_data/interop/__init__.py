"""Checkpoint import and model export: Google's TF1 names, SavedModel, Hugging Face."""
