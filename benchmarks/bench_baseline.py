"""This code against an earlier commit's, on the same machine, runs interleaved.

Machines of this kind differ by up to 2.5x between sessions and drift by 40% within
minutes, so a figure is only comparable with one taken beside it. This benchmark
extracts ``BENCH_BASELINE`` (a commit; default 1662de1, the code the performance issue
was measured on) with ``git archive`` into ``bench-out/baseline/<commit>`` and runs its
CLI and this checkout's with the same virtualenv, alternating which goes first, on:

* start-up: make-pretraining of a 20 KB input, one worker and two;
* steady state: make-pretraining of a 6 MB and a 48 MB corpus with one worker (the
  issue's sizes); the extra output tokens over the extra CPU seconds;
* split-sentences, local runner, on the split benchmark's 8x raw corpus, MB per CPU-second.

It prints each side's median and the ratio. Not part of the default ``make bench``
(about 16 minutes on a slow 2-core machine): ``BENCH=baseline make bench``. Needs the repository's history.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks import bench_split, bench_startup
from benchmarks.bench_pretraining import BIN, COMMON, children_cpu

ROOT = Path(__file__).resolve().parent.parent
OUT = (Path(os.environ.get("BENCH_OUT", "bench-out")) / "baseline").resolve()
BASELINE = os.environ.get("BENCH_BASELINE", "1662de1")
PAIRS = int(os.environ.get("BENCH_BASELINE_PAIRS", 2))
STEADY_BYTES = (6_000_000, 48_000_000)


def extract(commit: str) -> Path:
    """The files of ``commit`` in a directory of their own (made once)."""
    full = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{commit}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    target = OUT / full[:12]
    if not (target / "albert_data").is_dir():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", full], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def timed(code: Path, args: list[str]) -> tuple[float, float]:
    """(wall, CPU seconds of the process tree) of the CLI of ``code`` on ``args``."""
    # Run from the code's directory: Beam's worker processes (python -m ...) put their
    # working directory first on sys.path, before PYTHONPATH.
    code = code.resolve()
    env = dict(os.environ, PYTHONPATH=str(code))
    cpu, start = children_cpu(), time.perf_counter()
    done = subprocess.run(
        [str(BIN.resolve()), *args], env=env, cwd=code, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{code}: albert-data {args[0]} failed: {done.stderr[-800:]}")
    return wall, children_cpu() - cpu


def records(code: Path, corpus: Path, model: Path, workers: int) -> tuple[float, float, int]:
    out = OUT / "records"
    shutil.rmtree(out, ignore_errors=True)
    corpus, model = corpus.resolve(), model.resolve()
    args = ["make-pretraining", str(corpus), "-o", str(out), "--spm-model", str(model)]
    wall, cpu = timed(code, [*args, "--num-workers", str(workers), *COMMON])
    stats = json.loads((out / "stats.json").read_text())
    return wall, cpu, stats["counts"]["tokens"]


def interleaved(sides: dict[str, Path], measure) -> dict[str, list]:
    """``measure(code)`` for each side, ``PAIRS`` times, the first side alternating."""
    names = list(sides)
    runs: dict[str, list] = {name: [] for name in names}
    for i in range(PAIRS):
        for name in names if i % 2 == 0 else names[::-1]:
            runs[name].append(measure(sides[name]))
    return runs


def run() -> dict:
    from albert_data.text.corpus import write_corpus

    OUT.mkdir(parents=True, exist_ok=True)
    sides = {f"baseline {BASELINE}": extract(BASELINE), "this checkout": ROOT}
    startup = bench_startup.prepare()
    raw = bench_split.prepare()[8].resolve()
    steady = []
    for size, seed in zip(STEADY_BYTES, (1, 8)):
        path = OUT / f"corpus-{size // 1_000_000}m.txt"
        if not path.exists():
            write_corpus(str(path), "en", seed=seed, target_bytes=size, sentence_per_line=True)
        steady.append(path)

    rows = []
    for workers in (1, 2):
        runs = interleaved(
            sides, lambda code, w=workers: records(code, startup["small"], startup["model"], w)
        )
        rows.append((f"start-up, 20 KB, {workers} worker(s), wall s", runs, 0, False))

    def per_cpu(code: Path) -> tuple[float, float, int]:
        small = records(code, steady[0], startup["model"], 1)
        big = records(code, steady[1], startup["model"], 1)
        return (big[2] - small[2]) / (big[1] - small[1]), big[1] - small[1], big[2] - small[2]

    rows.append(
        ("steady state, output tokens per CPU-second", interleaved(sides, per_cpu), 0, True)
    )

    def split(code: Path) -> tuple[float, float]:
        out = OUT / "split"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        args = ["split-sentences", str(raw), "-o", str(out / "docs.txt"), "--num-shards", "4"]
        wall, cpu = timed(code, [*args, "--no-progress"])
        return raw.stat().st_size / 1e6 / cpu, cpu

    rows.append(("split-sentences, local, MB per CPU-second", interleaved(sides, split), 0, True))

    print(f"this checkout against {BASELINE}, same machine, {PAIRS} interleaved pairs (medians):")
    names = list(sides)
    print(f"  {'what':<46}{names[0]:>20}{names[1]:>16}   ratio")
    results = {}
    for label, runs, index, higher_better in rows:
        a, b = (statistics.median(r[index] for r in runs[n]) for n in names)
        ratio = b / a if higher_better else a / b
        fmt = "{:>20,.0f}{:>16,.0f}" if a > 1000 else "{:>20.2f}{:>16.2f}"
        print(f"  {label:<46}" + fmt.format(a, b) + f"   {ratio:.2f}x better")
        results[label] = {"baseline": a, "this": b, "ratio": ratio}
    same = {r[2] for n in names for r in rows[2][1][n]}
    print(
        f"  (steady-state output tokens the same on both sides: {'yes' if len(same) == 1 else 'NO'})"
    )
    return results
