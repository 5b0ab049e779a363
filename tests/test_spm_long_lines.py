"""spm-train never loses a line to SentencePiece's max_sentence_length: long lines are cut
at sentence or word boundaries, counted, and the sample reported is the one trained on."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from albert_data.errors import UserError
from albert_data.jobs.spm_train import SpmTrainRequest, run
from tests.vocab_corpus import chinese_sentences, english_sentences, write_lines
from vocab.long_lines import cut_long_line, utf8_length
from vocab.spm_recipe import SpmRecipe, recipe_for


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_english_is_cut_after_sentences_into_pieces_that_fit():
    sentences = english_sentences(400, seed=1)
    line = " ".join(sentences)
    pieces = cut_long_line(line, 1000)
    assert len(pieces) > 1 and all(utf8_length(p) <= 1000 for p in pieces)
    assert squeeze("".join(pieces)) == squeeze(line)  # nothing lost but the spaces at cuts
    assert all(p.endswith((".", "?", "!")) for p in pieces[:-1])  # at sentence ends


def test_chinese_without_spaces_is_cut_after_sentences_and_never_inside_a_character():
    line = "".join(chinese_sentences(600, seed=2))
    assert " " not in line
    pieces = cut_long_line(line, 4192)
    assert len(pieces) > 2 and all(utf8_length(p) <= 4192 for p in pieces)
    assert "".join(pieces) == line
    assert all(p.endswith(("。", "？", "！")) for p in pieces[:-1])


def test_text_without_any_boundary_is_cut_between_characters():
    line = "ü" * 5000  # 10 000 bytes, no space, no punctuation, no ideograph
    pieces = cut_long_line(line, 4192)
    assert [utf8_length(p) for p in pieces] == [4192, 4192, 1616]
    assert "".join(pieces) == line


def test_words_are_kept_whole_when_there_is_no_sentence_end():
    words = np.random.default_rng(3).choice(["alpha", "beta", "gamma", "épsilon"], size=3000)
    line = " ".join(words)
    pieces = cut_long_line(line, 500)
    assert all(utf8_length(p) <= 500 for p in pieces)
    assert " ".join(pieces) == line  # every cut at a space


def test_a_line_that_fits_is_left_alone():
    assert cut_long_line("short line.", 4192) == ["short line."]


def long_line(rng: np.random.Generator, seed: int) -> str:
    """One English line of 650-1 100 bytes (over the test's 600-byte limit: the default
    4 192 bytes would make the file 5 MB and the test slow for nothing more)."""
    sentences = english_sentences(20, seed=seed)
    size = int(rng.integers(650, 1100))
    line = sentences.pop()
    while utf8_length(line) < size:
        line += " " + sentences.pop()
    return line


def test_a_file_with_1000_of_3000_lines_too_long_trains_on_every_line(tmp_path, capfd):
    rng = np.random.default_rng(7)
    short = english_sentences(2000, seed=5)
    long = [long_line(rng, seed=i) for i in range(1000)]
    lines = short + long
    order = rng.permutation(len(lines))
    path = write_lines(tmp_path / "mixed.txt", [lines[i] for i in order])
    prefix = str(tmp_path / "spm")
    result = run(
        SpmTrainRequest(
            inputs=(path,),
            model_prefix=prefix,
            recipe=SpmRecipe(vocab_size=300, max_sentence_length=600),
            num_threads=1,
            verbose=True,
            progress=False,
        )
    )
    log = capfd.readouterr().err
    loaded = int(re.search(r"Loaded all (\d+) sentences", log).group(1))
    assert "too long" not in log.lower()  # SentencePiece skipped nothing
    assert result.lines_read == 3000
    assert result.sentences == loaded > 3000  # the sample reported is the one trained on
    assert result.prepared["long_lines_cut"] == 1000
    assert result.prepared["long_line_pieces"] == loaded - 2000
    sample = json.loads((tmp_path / "spm.json").read_text())["sample"]
    assert sample["sentences"] == loaded and sample["long_lines_cut"] == 1000
    assert sample["long_line_pieces"] == loaded - 2000 and sample["max_sentence_length"] == 600
    summary = "\n".join(result.summary_lines())
    assert f"trained on {loaded} sentences" in summary
    assert "cut 1000 sampled line(s) longer than 600 bytes" in summary


def test_chinese_long_lines_are_cut_with_a_lower_limit(tmp_path, capfd):
    paragraphs = ["".join(chinese_sentences(40, seed=i)) for i in range(30)]  # ~1.5-2 kB
    path = write_lines(tmp_path / "zh.txt", paragraphs + chinese_sentences(300, seed=99))
    result = run(
        SpmTrainRequest(
            inputs=(path,),
            model_prefix=str(tmp_path / "zh"),
            recipe=recipe_for(
                "zh", vocab_size=300, max_sentence_length=600, hard_vocab_limit=False
            ),
            lang="zh",
            num_threads=1,
            verbose=True,
            progress=False,
        )
    )
    log = capfd.readouterr().err
    assert "too long" not in log.lower()
    loaded = int(re.search(r"Loaded all (\d+) sentences", log).group(1))
    assert result.sentences == loaded and result.prepared["long_lines_cut"] == 30
    recipe = json.loads((tmp_path / "zh.json").read_text())["recipe"]
    assert recipe["max_sentence_length"] == 600


def test_the_default_limit_is_sentencepieces():
    assert SpmRecipe().max_sentence_length == 4192
    assert "max_sentence_length" not in SpmRecipe().trainer_options()  # its own default
    assert SpmRecipe(max_sentence_length=600).trainer_options()["max_sentence_length"] == 600


def test_a_limit_below_one_character_is_refused(tmp_path):
    path = write_lines(tmp_path / "in.txt", english_sentences(20))
    with pytest.raises(UserError, match="--max-sentence-length 3"):
        run(
            SpmTrainRequest(
                inputs=(path,),
                model_prefix=str(tmp_path / "m"),
                recipe=SpmRecipe(max_sentence_length=3),
            )
        )


def test_a_line_of_megabytes_is_cut_in_one_pass():
    line = "".join(chinese_sentences(2000, seed=4)) * 20  # ~2.4 MB, no spaces
    pieces = cut_long_line(line, 4192)
    assert all(utf8_length(p) <= 4192 for p in pieces)
    assert "".join(pieces) == line
    assert len(pieces) < 1.5 * utf8_length(line) / 4192  # cuts near the limit, not tiny pieces
