"""make-pretraining's fixed cost and what a second worker buys on a small input.

Two inputs, both generated from the bundled sample (``albert_data.text.corpus``, seeded)
and read with an 8k-piece SentencePiece vocabulary trained on the base corpus (English,
seq 512, dupe 2, n-gram 3, as in ``bench_pretraining``):

* 20 KB: the fixed cost of a run (start-up, pipeline, merge, statistics), with one and
  two workers;
* 21 MB: eight copies of a 2.7 MB corpus in one file, one worker and two;
* 10.8 MB: four of the copies, one worker: what each of two workers would take if the
  work split perfectly into two independent runs. 21 MB over 10.8 MB with one worker is
  the most two workers can gain while every run pays its fixed cost once.

Each row is the median of ``BENCH_STARTUP_REPEATS`` (5) runs of the whole command (the
one- and two-worker runs alternate): wall seconds and CPU seconds (user + sys of the
launcher and its workers). The speedup of two workers is the median over back-to-back
pairs (a one-worker run, then a two-worker run) of their ratio, which a drift of the
machine's speed during the benchmark does not bias; the ratio of the medians is printed
beside it. The machine's
load average is printed beside them: wall time on a shared machine is only as good as
the load lets it be, CPU time is the steadier figure.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.bench_pretraining import BIN, COMMON, bench_vocab  # the same command and settings

OUT = Path(os.environ.get("BENCH_OUT", "bench-out")) / "startup"
REPEATS = int(os.environ.get("BENCH_STARTUP_REPEATS", 5))
SMALL_BYTES = 20_000
BASE_BYTES = 2_700_000
COPIES = 8


def prepare() -> dict[str, Path]:
    from albert_data.text.corpus import write_corpus

    OUT.mkdir(parents=True, exist_ok=True)
    small, base, big = OUT / "corpus-20k.txt", OUT / "corpus-2.7m.txt", OUT / "corpus-21m.txt"
    half = OUT / "corpus-10.8m.txt"
    for path, size, seed in ((small, SMALL_BYTES, 2), (base, BASE_BYTES, 1)):
        if not path.exists():
            write_corpus(str(path), "en", seed=seed, target_bytes=size, sentence_per_line=True)
    if not big.exists() or not half.exists():
        text = base.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
        big.write_text(text * COPIES, encoding="utf-8")
        half.write_text(text * (COPIES // 2), encoding="utf-8")
    return {"small": small, "big": big, "half": half, "model": bench_vocab(base, OUT)}


def run_once(corpus: Path, model: Path, workers: int) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of the process tree, stats.json) of one run."""
    out = OUT / f"records-{corpus.stem}-w{workers}"
    shutil.rmtree(out, ignore_errors=True)
    args = [str(BIN), "make-pretraining", str(corpus), "-o", str(out)]
    args += ["--spm-model", str(model), "--num-workers", str(workers), *COMMON]
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    if status != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{err}")
    stats = json.loads((out / "stats.json").read_text())
    return wall, usage.ru_utime + usage.ru_stime, stats


def row(name: str, corpus: Path, runs: list) -> dict:
    stats = runs[-1][2]
    return {
        "run": name,
        "corpus_mb": corpus.stat().st_size / 1e6,
        "workers_used": stats["num_workers"],
        "byte_ranges": stats["byte_ranges"],
        "shards": len(stats["outputs"]),
        "seconds": statistics.median(r[0] for r in runs),
        "cpu_seconds": statistics.median(r[1] for r in runs),
        "all_seconds": [round(r[0], 2) for r in runs],
        "load": os.getloadavg()[0],
    }


def paired(corpus: Path, model: Path, half: Path | None = None) -> tuple[list, ...]:
    """``REPEATS`` runs with one worker and with two (and with ``half``, one worker on
    it), alternating, so that a change in the machine's speed during the benchmark (a
    shared machine's neighbours) falls on all alike."""
    one, two, halves = [], [], []
    for _ in range(REPEATS):
        one.append(run_once(corpus, model, 1))
        two.append(run_once(corpus, model, 2))
        if half is not None:
            halves.append(run_once(half, model, 1))
    return one, two, halves


def run() -> dict:
    env = prepare()
    small = paired(env["small"], env["model"])
    big = paired(env["big"], env["model"], env["half"])
    rows = [
        row("20 KB, 1 worker", env["small"], small[0]),
        row("20 KB, 2 workers", env["small"], small[1]),
        row("21 MB, 1 worker", env["big"], big[0]),
        row("21 MB, 2 workers", env["big"], big[1]),
        row("10.8 MB, 1 worker", env["half"], big[2]),
    ]
    print(
        f"make-pretraining start-up (English, SentencePiece 8k, seq 512, dupe 2), median of {REPEATS}"
        " (1- and 2-worker runs alternate):"
    )
    print(
        f"  {'run':<18}{'MB':>6}{'workers':>9}{'ranges':>8}{'shards':>8}"
        f"{'wall s':>8}{'CPU s':>7}{'load':>6}  runs"
    )
    for r in rows:
        print(
            f"  {r['run']:<18}{r['corpus_mb']:>6.2f}{r['workers_used']:>9}{r['byte_ranges']:>8}"
            f"{r['shards']:>8}{r['seconds']:>8.2f}{r['cpu_seconds']:>7.2f}{r['load']:>6.1f}"
            f"  {' '.join(map(str, r['all_seconds']))}"
        )
    pairs = [a[0] / b[0] for a, b in zip(big[0], big[1])]
    bounds = [a[0] / h[0] for a, h in zip(big[0], big[2])]
    speedup, bound = statistics.median(pairs), statistics.median(bounds)
    print(
        f"  21 MB, two workers / one: {speedup:.2f}x faster (wall, median of back-to-back"
        f" pairs: {' '.join(f'{p:.2f}' for p in pairs)}; ratio of the medians"
        f" {rows[2]['seconds'] / rows[3]['seconds']:.2f}x)"
    )
    print(
        f"  the bound, 21 MB over 10.8 MB with one worker: {bound:.2f}x (median of"
        f" back-to-back pairs); two workers reach {speedup / bound:.0%} of it"
    )
    return {
        "rows": rows,
        "speedup_21mb_2_workers": speedup,
        "speedup_21mb_2_workers_pairs": pairs,
        "bound_21mb_over_half": bound,
    }


if __name__ == "__main__":
    run()
