"""Files: local and Beam FileSystems access, TFRecord framing, byte ranges, sorted run files."""
