"""The shared normalisation: cleaning, NFKC, ALBERT's preprocess options, sidecar round trip."""

from __future__ import annotations

import unicodedata

import pytest

from albert_data.text import normalize
from albert_data.text.normalize import CLEANING, Normalization, clean_text


def test_removal_table_covers_every_control_and_format_character(monkeypatch):
    everything = {
        cp
        for cp in range(0x110000)
        if unicodedata.category(chr(cp)) in ("Cc", "Cf") and chr(cp) not in "\t\n\r\x0b\x0c"
    }
    assert set(normalize._REMOVE) == everything
    # The scan that runs on another Unicode version than the recorded one finds the same.
    monkeypatch.setattr(normalize, "_KNOWN_UNICODE", "none")
    assert set(normalize._build_removal_table()) == everything


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("  a \t b\n\nc  ", "a b c"),
        ("zero\u200bwidth\u200djoin\ufeff", "zerowidthjoin"),
        ("bell\x07 and nul\x00 gone", "bell and nul gone"),
        ("soft\u00adhyphen", "softhyphen"),
        ("ideographic\u3000space", "ideographic space"),
        ("", ""),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_defaults_are_albert_uncased_and_options_compose():
    assert Normalization()("Ｆｕｌｌ Width CAFÉ") == "full width café"
    preprocess = Normalization(strip_accents=True, rewrite_quotes=True)
    assert preprocess("``Café'' naïve") == '"cafe" naive'
    assert CLEANING("Keep Case ﬁ") == "Keep Case fi"
    assert Normalization(nfkc=False, lower_case=False)("ﬁ") == "ﬁ"


def test_dict_round_trip_and_unknown_keys():
    n = Normalization(lower_case=False, strip_accents=True)
    assert Normalization.from_dict(n.to_dict()) == n
    with pytest.raises(ValueError, match="unknown normalisation option"):
        Normalization.from_dict({"lowercase": True})


def _clean_by_definition(text: str) -> str:
    return " ".join(text.translate(normalize._REMOVE).split())


def test_clean_text_fast_path_equals_the_definition_for_every_code_point():
    # clean_text skips the removal and the re-spacing for printable text; around every
    # code point (single, doubled, at either end, between words) it must agree with
    # removing, then splitting and joining.
    for cp in range(0x110000):
        ch = chr(cp)
        for text in (ch, f"a{ch}b", f" {ch}", f"{ch} ", f"x{ch}{ch}y", f"a {ch} b"):
            if clean_text(text) != _clean_by_definition(text):
                raise AssertionError(f"U+{cp:04X} in {text!r}")


@pytest.mark.parametrize(
    "text", ["plain text", "two  spaces", " lead", "trail ", "", " ", "tab\there", "nbsp\u00a0x"]
)
def test_clean_text_agrees_with_the_definition_on_spacing(text):
    assert clean_text(text) == _clean_by_definition(text)
