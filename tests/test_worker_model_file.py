"""Local Beam runs give their DoFns the SentencePiece model by file (path + SHA-256):
the same encoding, and one line when the file changes before the workers read it.
(That a local run, whose workers read the file, and a run on mem://, whose DoFns carry
the model's bytes, write the same shards is tests/test_remote_filesystem.py's check.)"""

from __future__ import annotations

import hashlib
import shutil

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from albert_data.errors import UserError
from albert_data.text.tokenization import load_tokenizer
from pipelines.options import run_pipeline


class _Encode(beam.DoFn):
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def process(self, text):
        yield self.tokenizer.encode_flat([text]).ids.tolist()


IN_PROCESS = ["--runner", "DirectRunner"]
TWO_PROCESSES = [
    *IN_PROCESS,
    "--direct_running_mode",
    "multi_processing",
    "--direct_num_workers",
    "2",
]


def _pipeline(tokenizer, out, flags=IN_PROCESS):
    p = beam.Pipeline(options=PipelineOptions(flags))
    (
        p
        | beam.Create(["the harbour museum opened", "a quiet river"])
        | beam.ParDo(_Encode(tokenizer))
        | beam.Map(str)
        | beam.io.WriteToText(str(out), shard_name_template="")
    )
    return p


def test_a_worker_reads_the_model_file_and_encodes_as_the_launcher(sample_en, tmp_path):
    model = tmp_path / "spm.model"
    shutil.copy(sample_en["spm"], model)
    shutil.copy(sample_en["spm"].with_suffix(".json"), model.with_suffix(".json"))
    tokenizer = load_tokenizer(spm_model=str(model))
    run_pipeline(_pipeline(tokenizer.reading_model_file(), tmp_path / "out"))
    expected = {
        str(tokenizer.encode_flat([t]).ids.tolist())
        for t in ("the harbour museum opened", "a quiet river")
    }
    assert set((tmp_path / "out").read_text().splitlines()) == expected


@pytest.mark.parametrize("flags", [IN_PROCESS, TWO_PROCESSES], ids=["in-process", "2-processes"])
def test_a_model_file_changed_before_the_workers_read_it_is_one_line(sample_en, tmp_path, flags):
    model = tmp_path / "spm.model"
    shutil.copy(sample_en["spm"], model)
    tokenizer = load_tokenizer(spm_model=str(model))
    pipeline = _pipeline(tokenizer.reading_model_file(), tmp_path / "out", flags)
    model.write_bytes(model.read_bytes() + b"\0")  # replaced while the job starts
    with pytest.raises(UserError) as err:
        run_pipeline(pipeline)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(f"{model}: the SentencePiece model changed during the run")
    assert hashlib.sha256(sample_en["spm"].read_bytes()).hexdigest()[:12] in line
    assert not (tmp_path / "out").exists()
