"""The Dataflow job, built offline: Beam's DataflowRunner with ``--dry_run=True
--no_auth`` translates the whole job without contacting Google. The job must shuffle
through the engine's GroupByKey (no run-file step), every DoFn must pickle, and the
staged wheel must not pull TensorFlow onto the workers."""

from __future__ import annotations

import pickle
import zipfile

import pytest

from tests.cli_helpers import error_line, invoke

DATAFLOW = [
    "--runner",
    "DataflowRunner",
    "--project",
    "my-project",
    "--region",
    "us-central1",
    "--temp_location",
    "gs://my-bucket/tmp",
    "--dry_run=True",
    "--no_auth",
]


def job_steps(proc) -> list[str]:
    lines = proc.stderr.splitlines()
    assert "job steps:" in lines, proc.stderr
    return lines[lines.index("job steps:") + 1 :][:-1]  # the last line is the summary


def dry_make_pretraining(sample, *flags, check: bool = True):
    """make-pretraining of gs:// paths with the sample's vocabulary, as a Dataflow dry run."""
    return invoke(
        "make-pretraining",
        "gs://my-bucket/corpus/*.txt",
        "-o",
        "gs://my-bucket/records",
        "--spm-model",
        sample["spm"],
        *DATAFLOW,
        *flags,
        check=check,
    )


def test_make_pretraining_dataflow_job_builds_offline(sample_en):
    proc = dry_make_pretraining(sample_en, "--num-shards", 16)
    steps = job_steps(proc)
    assert "MakePretraining/Shuffle/GroupByShard" in steps
    assert any(s.startswith("MakePretraining/WriteShards") for s in steps)
    assert not any("WriteRuns" in s or "Segments" in s for s in steps), steps
    assert "dry run" in proc.stderr.splitlines()[-1]


def test_split_sentences_dataflow_job_builds_offline():
    proc = invoke(
        "split-sentences",
        "gs://my-bucket/raw/*.jsonl.gz",
        "-o",
        "gs://my-bucket/sentences/docs.txt",
        "--input-format",
        "jsonl",
        "--num-shards",
        8,
        *DATAFLOW,
    )
    steps = job_steps(proc)
    assert "SplitSentences/Shuffle/GroupByShard" in steps
    assert any(s.startswith("SplitSentences/WriteShards") for s in steps)
    assert not any("WriteRuns" in s for s in steps), steps


def test_dry_run_needs_num_shards(sample_en):
    proc = dry_make_pretraining(sample_en, check=False)
    assert proc.returncode == 2
    assert "--num-shards" in error_line(proc)


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--shuffle", "sideways"], "--shuffle 'sideways' is not one of"),
        (["--shuffle", "files"], "--shuffle files needs the DirectRunner"),
        (["--min-sentence", "3"], "unknown option --min-sentence"),
    ],
)
def test_bad_runner_options_are_one_line(sample_en, tmp_path, flags, needle):
    proc = dry_make_pretraining(sample_en, "--num-shards", 4, *flags, check=False)
    assert proc.returncode == 2
    assert needle in error_line(proc)


def test_every_dofn_of_both_pipelines_pickles(sample_en):
    """What Dataflow ships to workers: each transform's DoFns, pickled by value."""
    from apache_beam.internal import pickler

    from albert_data.jobs.make_pretraining import pretraining_config
    from albert_data.pretraining.document_records import VocabIds
    from albert_data.text.documents import SplitConfig
    from albert_data.text.tokenization import load_tokenizer
    from pipelines import pretraining, shuffle, split_sentences

    tokenizer = load_tokenizer(spm_model=str(sample_en["spm"]))
    config = pretraining_config()
    dofns = [
        pretraining.ReadDocuments(fmt="sentences", text_field="text", strict=False),
        pretraining.MakeRecords(
            tokenizer=tokenizer, config=config, vocab=VocabIds.of(tokenizer), num_shards=3
        ),
        pretraining.WriteShard(["gs://b/x-0", "gs://b/x-1", "gs://b/x-2"], False),
        split_sentences.ReadAndClean(SplitConfig(), 3),
        split_sentences.WriteShard(["gs://b/y"], gzip=True, dedup=True, scratch_dir=None),
        shuffle.WriteRuns("/tmp/runs"),
    ]
    for dofn in dofns:
        back = pickler.loads(pickler.dumps(dofn))
        assert type(back) is type(dofn)
    made = pickle.loads(pickle.dumps(dofns[1]))
    assert made.tokenizer.fingerprint() == tokenizer.fingerprint()


def test_staged_wheel_declares_no_tensorflow():
    """The wheel a remote runner stages installs only what the pipelines import."""
    from pipelines.options import staging_args

    (flag,) = staging_args()
    wheel = flag.split("=", 1)[1]
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith("METADATA"))
        text = zf.read(meta).decode()
        names = zf.namelist()
    required = [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    base = [r for r in required if "extra ==" not in r]
    assert any(r.startswith("apache-beam") for r in base)
    assert any(r.startswith("sentencepiece") for r in base)
    assert not any(r.lower().startswith(("tensorflow", "keras", "torch")) for r in base), base
    assert "pipelines/pretraining.py" in names and "vocab/base.py" in names


def test_pipelines_and_beam_jobs_do_not_import_tensorflow():
    """What a worker (and the launcher of a Beam job) imports pulls in no TensorFlow."""
    import subprocess
    import sys

    code = (
        "import sys, albert_data.jobs.make_pretraining, albert_data.jobs.split_sentences, "
        "pipelines.pretraining, pipelines.split_sentences, pipelines.shuffle, pipelines.spm_sample; "
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'torch'}); "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
