"""The TF-free TFRecord reader/writer: framing, CRCs, gzip, corruption, TensorFlow interop."""

from __future__ import annotations

import gzip
import io
import struct

import pytest

from albert_data.files.tfrecord import (
    CorruptRecordError,
    crc32c,
    frame,
    masked_crc32c,
    read_records,
    write_records,
)

RECORDS = [b"", b"a", b"hello world" * 10, bytes(range(256)) * 300]


def test_crc32c_check_value():
    # The standard check value of CRC-32C (Castagnoli) and RFC 3720's 32 zero bytes.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA


def test_masked_crc_is_rotation_plus_delta():
    crc = crc32c(b"abc")
    rotated = ((crc >> 15) | (crc << 17)) & 0xFFFFFFFF
    assert masked_crc32c(b"abc") == (rotated + 0xA282EAD8) & 0xFFFFFFFF


def test_frame_layout():
    framed = frame(b"xyz")
    length, length_crc = struct.unpack("<QI", framed[:12])
    assert length == 3
    assert length_crc == masked_crc32c(framed[:8])
    assert framed[12:15] == b"xyz"
    assert struct.unpack("<I", framed[15:])[0] == masked_crc32c(b"xyz")


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, compress):
    path = tmp_path / ("r.tfrecord.gz" if compress else "r.tfrecord")
    assert write_records(path, iter(RECORDS), compress=compress) == len(RECORDS)
    assert list(read_records(path)) == RECORDS
    with open(path, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") == compress


def test_write_to_file_object_leaves_it_open():
    buf = io.BytesIO()
    write_records(buf, RECORDS, compress=True)
    assert not buf.closed
    buf.seek(0)
    assert list(read_records(buf, name="mem")) == RECORDS


def test_gzip_output_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.tfrecord.gz", tmp_path / "sub-b.tfrecord.gz"
    write_records(a, RECORDS, compress=True)
    write_records(b, RECORDS, compress=True)
    assert a.read_bytes() == b.read_bytes()


def test_empty_file_has_no_records(tmp_path):
    path = tmp_path / "empty.tfrecord"
    path.write_bytes(b"")
    assert list(read_records(path)) == []


def _two_records(tmp_path):
    path = tmp_path / "r.tfrecord"
    write_records(path, [b"first", b"second record"], compress=False)
    return path, 12 + len(b"first") + 4  # byte offset of the second frame


def test_data_crc_mismatch_names_file_and_offset(tmp_path):
    path, second = _two_records(tmp_path)
    data = bytearray(path.read_bytes())
    data[second + 12 + 2] ^= 0x01  # flip a bit inside the second record's payload
    path.write_bytes(bytes(data))
    reader = read_records(path)
    assert next(reader) == b"first"
    with pytest.raises(
        CorruptRecordError, match=rf"{path}: .*data CRC mismatch at byte offset {second}"
    ):
        next(reader)


def test_length_crc_mismatch(tmp_path):
    path, _ = _two_records(tmp_path)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordError, match="length CRC mismatch at byte offset 0"):
        list(read_records(path))


def test_truncated_file(tmp_path):
    path, second = _two_records(tmp_path)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(CorruptRecordError, match=rf"truncated record .* at byte offset {second}"):
        list(read_records(path))
    path.write_bytes(path.read_bytes()[: second + 5])
    with pytest.raises(CorruptRecordError, match="truncated record header"):
        list(read_records(path))


def test_text_file_is_not_a_tfrecord_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("This is a plain text file, not a TFRecord file at all.\n")
    with pytest.raises(CorruptRecordError, match=rf"{path}: not a valid TFRecord file.*offset 0"):
        list(read_records(path))


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "r.tfrecord.gz"
    write_records(path, RECORDS, compress=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut inside the deflate stream
    with pytest.raises(CorruptRecordError, match=rf"{path}: not a readable gzip file"):
        list(read_records(path))


def test_gzip_of_non_tfrecord_reports_decompressed_offset(tmp_path):
    path = tmp_path / "text.gz"
    path.write_bytes(gzip.compress(b"plain text inside gzip\n" * 4))
    with pytest.raises(CorruptRecordError, match="offset 0 of the decompressed stream"):
        list(read_records(path))


def test_missing_file(tmp_path):
    with pytest.raises(Exception, match="cannot be read"):
        list(read_records(tmp_path / "nope.tfrecord"))


@pytest.mark.parametrize("compress", [False, True])
def test_tensorflow_reads_ours_and_we_read_tensorflows(tmp_path, compress):
    tf = pytest.importorskip("tensorflow")
    kind = "GZIP" if compress else ""
    ours = tmp_path / "ours.tfrecord"
    write_records(ours, RECORDS, compress=compress)
    read_by_tf = [r.numpy() for r in tf.data.TFRecordDataset(str(ours), compression_type=kind)]
    assert read_by_tf == RECORDS

    theirs = tmp_path / "theirs.tfrecord"
    with tf.io.TFRecordWriter(
        str(theirs), options=tf.io.TFRecordOptions(compression_type=kind)
    ) as w:
        for r in RECORDS:
            w.write(r)
    assert list(read_records(theirs)) == RECORDS
