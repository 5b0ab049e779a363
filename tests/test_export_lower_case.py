"""``albert-data export --format hf``: the tokenizer's lower-casing defaults to what the
SentencePiece model's sidecar records; an explicit flag wins."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import tensorflow as tf  # noqa: E402
from click.testing import CliRunner

from albert_data.cli import main  # noqa: E402
from albert_data.model import build_pretraining_model, preset  # noqa: E402
from albert_data.model.initialization import initialize_weights  # noqa: E402
from tests.vocab_corpus import english_sentences, write_lines  # noqa: E402

VOCAB = 300


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny model checkpoint, and real vocabularies (lower-cased, the default; cased;
    accent-stripping), each with the sidecar ``spm-train`` writes; plus one with none."""
    root = tmp_path_factory.mktemp("export-lower")
    corpus = write_lines(root / "en.txt", english_sentences(400, seed=3))
    for name, extra in (
        ("lower", []),
        ("cased", ["--no-lower-case"]),
        ("stripped", ["--strip-accents"]),
    ):
        run = CliRunner().invoke(
            main,
            ["spm-train", corpus, "--model-prefix", str(root / name), "--vocab-size", VOCAB]
            + ["--num-threads", "1", "--no-hard-vocab-limit", *extra],
        )
        assert run.exit_code == 0, run.output
    (root / "bare").mkdir()
    shutil.copyfile(root / "lower.model", root / "bare" / "lower.model")
    # One checkpoint per vocabulary size (export refuses a vocabulary of another size).
    sizes = {
        len((root / f"{n}.vocab").read_text().splitlines()) for n in ("lower", "cased", "stripped")
    }
    for size in sizes:
        config = dataclasses.replace(preset("tiny"), vocab_size=size)
        model = build_pretraining_model(config)
        initialize_weights(model, 0)
        (root / f"model-{size}").mkdir()
        tf.train.Checkpoint(model=model).write(str(root / f"model-{size}" / "ckpt-1"))
        config.to_json(root / f"model-{size}" / "albert_config.json")
    return root


def _export(setup, tmp_path, spm_model, *flags):
    out = tmp_path / "out"
    size = (
        len(spm_model.with_suffix(".vocab").read_text().splitlines())
        if spm_model.with_suffix(".vocab").exists()
        else len((setup / "lower.vocab").read_text().splitlines())
    )
    run = CliRunner().invoke(
        main,
        ["export", "--checkpoint", str(setup / f"model-{size}" / "ckpt-1"), "--output", str(out)]
        + ["--format", "hf", "--spm-model", str(spm_model), *flags],
    )
    assert run.exit_code == 0, run.output
    config = json.loads((out / "hf" / "tokenizer_config.json").read_text())
    return config, out / "hf", run.stderr


def test_sidecar_decides_lower_casing_by_default(setup, tmp_path):
    for name, expected in (("lower", True), ("cased", False)):
        assert json.loads((setup / f"{name}.json").read_text())["normalization"]["lower_case"] is (
            expected
        )
        config, _, stderr = _export(setup, tmp_path / name, setup / f"{name}.model")
        assert config["do_lower_case"] is expected, name
        assert config["keep_accents"] is True
        assert "warning" not in stderr


def test_sidecar_accent_stripping_sets_keep_accents(setup, tmp_path):
    config, _, _ = _export(setup, tmp_path, setup / "stripped.model")
    assert config["keep_accents"] is False and config["do_lower_case"] is True


def test_explicit_flag_wins_over_the_sidecar_with_a_warning(setup, tmp_path):
    config, _, stderr = _export(setup, tmp_path, setup / "lower.model", "--no-do-lower-case")
    assert config["do_lower_case"] is False
    assert "--no-do-lower-case overrides" in stderr and "lower.json" in stderr
    config, _, stderr = _export(setup, tmp_path / "b", setup / "cased.model", "--do-lower-case")
    assert config["do_lower_case"] is True
    assert "--do-lower-case overrides" in stderr


def test_without_a_sidecar_the_default_is_what_make_pretraining_assumed(setup, tmp_path):
    from tokenizers import Tokenizer

    from albert_data.text.tokenization import load_tokenizer

    bare = setup / "bare" / "lower.model"
    config, hf_dir, _ = _export(setup, tmp_path, bare)
    assert config["do_lower_case"] is True  # load_tokenizer's default without a sidecar
    ours = load_tokenizer(spm_model=str(bare))
    exported = Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
    text = "The Cat sat ON the Mat."
    assert exported.encode(text, add_special_tokens=False).ids == ours.encode(text).ids.tolist()
    config, _, _ = _export(setup, tmp_path / "b", bare, "--no-do-lower-case")
    assert config["do_lower_case"] is False


def test_transformers_tokenizer_lower_cases_as_the_vocabulary_was_trained(setup, tmp_path):
    transformers = pytest.importorskip("transformers")
    _, lower_dir, _ = _export(setup, tmp_path / "lower", setup / "lower.model")
    _, cased_dir, _ = _export(setup, tmp_path / "cased", setup / "cased.model")
    try:
        lower = transformers.AlbertTokenizer.from_pretrained(str(lower_dir))
        cased = transformers.AlbertTokenizer.from_pretrained(str(cased_dir))
    except ValueError as err:  # transformers 5 converts spiece.model with its own protobuf code
        if "tiktoken" not in str(err):
            raise
        pytest.skip(f"transformers cannot read any SentencePiece model here: {err}")
    text = "The River Flows North"
    assert lower.tokenize(text) == lower.tokenize(text.lower())
    assert cased.tokenize(text) != cased.tokenize(text.lower())


def test_export_writes_a_tokenizer_json_that_autotokenizer_loads_as_ours(setup, tmp_path):
    from tokenizers import Tokenizer

    from albert_data.text.tokenization import load_tokenizer

    _, hf_dir, _ = _export(setup, tmp_path, setup / "stripped.model")
    ours = load_tokenizer(spm_model=str(setup / "stripped.model"))
    text = "Crème Brûlée ``costs'' £3 (per-slice) — Ｆｕｌｌ  width\u200b."
    want = ours.encode(text).ids.tolist()
    assert (
        Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
        .encode(text, add_special_tokens=False)
        .ids
        == want
    )
    config = json.loads((hf_dir / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    transformers = pytest.importorskip("transformers")
    auto = transformers.AutoTokenizer.from_pretrained(str(hf_dir))
    sp = ours.special
    enc = auto(text, "Second.")
    first_sep = enc["input_ids"].index(sp.sep)
    assert enc["input_ids"][: first_sep + 1] == [sp.cls, *want, sp.sep]
    assert enc["token_type_ids"][first_sep + 1 :] == [1] * (len(enc["input_ids"]) - first_sep - 1)
    assert auto.mask_token_id == sp.mask and auto.pad_token_id == sp.pad
