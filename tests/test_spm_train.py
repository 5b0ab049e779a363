"""``albert-data spm-train`` end to end: recipe, sidecar, inputs, sampling, every error."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm
from click.testing import CliRunner

from albert_data.cli import main
from albert_data.errors import UserError
from albert_data.text.normalize import Normalization
from albert_data.text.tokenization import load_tokenizer
from tests.vocab_corpus import chinese_sentences, english_sentences, write_lines
from vocab.reservoir import sample_key
from vocab.sidecar import Sidecar, read_sidecar
from vocab.spm_recipe import SpmRecipe, train_spm

EN = english_sentences(800, seed=11)


def run(*args: str):
    return CliRunner().invoke(main, ["spm-train", *args])


def train(tmp_path: Path, *extra: str, inputs=None, prefix="vocab/m"):
    corpus = inputs or [write_lines(tmp_path / "en.txt", EN)]
    result = run(*corpus, "--model-prefix", str(tmp_path / prefix), "--num-threads", "1", *extra)
    return result, tmp_path / prefix


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spm")
    result, prefix = train(tmp, "--vocab-size", "300")
    assert result.exit_code == 0, result.output
    return prefix


def test_writes_model_vocab_and_sidecar_with_albert_recipe(trained):
    model = Path(f"{trained}.model").read_bytes()
    sp = spm.SentencePieceProcessor(model_proto=model)
    assert [sp.id_to_piece(i) for i in range(5)] == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    assert sp.bos_id() == -1 and sp.eos_id() == -1 and sp.get_piece_size() == 300
    vocab_lines = Path(f"{trained}.vocab").read_text(encoding="utf-8").splitlines()
    assert len(vocab_lines) == 300 and vocab_lines[0] == "<pad>\t0"
    assert [line.split("\t")[0] for line in vocab_lines[5:13]] == list('()"-.–£€')
    side = json.loads(Path(f"{trained}.json").read_text(encoding="utf-8"))
    assert side["normalization"] == Normalization().to_dict()
    assert side["lang"] == "en" and side["pre_segmentation"] == "none"
    assert side["recipe"]["vocab_size"] == 300 and side["recipe"]["model_type"] == "unigram"
    assert side["recipe"]["character_coverage"] == 0.99995
    assert side["recipe"]["control_symbols"] == ["[CLS]", "[SEP]", "[MASK]"]
    assert side["recipe"]["input_sentence_size"] == 10_000_000
    assert side["sample"]["lines_read"] == 800 and side["sample"]["sentences"] == 800
    assert side["sample"]["input_files"][0].endswith("en.txt")
    assert side["versions"]["sentencepiece"] == spm.__version__
    assert side["created"]


def test_sidecar_round_trip_and_tokenizer_picks_it_up(trained):
    sidecar = read_sidecar(f"{trained}.model")
    assert Sidecar.from_dict(sidecar.to_dict()) == sidecar
    assert SpmRecipe.from_dict(sidecar.recipe).vocab_size == 300
    tk = load_tokenizer(spm_model=f"{trained}.model")
    assert tk.describe()["normalization"] == sidecar.normalization
    assert tk.special.__dict__ == {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
    assert tk.word_segmenter == "none"


def test_normalisation_identical_at_train_and_encode_time(tmp_path):
    result, prefix = train(tmp_path, "--vocab-size", "300", "--strip-accents", "--no-lower-case")
    assert result.exit_code == 0, result.output
    pieces = spm.SentencePieceProcessor(model_file=f"{prefix}.model")
    vocab = {pieces.id_to_piece(i) for i in range(pieces.get_piece_size())}
    assert not any(ch in piece for piece in vocab for ch in "éïü")  # accents stripped in training
    assert any(any(ch.isupper() for ch in piece) for piece in vocab)  # case kept
    tk = load_tokenizer(spm_model=f"{prefix}.model")
    assert (
        tk.encode("Café naïve Zürich").ids.tolist() == tk.encode("Cafe naive Zurich").ids.tolist()
    )
    assert tk.encode("Museum").ids.tolist() != tk.encode("museum").ids.tolist()


def test_flags_contradicting_the_sidecar_are_refused(trained):
    model = f"{trained}.model"
    with pytest.raises(UserError, match="lower_case"):
        load_tokenizer(spm_model=model, lower_case=False)
    with pytest.raises(UserError, match="lower_case"):
        load_tokenizer(spm_model=model, do_lower_case=False)
    with pytest.raises(UserError, match="strip_accents"):
        load_tokenizer(spm_model=model, strip_accents=True)
    assert load_tokenizer(spm_model=model, lower_case=True, nfkc=True).vocab_size == 300


def test_model_without_sidecar_takes_explicit_normalisation(trained, tmp_path):
    bare = tmp_path / "bare.model"
    bare.write_bytes(Path(f"{trained}.model").read_bytes())
    tk = load_tokenizer(spm_model=str(bare), strip_accents=True, rewrite_quotes=True)
    assert (
        tk.describe()["normalization"]
        == Normalization(strip_accents=True, rewrite_quotes=True).to_dict()
    )


def test_reads_directories_globs_gz_and_bz2(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    write_lines(data / "a.txt", EN[:300])
    with gzip.open(data / "b.txt.gz", "wt", encoding="utf-8") as f:
        f.write("\ufeff" + "\n\n".join(EN[300:600]) + "\n")  # BOM and blank lines
    with bz2.open(data / "sub" / "c.txt.bz2", "wt", encoding="utf-8") as f:
        f.write("\n".join(EN[600:]) + "\n")
    result, prefix = train(
        tmp_path, "--vocab-size", "300", inputs=[str(data / "sub"), str(data / "*.t*")]
    )
    assert result.exit_code == 0, result.output
    side = read_sidecar(f"{prefix}.model")
    assert side.sample["lines_read"] == 800 and len(side.sample["input_files"]) == 3


def test_reservoir_sample_is_seeded(tmp_path):
    outs = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        args = ("--vocab-size", "250", "--input-sentence-size", "400", "--seed", seed)
        result, prefix = train(tmp_path, *args, prefix=name)
        assert result.exit_code == 0, result.output
        outs.append(Path(f"{prefix}.model").read_bytes())
        side = read_sidecar(f"{prefix}.model")
        assert side.sample["sentences"] == 400 and side.sample["lines_read"] == 800
    assert outs[0] == outs[1] and outs[0] != outs[2]


def test_missing_input_is_named(tmp_path):
    result, _ = train(tmp_path, inputs=[str(tmp_path / "nope.txt")])
    assert (
        result.exit_code == 2 and "nope.txt" in result.output and "Traceback" not in result.output
    )


def test_empty_input(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n")
    result, _ = train(tmp_path, inputs=[str(empty)])
    assert result.exit_code == 2 and "empty.txt" in result.output and "no text" in result.output


def test_corpus_too_small_names_the_largest_size_and_both_ways_out(tmp_path):
    result, _ = train(tmp_path, "--vocab-size", "5000")
    assert result.exit_code == 2
    message = result.output.strip().splitlines()[-1]
    largest = int(message.split("at most ")[1].split()[0])
    assert f"--vocab-size {largest}" in message and "--no-hard-vocab-limit" in message
    ok, prefix = train(tmp_path, "--vocab-size", str(largest), prefix="fits")
    assert ok.exit_code == 0, ok.output
    soft, soft_prefix = train(tmp_path, "--vocab-size", "5000", "--no-hard-vocab-limit", prefix="s")
    assert soft.exit_code == 0, soft.output
    size = spm.SentencePieceProcessor(model_file=f"{soft_prefix}.model").get_piece_size()
    assert size <= largest + 5


def test_vocab_size_below_the_characters_needed(tmp_path):
    result, _ = train(tmp_path, "--vocab-size", "20")
    assert result.exit_code == 2 and "--character-coverage" in result.output


def test_existing_output_needs_overwrite(trained, tmp_path):
    result, prefix = train(tmp_path, "--vocab-size", "300")
    assert result.exit_code == 0
    again, _ = train(tmp_path, "--vocab-size", "300")
    assert again.exit_code == 2 and "--overwrite" in again.output
    forced, _ = train(tmp_path, "--vocab-size", "300", "--overwrite")
    assert forced.exit_code == 0, forced.output
    assert not list(prefix.parent.glob("*.tmp-*"))


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--control-symbols", "[CLS],[SEP]"), "[MASK]"),
        (("--jieba",), "--lang zh"),
        (("--pad-id", "-1"), "--pad-id"),
        (("--temp_location=/tmp/x",), "--runner"),
    ],
)
def test_bad_options(tmp_path, args, named):
    result, _ = train(tmp_path, *args)
    assert result.exit_code == 2 and named in result.output, result.output


def test_chinese_with_jieba_pre_segmentation(tmp_path):
    corpus = write_lines(tmp_path / "zh.txt", chinese_sentences(600, seed=3))
    args = ("--lang", "zh", "--jieba", "--vocab-size", "200")
    result, prefix = train(tmp_path, *args, inputs=[corpus])
    assert result.exit_code == 0, result.output
    side = read_sidecar(f"{prefix}.model")
    assert side.lang == "zh" and side.pre_segmentation == "jieba"
    assert side.recipe["character_coverage"] == 0.9995 and side.versions["jieba"]
    tk = load_tokenizer(spm_model=f"{prefix}.model")
    assert tk.word_segmenter == "jieba" and tk.pre_segmentation == "jieba"
    pieces = tk.id_to_piece(tk.encode("我们在北京大学学习").ids)
    assert "".join(pieces).replace("▁", "") == "我们在北京大学学习"


def test_beam_sampler_draws_the_smallest_keys(tmp_path):
    k, seed = 300, 21
    beam = ("--runner", "DirectRunner", "--direct_running_mode=in_memory")
    args = ("--vocab-size", "250", "--input-sentence-size", str(k), "--seed", str(seed), *beam)
    result, prefix = train(tmp_path, *args)
    assert result.exit_code == 0, result.output
    side = read_sidecar(f"{prefix}.model")
    assert side.sample["sampler"] == "beam-smallest-keys"
    assert side.sample["lines_read"] == 800 and side.sample["sentences"] == k
    # the same sample drawn here, in the command's order, trains the identical model
    lines = sorted(sorted(EN, key=lambda s: (sample_key(seed, s), s))[:k])
    order = np.random.default_rng(seed).permutation(k)
    normalize = Normalization()
    expected = train_spm([normalize(lines[i]) for i in order], SpmRecipe(vocab_size=250))
    assert Path(f"{prefix}.model").read_bytes() == expected


def test_real_entry_point(tmp_path):
    exe = Path(sys.executable).parent / "albert-data"
    help_text = subprocess.run([exe, "spm-train", "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "--no-hard-vocab-limit" in help_text.stdout
    failed = subprocess.run(
        [exe, "spm-train", str(tmp_path / "missing.txt"), "--model-prefix", str(tmp_path / "m")],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: ") and len(failed.stderr.strip().splitlines()) == 1


def test_pass_through_options_are_told_from_inputs(tmp_path):
    from albert_data.commands.beam_args import split_pass_through

    a = write_lines(tmp_path / "a.txt", EN[:5])
    b = write_lines(tmp_path / "b.txt", EN[5:10])
    tokens = [a, "--project", "p1", "--region=eu", "--save_main_session", b, "--streaming"]
    assert split_pass_through(tokens) == (
        [a, b],
        ["--project=p1", "--region=eu", "--save_main_session", "--streaming"],
    )


def test_model_missing_mask_refused_by_load_tokenizer(tmp_path):
    recipe = SpmRecipe(vocab_size=150, control_symbols=("[CLS]", "[SEP]"))
    model = tmp_path / "nomask.model"
    model.write_bytes(train_spm([Normalization()(s) for s in EN[:300]], recipe))
    with pytest.raises(UserError, match=r"nomask\.model.*\[MASK\]"):
        load_tokenizer(spm_model=str(model))
    with pytest.raises(UserError, match="no such SentencePiece model"):
        load_tokenizer(spm_model=str(tmp_path / "absent.model"))


def test_binary_input_is_refused(tmp_path):
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"text\x00\x01\x02")
    result, _ = train(tmp_path, inputs=[str(binary)])
    assert result.exit_code == 2 and "blob.txt" in result.output and "binary" in result.output


def _sample_sentences(lang: str) -> list[str]:
    from albert_data.text.corpus import sample_documents
    from albert_data.text.sentences import split_sentences

    return [
        s
        for doc in sample_documents(lang)
        for line in doc.splitlines()
        for s in split_sentences(line)
    ]


def _reference_starts(pieces: list[str], own_word) -> list[bool]:
    """The word-start rule token by token, written plainly (see vocab/base.py)."""
    starts = []
    for i, piece in enumerate(pieces):
        if i == 0:
            starts.append(True)
        elif pieces[i - 1] == "▁":
            starts.append(False)
        else:
            starts.append(piece.startswith("▁") or own_word(piece) or own_word(pieces[i - 1]))
    return starts


@pytest.mark.parametrize(("lang", "size"), [("en", 1000), ("zh", 2500)])
def test_bundled_sample_corpus(tmp_path, lang, size):
    import unicodedata

    sentences = _sample_sentences(lang)
    corpus = write_lines(tmp_path / f"{lang}.txt", sentences)
    args = ("--lang", lang, "--vocab-size", str(size))
    result, prefix = train(tmp_path, *args, inputs=[corpus])
    assert result.exit_code == 0, result.output
    tk = load_tokenizer(spm_model=f"{prefix}.model", word_segmenter="none")
    assert tk.special.__dict__ == {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
    user = set('()"-.–£€')

    def own_word(piece: str) -> bool:
        body = piece.lstrip("▁")
        symbolic = body != "" and all(unicodedata.category(c)[0] in "PS" for c in body)
        return piece in user or symbolic or any("\u4e00" <= c <= "\u9fff" for c in piece)

    for sentence, enc in zip(sentences, tk.encode_batch(sentences), strict=True):
        pieces = tk.id_to_piece(enc.ids)
        assert enc.word_starts.tolist() == _reference_starts(pieces, own_word), sentence


def test_sidecar_names_and_broken_sidecars(trained, tmp_path):
    from vocab.sidecar import sidecar_path

    assert sidecar_path("gs://bucket/v/30k.model") == "gs://bucket/v/30k.json"
    assert sidecar_path("dir/spm") == "dir/spm.json"
    model = tmp_path / "m.model"
    model.write_bytes(Path(f"{trained}.model").read_bytes())
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(UserError, match=r"m\.json"):
        load_tokenizer(spm_model=str(model))
    side = json.loads(Path(f"{trained}.json").read_text(encoding="utf-8"))
    side["normalization"]["casefold"] = True
    (tmp_path / "m.json").write_text(json.dumps(side))
    with pytest.raises(UserError, match="casefold"):
        load_tokenizer(spm_model=str(model))


def test_beam_sampler_on_the_direct_runner_is_quiet_and_leaves_no_temporary_files(tmp_path):
    """As the other Beam commands: Beam's console output goes to a log file (deleted after a
    good run), and the run's temporary files (Beam's and the sample's) go to a directory of
    its own, removed at the end."""
    exe = Path(sys.executable).parent / "albert-data"
    corpus = write_lines(tmp_path / "in.txt", EN)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    args = [exe, "spm-train", corpus, "--model-prefix", tmp_path / "m", "--vocab-size", "250"]
    proc = subprocess.run(
        [*map(str, args), "--runner", "DirectRunner"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    ours = ("spm-train: ", "read ", "wrote ")
    assert all(line.startswith(ours) for line in proc.stderr.splitlines() if line), proc.stderr
    assert "sampling 1 file(s) with Beam (DirectRunner)" in proc.stderr
    assert list(scratch.iterdir()) == []
    assert read_sidecar(f"{tmp_path / 'm'}.model").sample["sampler"] == "beam-smallest-keys"
