"""Records: the TFRecord schema shared by writer, reader and inspect; validation; statistics."""
