"""Pretraining: SOP instances, n-gram masking, one document to its records."""
