"""Text: normalisation, sentence splitting, raw documents, the sample corpus, loading a tokenizer."""
