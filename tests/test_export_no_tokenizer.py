"""export without a vocabulary says, in one line, that the Hugging Face directory has no
tokenizer, naming --spm-model / --vocab-file (and the vocabulary the records name)."""

from __future__ import annotations

import shutil

from albert_data.jobs.export import ExportRequest, tokenizer_files
from albert_data.model.config import preset


def notes_for(**request) -> list[str]:
    notes: list[str] = []
    files = tokenizer_files(ExportRequest(**request), preset("tiny"), "albert_config.json", notes)
    assert files == {}
    return notes


def test_the_hf_directory_without_a_tokenizer_is_named(made, tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (line,) = notes_for(output=str(tmp_path / "out"), model_dir=str(model_dir))
    assert "\n" not in line and "no tokenizer" in line
    assert "--spm-model" in line and "--vocab-file" in line


def test_the_vocabulary_the_records_name_is_suggested(made, tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    shutil.copy(made["records"] / "stats.json", model_dir / "stats.json")  # as train copies it
    (line,) = notes_for(output=str(tmp_path / "out"), model_dir=str(model_dir))
    assert f"--spm-model {made['stats']['path']}" in line


def test_no_note_when_no_hugging_face_directory_is_written(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    notes = notes_for(output=str(tmp_path / "out"), model_dir=str(model_dir), formats=("google",))
    assert notes == []
