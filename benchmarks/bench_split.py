"""split-sentences throughput and memory, measured on the whole command.

A raw English corpus is generated from the bundled sample (seeded), with every eighth
document repeated so that de-duplication has work to do. ``albert-data
split-sentences`` runs as a user would run it: the local runner (one process), then the
Beam pipeline with one and two DirectRunner workers, on a 1x and an 8x corpus.
Reported: input MB per second of wall time for the whole process (start-up included),
input MB per CPU-second of the process tree (user + system; the per-core rate, which a
shared machine's load does not distort), the peak resident memory of the process tree,
and whether every run wrote the same bytes as the local runner.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

from benchmarks.bench_pretraining import BIN, children_cpu, run_measured

OUT = Path(os.environ.get("BENCH_OUT", "bench-out")) / "split"
BASE_BYTES = int(os.environ.get("BENCH_SPLIT_BYTES", 16_000_000))
SHARDS = 4


def prepare() -> dict[int, Path]:
    from albert_data.text.corpus import write_corpus

    OUT.mkdir(parents=True, exist_ok=True)
    corpora = {}
    for factor in (1, 8):
        path = OUT / f"raw-{factor}x.txt"
        if not path.exists():
            fresh = OUT / f"fresh-{factor}x.txt"
            write_corpus(
                str(fresh),
                "en",
                seed=factor,
                target_bytes=BASE_BYTES * factor,
                sentence_per_line=False,
            )
            docs = fresh.read_text(encoding="utf-8").strip("\n").split("\n\n")
            docs += docs[::8]
            path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
            fresh.unlink()
        corpora[factor] = path
    return corpora


def run_split(corpus: Path, tag: str, extra: list[str]) -> dict:
    out = OUT / f"out-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    args = [str(BIN), "split-sentences", str(corpus), "-o", str(out / "docs.txt")]
    args += ["--num-shards", str(SHARDS), "--no-progress", *extra]
    cpu_before = children_cpu()
    seconds, peak = run_measured(args)
    cpu = children_cpu() - cpu_before
    mb = corpus.stat().st_size / 1e6
    return {
        "out": out,
        "corpus_mb": mb,
        "seconds": seconds,
        "mb_per_s": mb / seconds,
        "cpu_seconds": cpu,
        "mb_per_cpu_s": mb / cpu,
        "rss": peak,
    }


def same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def run() -> dict:
    corpora = prepare()
    beam = ["--runner", "DirectRunner", "--num-workers"]
    results = {}
    for factor, corpus in corpora.items():
        results[f"{factor}x_local"] = run_split(corpus, f"{factor}x-local", [])
        results[f"{factor}x_beam_1"] = run_split(corpus, f"{factor}x-w1", [*beam, "1"])
        results[f"{factor}x_beam_2"] = run_split(corpus, f"{factor}x-w2", [*beam, "2"])
    print(f"split-sentences (English raw text, ~11% duplicate documents, {SHARDS} shards):")
    print(
        f"  {'run':<14}{'corpus MB':>10}{'seconds':>9}{'MB/s':>7}{'CPU s':>8}{'MB/CPU-s':>10}"
        f"{'peak RSS MB':>13}  same bytes"
    )
    for name, r in results.items():
        local = results[name.split("_")[0] + "_local"]["out"]
        same = "yes" if same_files(local, r["out"]) else "NO"
        print(
            f"  {name:<14}{r['corpus_mb']:>10.1f}{r['seconds']:>9.1f}{r['mb_per_s']:>7.1f}"
            f"{r['cpu_seconds']:>8.1f}{r['mb_per_cpu_s']:>10.1f}{r['rss'] / 1e6:>13.0f}  {same}"
        )
    core = results["8x_local"]["mb_per_cpu_s"]
    print(
        f"  per core (local runner, 8x, input MB per CPU-second of the whole process): {core:.1f}"
    )
    results["mb_per_cpu_second_local"] = core
    speedup = results["8x_beam_2"]["mb_per_s"] / results["8x_local"]["mb_per_s"]
    growth = results["8x_beam_2"]["rss"] / results["1x_beam_2"]["rss"]
    print(
        f"  Beam, 2 workers / local: {speedup:.2f}x (8x); Beam peak memory 8x / 1x: {growth:.2f}x"
    )
    return results
