"""make-pretraining's peak memory against the dupe factor and the length of documents.

Generated English corpora (``albert_data.text.corpus``, seeded), an 8k-piece
SentencePiece vocabulary trained on the short one, seq 512, n-gram 3:

* short documents (~200 tokens each, 2 MB);
* book-length documents: generated documents joined into four ~550 KB books (2.2 MB);
* one 8 MB document (a file without blank lines).

Each run is the whole command; its peak memory is the resident set of the whole process
tree (launcher + Beam workers), sampled every 50 ms from /proc. The target (issue 25):
with one worker, the peak at dupe 40 at most 1.5x the peak at dupe 2, and under 600 MB.
``BENCH_MEMORY_HUGE=1`` adds one 32 MB document at seq 128, dupe 5 (about two minutes).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from benchmarks.bench_pretraining import BIN, bench_vocab, run_measured

OUT = Path(os.environ.get("BENCH_OUT", "bench-out")) / "memory"
BOOK_BYTES = 550_000


def prepare() -> dict[str, Path]:
    from albert_data.text.corpus import write_corpus

    OUT.mkdir(parents=True, exist_ok=True)
    short, source = OUT / "short-2m.txt", OUT / "source-34m.txt"
    if not short.exists():
        write_corpus(str(short), "en", seed=1, target_bytes=2_000_000, sentence_per_line=True)
    books, one8, one32 = OUT / "books-4x550k.txt", OUT / "one-8m.txt", OUT / "one-32m.txt"
    if not (books.exists() and one8.exists() and one32.exists()):
        write_corpus(str(source), "en", seed=3, target_bytes=34_000_000, sentence_per_line=True)
        docs = source.read_text(encoding="utf-8").strip("\n").split("\n\n")
        joined, book, size = [], [], 0
        for doc in docs:  # documents joined into books of ~550 KB
            book.append(doc)
            size += len(doc.encode("utf-8")) + 1
            if size >= BOOK_BYTES:
                joined.append("\n".join(book))
                book, size = [], 0
                if len(joined) == 4:
                    break
        books.write_text("\n\n".join(joined) + "\n", encoding="utf-8")
        one = "\n".join(docs)  # every sentence on its line, no blank line: one document
        for path, limit in ((one8, 8_000_000), (one32, 32_000_000)):
            text = one[: one.rfind("\n", 0, limit)]
            path.write_text(text + "\n", encoding="utf-8")
        source.unlink()
    model = bench_vocab(short, OUT)
    return {"short": short, "books": books, "one8": one8, "one32": one32, "model": model}


def run_one(corpus: Path, model: Path, *, dupe: int, workers: int = 1, seq: int = 512) -> dict:
    out = OUT / "records"
    shutil.rmtree(out, ignore_errors=True)
    args = [str(BIN), "make-pretraining", str(corpus), "-o", str(out), "--spm-model", str(model)]
    args += ["--max-seq-length", str(seq), "--dupe-factor", str(dupe), "--max-n", "3"]
    args += ["--num-workers", str(workers), "--random-seed", "12345"]
    seconds, peak = run_measured(args)
    stats = json.loads((out / "stats.json").read_text())
    record_bytes = sum(p.stat().st_size for p in out.iterdir() if ".tfrecord" in p.name)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "corpus_mb": corpus.stat().st_size / 1e6,
        "dupe": dupe,
        "workers": workers,
        "seq": seq,
        "seconds": seconds,
        "instances": stats["counts"]["instances"],
        "output_mb": record_bytes / 1e6,
        "peak_rss_mb": peak / 1e6,
    }


def run() -> dict:
    env = prepare()
    model = env["model"]
    plan = [
        ("short documents", "short", {"dupe": 2}),
        ("short documents", "short", {"dupe": 40}),
        ("4 books of 550 KB", "books", {"dupe": 2}),
        ("4 books of 550 KB", "books", {"dupe": 40}),
        ("4 books of 550 KB", "books", {"dupe": 40, "workers": 2}),
        ("one 8 MB document", "one8", {"dupe": 2}),
    ]
    if os.environ.get("BENCH_MEMORY_HUGE"):
        plan.append(("one 32 MB document", "one32", {"dupe": 5, "seq": 128}))
    rows = [(name, run_one(env[key], model, **kw)) for name, key, kw in plan]
    print("make-pretraining peak memory (whole process tree), English, SentencePiece 8k, n-gram 3:")
    print(
        f"  {'input':<20}{'MB':>6}{'seq':>5}{'dupe':>6}{'workers':>9}{'instances':>11}"
        f"{'output MB':>11}{'seconds':>9}{'peak RSS MB':>13}"
    )
    for name, r in rows:
        print(
            f"  {name:<20}{r['corpus_mb']:>6.1f}{r['seq']:>5}{r['dupe']:>6}{r['workers']:>9}"
            f"{r['instances']:>11,}{r['output_mb']:>11.0f}{r['seconds']:>9.1f}"
            f"{r['peak_rss_mb']:>13.0f}"
        )
    result = {"rows": [{"input": n, **r} for n, r in rows]}
    for label, i in (("short documents", 0), ("books", 2)):
        ratio = rows[i + 1][1]["peak_rss_mb"] / rows[i][1]["peak_rss_mb"]
        result[f"dupe40_over_dupe2_{label.split()[0]}"] = ratio
        print(
            f"  {label}, one worker: peak at dupe 40 / dupe 2 = {ratio:.2f}x"
            f" (target <= 1.5x, and < 600 MB: {rows[i + 1][1]['peak_rss_mb']:.0f} MB)"
        )
    return result


if __name__ == "__main__":
    run()
