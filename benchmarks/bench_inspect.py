"""``inspect`` against ``tf.data`` reading and parsing the same records.

Records as a user makes them: a generated English corpus (``albert_data.text.corpus``,
seeded; ``BENCH_INSPECT_CORPUS_BYTES``, default 20 MB), a SentencePiece vocabulary of
8 000 pieces, then ``make-pretraining`` at seq 512, 20 predictions, dupe 5 (about 310 MB
of records). Both sides read every record of the same files, alternately (inspect,
tf.data, inspect, ...; ``BENCH_INSPECT_PAIRS`` pairs, default 3), so a drifting machine
weighs on both alike:

- inspect: ``albert-data inspect DIR --vocab ... --show 0 --no-progress`` as a user runs
  it, the whole process (start-up, vocabulary, every record validated on every core);
- tf.data: ``TFRecordDataset`` (parallel reads) → batches of 512 → ``parse_example``
  with the trainer's feature spec (parallel), prefetched, timed inside its process from
  the first read to the last batch (TensorFlow's import not counted).

Reported: wall seconds, MB/s (record bytes over wall seconds) and CPU seconds of each,
their medians, and inspect/tf.data per pair and its median (the target: at most 2).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

from benchmarks.bench_pretraining import BIN, bench_vocab

OUT = Path(os.environ.get("BENCH_OUT", "bench-out")) / "inspect"
CORPUS_BYTES = int(os.environ.get("BENCH_INSPECT_CORPUS_BYTES", 20_000_000))
PAIRS = int(os.environ.get("BENCH_INSPECT_PAIRS", 3))

TF_READ = """
import sys, time
import tensorflow as tf
from albert_data.records.schema import RecordShape
from albert_data.training.data import feature_spec
files, L, P = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
spec = feature_spec(RecordShape(L, P))
cpu, start = time.process_time(), time.perf_counter()
ds = tf.data.TFRecordDataset(files, num_parallel_reads=tf.data.AUTOTUNE).batch(512)
ds = ds.map(lambda s: tf.io.parse_example(s, spec), num_parallel_calls=tf.data.AUTOTUNE)
n = sum(int(b["input_ids"].shape[0]) for b in ds.prefetch(tf.data.AUTOTUNE))
print(n, time.perf_counter() - start, time.process_time() - cpu)
"""


def prepare() -> tuple[Path, Path]:
    """(records directory, vocabulary), made once and kept in ``OUT``."""
    from albert_data.text.corpus import write_corpus

    OUT.mkdir(parents=True, exist_ok=True)
    corpus, records = OUT / "corpus.txt", OUT / "records"
    if not corpus.exists():
        write_corpus(str(corpus), "en", seed=1, target_bytes=CORPUS_BYTES, sentence_per_line=True)
    model = bench_vocab(corpus, OUT)
    if not (records / "stats.json").exists():
        subprocess.run(
            [str(BIN), "make-pretraining", str(corpus), "--spm-model", str(model)]
            + ["--output", str(records), "--overwrite", "--no-progress"]
            + ["--max-seq-length", "512", "--max-predictions-per-seq", "20"]
            + ["--dupe-factor", "5", "--max-n", "3", "--random-seed", "12345"],
            check=True,
            capture_output=True,
        )
    return records, model


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_inspect(records: Path, model: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process tree, its summary's records line)."""
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(
        [str(BIN), "inspect", str(records), "--vocab", str(model), "--show", "0"]
        + ["--no-progress"],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"inspect failed: {proc.stderr.strip()}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("records "))
    return wall, _children_cpu() - cpu, line


def time_tf_data(files: list[Path]) -> tuple[float, float, int]:
    """(wall seconds and CPU seconds of the read-and-parse loop, records read)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", TF_READ, ",".join(map(str, files)), "512", "20"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    count, wall, cpu = proc.stdout.split()[-3:]
    return float(wall), float(cpu), int(count)


def run() -> None:
    records, model = prepare()
    files = sorted(p for p in records.iterdir() if ".tfrecord" in p.name)
    mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"  {mb:.0f} MB of seq-512 records in {len(files)} files, {os.cpu_count()} processors")
    rows = []
    for pair in range(PAIRS):
        i_wall, i_cpu, line = time_inspect(records, model)
        t_wall, t_cpu, count = time_tf_data(files)
        rows.append((i_wall, i_cpu, t_wall, t_cpu))
        print(
            f"  pair {pair + 1}: inspect {i_wall:6.2f} s ({mb / i_wall:6.1f} MB/s, CPU {i_cpu:5.1f} s)"
            f"   tf.data {t_wall:6.2f} s ({mb / t_wall:6.1f} MB/s, CPU {t_cpu:5.1f} s)"
            f"   inspect/tf.data {i_wall / t_wall:4.2f}"
        )
    print(f"  inspect: {line.split(None, 1)[1]}; tf.data: {count} records")
    i_wall, i_cpu, t_wall, t_cpu = (median(r[k] for r in rows) for k in range(4))
    ratio = median(r[0] / r[2] for r in rows)
    print(
        f"  median: inspect {mb / i_wall:.1f} MB/s (CPU {i_cpu:.1f} s), tf.data"
        f" {mb / t_wall:.1f} MB/s (CPU {t_cpu:.1f} s); inspect/tf.data wall {ratio:.2f}"
        f" (target at most 2), CPU {i_cpu / t_cpu:.2f}"
    )


if __name__ == "__main__":
    run()
