"""The shuffle of make-pretraining: intermediate files and bytes written, and wall time,
for --num-shards 4, 64, 512 and 1024 on a fixed input, with each strategy (``files``:
local sorted run files; ``engine``: the runner's GroupByKey), two DirectRunner workers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.bench_pretraining import BIN, bench_vocab

OUT = Path(os.environ.get("BENCH_OUT", "bench-out")) / "shuffle"
INPUT_BYTES = int(os.environ.get("BENCH_SHUFFLE_BYTES", 2_700_000))
SHARDS = (4, 64, 512, 1024)


def _cli(*args) -> None:
    subprocess.run([str(BIN), *map(str, args)], check=True, capture_output=True)


def _prepare() -> tuple[Path, Path]:
    corpus = OUT / "corpus.txt"
    if not corpus.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        _cli(
            "sample",
            "--lang",
            "en",
            "--size",
            f"{INPUT_BYTES}B",
            "--sentence-per-line",
            "-o",
            corpus,
        )
    return corpus, bench_vocab(corpus, OUT)


def _one(corpus: Path, model: Path, strategy: str, shards: int) -> tuple[float, dict]:
    out = OUT / f"{strategy}-{shards}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.monotonic()
    _cli(
        "make-pretraining",
        corpus,
        "-o",
        out,
        "--spm-model",
        model,
        "--dupe-factor",
        10,
        "--max-seq-length",
        512,
        "--num-shards",
        shards,
        "--shuffle",
        strategy,
        "--num-workers",
        2,
    )
    elapsed = time.monotonic() - start
    stats = json.loads((out / "stats.json").read_text())
    inter = dict(stats["shuffle_intermediate"])
    inter["output"] = sum(p.stat().st_size for p in out.glob("*.tfrecord"))
    shutil.rmtree(out, ignore_errors=True)
    return elapsed, inter


def run() -> None:
    corpus, model = _prepare()
    print(f"  input {corpus.stat().st_size / 1e6:.1f} MB of sentences, dupe 10, seq 512, 2 workers")
    print(
        f"  {'strategy':<8} {'shards':>6} {'files':>6} {'MB written':>10} {'MB output':>9} {'wall s':>7}"
    )
    for strategy in ("files", "engine"):
        for shards in SHARDS:
            elapsed, inter = _one(corpus, model, strategy, shards)
            print(
                f"  {strategy:<8} {shards:>6} {inter['files']:>6} {inter['bytes'] / 1e6:>10.1f} {inter['output'] / 1e6:>9.1f} {elapsed:>7.1f}",
                flush=True,
            )
