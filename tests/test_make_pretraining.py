"""make-pretraining end to end through its Click command, the real Beam DirectRunner and
a SentencePiece vocabulary trained on the bundled sample (the module's shared run starts
the real entry point in a subprocess; the other runs are in this process)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from albert_data.files.tfrecord import read_records
from albert_data.records.schema import parse
from tests.cli_helpers import error_line, invoke, run_cli
from tests.cli_helpers import make_pretraining as make

SMALL = ["--max-seq-length", 64, "--max-predictions-per-seq", 10, "--dupe-factor", 2]


def special_positions(r, n):
    """[CLS], the first [SEP] and the last [SEP] (never masked, so found by segment ids)."""
    first_sep = int(np.flatnonzero(r["segment_ids"][:n] == 0)[-1])
    return {0, first_sep, n - 1}


def check_whole_words(r):
    """Masked spans cover whole words: a masked continuation piece follows a masked token
    (or a [CLS]/[SEP] where truncation cut into a word), and a masked word is masked to
    its end."""
    n = int(r["input_mask"].sum())
    special = special_positions(r, n)
    masked = np.zeros(n, dtype=bool)
    masked[r["masked_lm_positions"][: int(r["masked_lm_weights"].sum())]] = True
    boundary = r["token_boundary"][:n].astype(bool)
    for p in np.flatnonzero(masked):
        assert p not in special
        if not boundary[p]:
            assert masked[p - 1] or (p - 1) in special
        if p + 1 < n and not boundary[p + 1] and (p + 1) not in special:
            assert masked[p + 1]
    return int((~boundary).sum())


def records_of(directory):
    files = sorted(p for p in directory.iterdir() if ".tfrecord" in p.name)
    return files, [parse(r) for f in files for r in read_records(str(f))]


@pytest.fixture(scope="module")
def static_run(sample_en, tmp_path_factory):
    out = tmp_path_factory.mktemp("static") / "out"
    flags = [*SMALL, "--num-shards", 3, "--range-bytes", 4096, "--num-workers", 1]
    make(sample_en, out, *flags, run=run_cli)
    return out


def test_outputs_stats_and_inspect(static_run, sample_en):
    files, recs = records_of(static_run)
    assert [f.name for f in files] == [f"pretraining-0000{i}-of-00003.tfrecord" for i in range(3)]
    stats = json.loads((static_run / "stats.json").read_text())
    counts = stats["counts"]
    assert counts["instances"] == len(recs) > 200
    assert counts["tokens"] == sum(int(r["input_mask"].sum()) for r in recs)
    assert counts["masked_tokens"] == sum(int(r["masked_lm_weights"].sum()) for r in recs)
    assert 0.4 < counts["sop"]["swapped_fraction"] < 0.6
    assert sum(counts["sequence_length_histogram"].values()) == len(recs)
    assert stats["config"]["dupe_factor"] == 2 and stats["vocabulary"]["fingerprint"]
    assert stats["byte_ranges"] > 1
    invoke("inspect", *files, "--vocab", sample_en["spm"], "--show", 1)


def test_byte_identical_for_one_and_two_workers(static_run, sample_en, tmp_path):
    out = tmp_path / "two"
    make(sample_en, out, *SMALL, "--num-shards", 3, "--range-bytes", 1000, "--num-workers", 2)
    for name in (f"pretraining-0000{i}-of-00003.tfrecord" for i in range(3)):
        assert (out / name).read_bytes() == (static_run / name).read_bytes()
    assert json.loads((out / "stats.json").read_text())["num_workers"] == 2


def test_no_more_workers_than_byte_ranges(sample_en, tmp_path):
    out = tmp_path / "one-range"
    make(sample_en, out, *SMALL, "--num-workers", 2)  # the sample is one 1 MB range
    stats = json.loads((out / "stats.json").read_text())
    assert stats["byte_ranges"] == 1 and stats["num_workers"] == 1


def test_whole_words_masked_and_ngrams_within_segments(static_run):
    _, recs = records_of(static_run)
    for r in recs:
        check_whole_words(r)


def test_dynamic_mode_writes_no_masks(sample_en, tmp_path):
    out = tmp_path / "dyn"
    make(sample_en, out, *SMALL, "--masking", "dynamic", "--num-workers", 1)
    _, recs = records_of(out)
    assert recs
    for r in recs:
        assert not r["masked_lm_weights"].any() and not r["masked_lm_positions"].any()
        n = int(r["input_mask"].sum())
        assert r["token_boundary"][:n].sum() > 2
        assert 4 not in r["input_ids"]  # no [MASK] anywhere


def test_gzip_output_reads_with_tensorflow(sample_en, tmp_path):
    import tensorflow as tf

    out = tmp_path / "gz"
    make(sample_en, out, *SMALL, "--gzip", "--num-shards", 1, "--num-workers", 1)
    files = [str(p) for p in out.glob("*.tfrecord.gz")]
    assert len(files) == 1
    count = sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))
    stats = json.loads((out / "stats.json").read_text())
    assert count == stats["counts"]["instances"] > 0


def test_edge_documents_are_counted_not_fatal(sample_en, tmp_path):
    docs = tmp_path / "edge.txt"
    long_sentence = " ".join(["word"] * 500)
    docs.write_text(
        "One sentence only, split at a word.\n\n"
        "the\n\n"
        f"{long_sentence}\nAnd a short one.\n\n"
        "Two sentences here. \nSecond sentence.\n",
        encoding="utf-8",
    )
    out = tmp_path / "edge"
    invoke(
        "make-pretraining",
        docs,
        "-o",
        out,
        "--spm-model",
        sample_en["spm"],
        *SMALL,
        "--num-workers",
        1,
    )
    stats = json.loads((out / "stats.json").read_text())["counts"]
    assert stats["documents_read"] == 4
    assert stats["documents_skipped"] == {"one_token": 1}
    assert stats["one_sentence_documents"] == 1
    assert stats["sentences_longer_than_sequence"] == 1
    assert stats["instances"] >= 3 * 2
    # The 500-word sentence is cut into pieces of at most 61 tokens: nothing truncated.
    assert stats["long_sentence_pieces"] >= 500 // 61 + 1
    assert stats["truncated_tokens"] == 0
    _, recs = records_of(out)
    assert all(int(r["input_mask"].sum()) <= 64 for r in recs)


def test_a_sentence_longer_than_the_sequence_loses_no_text(sample_en, tmp_path):
    docs = tmp_path / "long.txt"
    words = " ".join(f"word{i % 97}" for i in range(3000))  # ~30 000 bytes, one line
    docs.write_text(f"{words}\n\nTwo sentences here.\nSecond sentence.\n", encoding="utf-8")
    out = tmp_path / "long"
    invoke(
        "make-pretraining",
        docs,
        "-o",
        out,
        "--spm-model",
        sample_en["spm"],
        *("--max-seq-length", 128, "--dupe-factor", 1, "--num-workers", 1),
    )
    counts = json.loads((out / "stats.json").read_text())["counts"]
    assert counts["sentences_longer_than_sequence"] == 1
    assert counts["long_sentence_pieces"] >= counts["input_tokens"] // 125
    assert counts["truncated_tokens"] == 0
    assert counts["instances"] > counts["input_tokens"] // 125  # (was 1 record before)
    # Every input token is in a record: each record adds [CLS] and two [SEP].
    assert counts["tokens"] - 3 * counts["instances"] == counts["input_tokens"]
    _, recs = records_of(out)
    assert len(recs) == counts["instances"] > 20


def test_jsonl_input(sample_en, tmp_path):
    jl = tmp_path / "docs.jsonl"
    jl.write_text(
        json.dumps({"text": "First sentence here. Second one follows. A third ends it."})
        + "\n"
        + json.dumps({"text": "Another document. With two sentences."})
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "jl"
    invoke(
        "make-pretraining",
        jl,
        "-o",
        out,
        "--spm-model",
        sample_en["spm"],
        *SMALL,
        "--input-format",
        "jsonl",
        "--num-workers",
        1,
    )
    assert json.loads((out / "stats.json").read_text())["counts"]["documents_read"] == 2


@pytest.mark.parametrize("fmt", ["sentences", "jsonl"])
def test_strict_error_in_a_worker_is_one_line(sample_en, tmp_path, fmt):
    good = "One sentence here.\nAnother one.\n\n" * 100
    if fmt == "sentences":
        data = good.encode() + b"Bad \xfe byte.\n\nTail doc.\n"
        needle = f"byte {len(good) + 4}"
    else:
        data = (json.dumps({"text": "A doc. Two."}) + "\n").encode() * 100 + b"{nope\n"
        needle = "is not valid JSON"
    src = tmp_path / "in.txt"
    src.write_bytes(data)
    out = tmp_path / "o"
    proc = invoke(
        "make-pretraining",
        src,
        "-o",
        out,
        "--spm-model",
        sample_en["spm"],
        *SMALL,
        "--input-format",
        fmt,
        "--strict",
        "--num-workers",
        2,
        "--range-bytes",
        300,
        check=False,
    )
    assert proc.returncode == 2
    line = error_line(proc)
    assert "in.txt" in line and needle in line, line
    assert len([x for x in proc.stderr.splitlines() if x.strip()]) == 1, proc.stderr
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--max-seq-length", 4], "--max-seq-length 4"),
        (["--masked-lm-prob", 0], "--masked-lm-prob 0"),
        (["--masked-lm-prob", 1.5], "--masked-lm-prob 1.5"),
        (["--short-seq-prob", -0.1], "--short-seq-prob -0.1"),
        (["--max-predictions-per-seq", 0], "--max-predictions-per-seq 0"),
        (["--max-n", 0], "--max-n 0"),
        (["--dupe-factor", 0], "--dupe-factor 0"),
    ],
)
def test_bad_flags(sample_en, tmp_path, flags, needle):
    proc = make(sample_en, tmp_path / "o", *flags, check=False)
    assert proc.returncode == 2
    assert needle in error_line(proc)
    assert not (tmp_path / "o").exists()


def test_refuses_non_empty_output_and_overwrites(sample_en, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "old-00000-of-00001.tfrecord").write_bytes(b"old")
    proc = make(sample_en, out, *SMALL, check=False)
    assert (
        proc.returncode == 2
        and "not empty" in error_line(proc)
        and "--overwrite" in error_line(proc)
    )
    make(
        sample_en,
        out,
        *SMALL,
        "--overwrite",
        "--name",
        "old",
        "--num-shards",
        2,
        "--num-workers",
        1,
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == ["old-00000-of-00002.tfrecord", "old-00001-of-00002.tfrecord", "stats.json"]


def test_vocab_without_mask_and_sidecar_contradiction(sample_en, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n", encoding="utf-8")
    proc = invoke(
        "make-pretraining",
        sample_en["sentences"],
        "-o",
        tmp_path / "o",
        "--vocab-file",
        vocab,
        check=False,
    )
    assert proc.returncode == 2 and "[MASK]" in error_line(proc) and "vocab.txt" in error_line(proc)
    proc = make(sample_en, tmp_path / "o", "--no-do-lower-case", check=False)
    assert proc.returncode == 2 and "lower" in error_line(proc)


def test_empty_input_is_an_error(sample_en, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    proc = invoke(
        "make-pretraining",
        empty,
        "-o",
        tmp_path / "o",
        "--spm-model",
        sample_en["spm"],
        "--num-workers",
        1,
        check=False,
    )
    assert proc.returncode == 2 and "no documents" in error_line(proc)
    assert not any((tmp_path / "o").glob("*.tfrecord")) if (tmp_path / "o").exists() else True


def test_chinese_jieba_whole_word_spans(sample_zh, tmp_path):
    out = tmp_path / "zh"
    make(sample_zh, out, *SMALL, "--num-workers", 1)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["vocabulary"]["word_segmenter"] == "jieba"
    _, recs = records_of(out)
    multi_token_words = sum(check_whole_words(r) for r in recs)
    assert multi_token_words > 100  # jieba joined characters into words


def test_automatic_byte_ranges_keep_workers_busy():
    from albert_data.files.docranges import auto_range_bytes
    from albert_data.jobs.make_pretraining import MakePretrainingRequest

    assert MakePretrainingRequest(inputs=("x",), output="o").beam.range_bytes is None
    assert auto_range_bytes(21_600_000) == 337_500  # 64 ranges
    assert auto_range_bytes(4_000_000) == 256 * 1024  # 16 ranges of 256 KiB
    assert auto_range_bytes(100 * 1024**3) == 64 * 1024 * 1024
    assert auto_range_bytes(10) == 256 * 1024
    # Up to 8 workers the default stays at 64 ranges; beyond, 8 ranges per worker.
    assert auto_range_bytes(21_600_000, 8) == 337_500
    assert auto_range_bytes(1_000_000_000, 64) == 1_000_000_000 // 512
    assert auto_range_bytes(21_600_000, 64) == 256 * 1024  # never under 256 KiB
    assert auto_range_bytes(100 * 1024**3, 64) == 64 * 1024 * 1024


def test_many_workers_get_several_ranges_each(tmp_path):
    """On a machine with many cores the input is cut for its workers: 16 workers get
    8 ranges each where 64 ranges would leave them 4, and a remote runner (which
    chooses its own workers) keeps the default of 64."""
    from albert_data.jobs.beam_job import BeamSettings, plan_inputs

    corpus = tmp_path / "big.txt"
    corpus.write_bytes(b"One sentence of a document.\nAnother one.\n\n" * 800_000)  # 33.6 MB
    files = [str(corpus)]
    assert len(plan_inputs(files, BeamSettings(num_workers=16)).ranges) == 128
    assert len(plan_inputs(files, BeamSettings(num_workers=2)).ranges) == 64
    assert len(plan_inputs(files, BeamSettings(runner="DataflowRunner")).ranges) == 64
    assert BeamSettings(num_workers=16).workers_for(128) == 16


def test_summary_names_every_loss_in_words(sample_en, tmp_path):
    corpus = tmp_path / "c.txt"
    text = sample_en["sentences"].read_bytes()
    corpus.write_bytes(text.replace(b"the", b"th\xffe", 1) + b"\n\nHello\n")
    proc = invoke(
        "make-pretraining",
        corpus,
        "-o",
        tmp_path / "out",
        "--spm-model",
        sample_en["spm"],
        "--max-seq-length",
        32,
        "--dupe-factor",
        1,
    )
    summary = proc.stderr
    assert "undecodable bytes replaced by U+FFFD: 1" in summary
    assert "tokens truncated from over-long pairs:" in summary
    assert "sentences longer than a sequence, cut at word boundaries:" in summary
    assert "{" not in summary  # no raw dict
