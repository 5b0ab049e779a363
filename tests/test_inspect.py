"""``albert-data inspect``: decoding, statistics, and every kind of broken record or file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from albert_data.cli import main
from albert_data.files.tfrecord import write_records
from albert_data.records.schema import parse
from tests.pretraining_records import (
    CLS,
    MASK,
    PIECES,
    SEP,
    VOCAB_SIZE,
    encode,
    make_records,
    write_vocab,
)

K = 3  # the index of the record that gets corrupted


@pytest.fixture(scope="module")
def records():
    """Valid records, with record K chosen to have >= 2 masks, padding and a free prediction slot."""
    data = make_records(25)
    for k, d in enumerate(data):
        f = parse(d)
        n, m = int(f["input_mask"].sum()), int(f["masked_lm_weights"].sum())
        if k >= 1 and m >= 2 and n <= 45 and m < 8:
            data[K], data[k] = data[k], data[K]
            return data
    raise AssertionError("no suitable record")


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    return write_vocab(tmp_path_factory.mktemp("vocab") / "vocab.txt")


def inspect(*args):
    """Run ``albert-data inspect``; a crash (anything but a clean exit) fails the test."""
    result = CliRunner().invoke(main, ["inspect", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def test_valid_records(tmp_path, records, vocab):
    path = tmp_path / "data-00000-of-00001.tfrecord"
    write_records(path, records, compress=False)
    result = inspect(path, "--vocab", vocab, "--show", 2)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"records          {len(records)} (all valid)" in out
    assert "shape            max_seq_length 48, max_predictions_per_seq 8" in out
    assert out.count(f"{path}: record ") == 2
    assert "  A: [CLS] " in out and "  B: " in out
    assert "[MASK→w" in out
    assert "replacement mix  [MASK]" in out
    assert "SOP labels" in out
    assert result.stderr == ""


def test_example_marks_mask_kept_and_random(tmp_path, records, vocab):
    f = parse(records[K])
    positions = f["masked_lm_positions"][:2]
    labels = f["masked_lm_ids"][:2]
    f["input_ids"][positions[0]] = MASK
    f["input_ids"][positions[1]] = labels[1]
    path = tmp_path / "one.tfrecord"
    write_records(path, [encode(f)], compress=False)
    out = inspect(path, "--vocab", vocab, "--show", 1).stdout
    assert f"[MASK→{PIECES[labels[0]]}]" in out
    assert f"(kept:{PIECES[labels[1]]})" in out
    other = 5 if labels[0] != 5 else 6
    f["input_ids"][positions[0]] = other
    write_records(path, [encode(f)], compress=False)
    out = inspect(path, "--vocab", vocab).stdout
    assert f"{{{PIECES[other]}→{PIECES[labels[0]]}}}" in out


def test_gzip_glob_and_directory(tmp_path, records, vocab):
    write_records(tmp_path / "a-00000-of-00002.tfrecord.gz", records[:10], compress=True)
    write_records(tmp_path / "a-00001-of-00002.tfrecord.gz", records[10:], compress=True)
    (tmp_path / "stats.json").write_text("{}")
    for target in (tmp_path / "a-*.tfrecord.gz", tmp_path):
        result = inspect(target, "--vocab", vocab)
        assert result.exit_code == 0, result.output
        assert f"files            2\nrecords          {len(records)} (all valid)" in result.stdout


def test_json_output(tmp_path, records, vocab):
    path = tmp_path / "r.tfrecord"
    write_records(path, records, compress=False)
    result = inspect(path, "--vocab", vocab, "--json", "--show", 1)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert report["files"] == {str(path): len(records)}
    assert report["stats"]["records"] == len(records)
    assert report["shape"] == {"max_seq_length": 48, "max_predictions_per_seq": 8}
    assert len(report["examples"]) == 1
    assert report["examples"][0]["segment_a"].startswith("[CLS] ")


def test_dynamic_records_are_valid(tmp_path, vocab):
    path = tmp_path / "dyn.tfrecord"
    write_records(path, make_records(10, masking="dynamic"), compress=False)
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 0, result.output
    assert "(written for dynamic masking)" in result.stdout


# --- broken records ---------------------------------------------------------------------


def _n(f):
    return int(f["input_mask"].sum())


def _m(f):
    return int(f["masked_lm_weights"].sum())


def _first_sep(f):
    return int(np.flatnonzero(f["input_ids"] == SEP)[0])


def _unmasked_inner(f):
    """A position inside segment A that is not masked."""
    masked = set(f["masked_lm_positions"][: _m(f)].tolist())
    return next(i for i in range(1, _first_sep(f)) if i not in masked)


def _set(name, index, value):
    def corrupt(f):
        i = index(f) if callable(index) else index
        f[name][i] = value(f) if callable(value) else value

    return corrupt


def _delete(name):
    return lambda f: f.pop(name)


def _swap_first_two_predictions(f):
    for name in ("masked_lm_positions", "masked_lm_ids"):
        f[name][[0, 1]] = f[name][[1, 0]]


def _duplicate_position(f):
    f["masked_lm_positions"][1] = f["masked_lm_positions"][0]
    f["masked_lm_ids"][1] = f["masked_lm_ids"][0]


def _mask_sep(f):
    # Replace the last prediction by one on the first [SEP] (kept, so its label is [SEP]).
    m, sep = _m(f), _first_sep(f)
    pairs = sorted(
        [*zip(f["masked_lm_positions"][: m - 1], f["masked_lm_ids"][: m - 1]), (sep, SEP)]
    )
    f["masked_lm_positions"][:m] = [p for p, _ in pairs]
    f["masked_lm_ids"][:m] = [i for _, i in pairs]


CORRUPTIONS = {
    "missing feature": (_delete("token_boundary"), "feature token_boundary is missing"),
    "wrong length": (
        lambda f: f.__setitem__("segment_ids", f["segment_ids"][:-1]),
        "feature segment_ids has 47 values, expected 48",
    ),
    "int weights": (
        lambda f: f.__setitem__("masked_lm_weights", f["masked_lm_weights"].astype(np.int64)),
        "feature masked_lm_weights has int64 values, expected float",
    ),
    "id outside vocab": (
        _set("input_ids", _unmasked_inner, VOCAB_SIZE + 7),
        f"= {VOCAB_SIZE + 7} is outside the vocabulary [0, {VOCAB_SIZE})",
    ),
    "label outside vocab": (
        _set("masked_lm_ids", 0, VOCAB_SIZE),
        f"masked_lm_ids[0] = {VOCAB_SIZE} is outside the vocabulary",
    ),
    "no [CLS]": (_set("input_ids", 0, 9), "input_ids[0] is 9, expected [CLS] (2)"),
    "second [CLS]": (_set("input_ids", _unmasked_inner, CLS), "[CLS] also at position"),
    "third [SEP]": (_set("input_ids", _unmasked_inner, SEP), "3 [SEP] among the"),
    "last token not [SEP]": (
        _set("input_ids", lambda f: _n(f) - 1, 9),
        "is 9, expected [SEP]",
    ),
    "segment A has id 1": (
        _set("segment_ids", 1, 1),
        "segment_ids[1] = 1 (up to the first [SEP]), expected 0",
    ),
    "first [SEP] in segment 1": (
        _set("segment_ids", _first_sep, 1),
        "(up to the first [SEP]), expected 0",
    ),
    "segment B has id 0": (
        _set("segment_ids", lambda f: _n(f) - 1, 0),
        "(after the first [SEP]), expected 1",
    ),
    "segment id on padding": (_set("segment_ids", _n, 1), "(padding), expected 0"),
    "mask with a hole": (_set("input_mask", 3, 0), "input_mask is not ones then zeros"),
    "mask value 2": (_set("input_mask", 1, 2), "input_mask[1] = 2, expected 0 or 1"),
    "padding id": (_set("input_ids", _n, 9), "on padding, expected [PAD] (0)"),
    "positions not ascending": (_swap_first_two_predictions, "not strictly ascending"),
    "duplicate position": (_duplicate_position, "not strictly ascending"),
    "position on padding": (
        _set("masked_lm_positions", lambda f: _m(f) - 1, lambda f: _n(f) + 1),
        "is outside the real sequence",
    ),
    "position past the sequence": (
        _set("masked_lm_positions", lambda f: _m(f) - 1, 1000),
        "= 1000 is outside the real sequence",
    ),
    "position on [CLS]": (
        _set("masked_lm_positions", 0, 0),
        "masked_lm_positions[0] = 0 is on [CLS]",
    ),
    "position on [SEP]": (_mask_sep, "is on [SEP]"),
    "[SEP] masked": (_mask_sep, "= [SEP] at position"),
    "weight 0.5": (
        _set("masked_lm_weights", 0, 0.5),
        "masked_lm_weights[0] = 0.5, expected 1.0 or 0.0",
    ),
    "weights not a prefix": (
        _set("masked_lm_weights", 0, 0.0),
        "masked_lm_weights is not ones then zeros",
    ),
    "padded position non-zero": (
        _set("masked_lm_positions", _m, 5),
        "padded masked_lm_positions/masked_lm_ids",
    ),
    "padded label non-zero": (
        _set("masked_lm_ids", _m, 5),
        "padded masked_lm_positions/masked_lm_ids",
    ),
    "label is [MASK]": (_set("masked_lm_ids", 0, MASK), "masked_lm_ids[0] = [MASK]"),
    "random replacement is [CLS]": (
        _set("input_ids", lambda f: f["masked_lm_positions"][0], CLS),
        "shows [CLS] in input_ids: a masked token becomes [MASK], stays, or becomes a regular piece, never [CLS]",
    ),
    "SOP label 2": (
        _set("next_sentence_labels", 0, 2),
        "next_sentence_labels is 2, expected 0 or 1",
    ),
    "two SOP labels": (
        lambda f: f.__setitem__("next_sentence_labels", np.array([0, 1])),
        "feature next_sentence_labels has 2 values, expected 1",
    ),
    "boundary value 2": (_set("token_boundary", 1, 2), "token_boundary[1] = 2, expected 0 or 1"),
    "boundary 0 on [CLS]": (_set("token_boundary", 0, 0), "token_boundary[0] is 0 on [CLS]"),
    "boundary 0 on [SEP]": (_set("token_boundary", _first_sep, 0), "is 0 on [SEP], expected 1"),
    "boundary on padding": (_set("token_boundary", _n, 1), "is non-zero on padding"),
}


GZIP_CASES = ("missing feature", "position on [SEP]")  # the others are written plain


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_broken_record_is_reported(tmp_path, records, vocab, name):
    corrupt, expected = CORRUPTIONS[name]
    compress = name in GZIP_CASES
    features = parse(records[K])
    corrupt(features)
    data = list(records)
    data[K] = encode(features)
    path = tmp_path / ("broken.tfrecord.gz" if compress else "broken.tfrecord")
    write_records(path, data, compress=compress)
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    prefix = f"error: {path}: record {K}: "
    assert any(line.startswith(prefix) and expected in line for line in lines), lines
    assert all(f"record {k}:" not in result.stderr for k in range(len(records)) if k != K)
    assert f"error: 1 of {len(records)} records invalid" in result.stderr


def test_not_an_example_record(tmp_path, records, vocab):
    path = tmp_path / "r.tfrecord"
    write_records(path, [*records[:2], b"\x0a\xff\xff\xff\xff\x0f", *records[2:]], compress=False)
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 1
    assert f"error: {path}: record 2: not a tf.train.Example" in result.stderr


def test_many_problems_are_capped_then_counted(tmp_path, records, vocab):
    broken = []
    for data in records:
        f = parse(data)
        f["next_sentence_labels"][0] = 7
        broken.append(encode(f))
    path = tmp_path / "r.tfrecord"
    write_records(path, broken, compress=False)
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 1
    assert result.stderr.count("next_sentence_labels is 7") == 10
    assert (
        f"error: {len(records)} of {len(records)} records invalid "
        f"({len(records)} problems, first 10 shown)" in result.stderr
    )


def test_given_shape_is_checked(tmp_path, records, vocab):
    path = tmp_path / "r.tfrecord"
    write_records(path, records, compress=False)
    result = inspect(path, "--vocab", vocab, "--max-seq-length", 64)
    assert result.exit_code == 1
    assert f"error: {path}: record 0: feature input_ids has 48 values, expected 64" in result.stderr
    assert (
        inspect(
            path, "--vocab", vocab, "--max-seq-length", 48, "--max-predictions-per-seq", 8
        ).exit_code
        == 0
    )


def test_implausible_replacement_mix(tmp_path, vocab):
    kept = []
    for data in make_records(300, seed=5):
        f = parse(data)
        m = _m(f)
        f["input_ids"][f["masked_lm_positions"][:m]] = f["masked_lm_ids"][:m]
        kept.append(encode(f))
    path = tmp_path / "kept.tfrecord"
    write_records(path, kept, compress=False)
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 1
    (line,) = [line for line in result.stderr.splitlines() if "implausible" in line]
    assert line.startswith(f"error: {path}: implausible replacement mix over ")
    assert "[MASK] 0.0%, expected 80% ± 5%" in line


# --- broken files -----------------------------------------------------------------------


def test_corrupt_file_names_file_and_offset(tmp_path, records, vocab):
    path = tmp_path / "r.tfrecord"
    write_records(path, records, compress=False)
    raw = bytearray(path.read_bytes())
    second = 16 + len(records[0])
    raw[second + 20] ^= 0xFF
    path.write_bytes(bytes(raw))
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: record 1: not a valid TFRecord file: data CRC mismatch")
    assert f"at byte offset {second}" in line


def test_non_tfrecord_file(tmp_path, vocab):
    path = tmp_path / "corpus.txt"
    path.write_text("Just some text.\nNot records.\n" * 10)
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: record 0: not a valid TFRecord file")
    assert "byte offset 0" in line


def test_truncated_gzip_file(tmp_path, records, vocab):
    path = tmp_path / "r.tfrecord.gz"
    write_records(path, records, compress=True)
    path.write_bytes(path.read_bytes()[:-40])
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: ")
    assert len(result.stderr.splitlines()) == 1


def test_missing_input(tmp_path, vocab):
    result = inspect(tmp_path / "nothing-*.tfrecord", "--vocab", vocab)
    assert result.exit_code == 2
    assert "matches no file" in result.stderr


def test_vocabulary_without_mask(tmp_path, records):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(p for p in PIECES if p != "[MASK]") + "\n")
    path = tmp_path / "r.tfrecord"
    write_records(path, records, compress=False)
    result = inspect(path, "--vocab", vocab)
    assert result.exit_code == 2
    assert "[MASK]" in result.stderr and len(result.stderr.splitlines()) == 1


def test_sentencepiece_vocabulary(tmp_path):
    """A real SentencePiece model with ALBERT's special symbols decodes the records."""
    spm = pytest.importorskip("sentencepiece")
    corpus = tmp_path / "corpus.txt"
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda"]
    corpus.write_text(
        "\n".join(" ".join(rng.choice(words, 8)) for _ in range(300)) + "\n", encoding="utf-8"
    )
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(tmp_path / "sp"),
        vocab_size=30,
        hard_vocab_limit=False,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols="[CLS],[SEP],[MASK]",
        minloglevel=2,
    )
    model = tmp_path / "sp.model"
    processor = spm.SentencePieceProcessor(model_file=str(model))
    cls, sep, mask = (processor.piece_to_id(p) for p in ("[CLS]", "[SEP]", "[MASK]"))
    ids = processor.encode("alpha beta gamma")
    L = 16
    features = {
        "input_ids": np.array([cls, *ids[:2], sep, *ids[2:], sep] + [0] * (L - len(ids) - 3)),
        "input_mask": np.array([1] * (len(ids) + 3) + [0] * (L - len(ids) - 3)),
        "segment_ids": np.array([0] * 4 + [1] * (len(ids) - 1) + [0] * (L - len(ids) - 3)),
        "token_boundary": np.array([1] * (len(ids) + 3) + [0] * (L - len(ids) - 3)),
        "masked_lm_positions": np.array([1, 0]),
        "masked_lm_ids": np.array([ids[0], 0]),
        "masked_lm_weights": np.array([1.0, 0.0], np.float32),
        "next_sentence_labels": np.array([0]),
    }
    features["input_ids"][1] = mask
    path = tmp_path / "sp.tfrecord"
    write_records(path, [encode(features)], compress=False)
    result = inspect(path, "--vocab", model)
    assert result.exit_code == 0, result.output
    assert f"[MASK→{processor.id_to_piece(ids[0])}]" in result.stdout
    assert "[CLS]" in result.stdout and "[SEP]" in result.stdout


def test_directory_without_records(tmp_path, vocab):
    (tmp_path / "stats.json").write_text("{}")
    result = inspect(tmp_path, "--vocab", vocab)
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: {tmp_path}: the directory holds no *.tfrecord or *.tfrecord.gz file; pass the record files\n"
    )
