"""make-pretraining throughput and memory, measured on the whole command.

A sentence-per-line corpus is generated from the bundled sample
(``albert_data.text.corpus``, seeded), a SentencePiece vocabulary is trained on it with
ALBERT's recipe, then ``albert-data make-pretraining`` runs as a user would run it
(English, seq 512, dupe 2, n-gram 3) with one and two DirectRunner workers on a 1x
(24 MB) and an 8x (192 MB) corpus (``BENCH_PRETRAINING_BYTES`` sets the 1x size).
Reported: output tokens per second of wall time for the whole process (start-up
included), its CPU seconds (user + system of the whole tree, from getrusage) and the
peak resident memory of the whole process tree (launcher + Beam workers), sampled every
50 ms from /proc. The steady state takes the 1x run from the 8x
run: extra tokens over extra wall seconds, and per worker over extra CPU seconds (the
figure a shared, loaded machine does not distort).

A second part times the pure stages on the 1x corpus in this process, on the path the
pipeline takes (bundles of documents), to show where the time goes.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

OUT = Path(os.environ.get("BENCH_OUT", "bench-out")) / "pretraining"
BIN = Path(sys.executable).parent / "albert-data"
BASE_BYTES = int(os.environ.get("BENCH_PRETRAINING_BYTES", 24_000_000))
COMMON = [
    "--max-seq-length",
    "512",
    "--max-predictions-per-seq",
    "20",
    "--dupe-factor",
    "2",
    "--max-n",
    "3",
    "--random-seed",
    "12345",
]


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` from /proc/PID/task/*/children (no scan of /proc)."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        stack.extend(_children(p))
    return total


def run_measured(args: list[str]) -> tuple[float, int]:
    """Run a command; return (wall seconds, peak RSS of its process tree in bytes)."""
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{err}")
    return elapsed, peak


def children_cpu() -> float:
    """User + system CPU seconds of all waited-for descendants of this process so far
    (a finished command's whole tree: the launcher and its Beam workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_vocab(corpus: Path, out_dir: Path) -> Path:
    """``out_dir/spm.model``: the benchmarks' 8k SentencePiece vocabulary of ``corpus``,
    trained once by ``spm-train`` and kept."""
    model = out_dir / "spm.model"
    if not model.exists():
        subprocess.run(
            [str(BIN), "spm-train", str(corpus), "--model-prefix", str(out_dir / "spm")]
            + ["--vocab-size", "8000", "--no-hard-vocab-limit", "--overwrite"],
            check=True,
            capture_output=True,
        )
    return model


def prepare() -> dict:
    from albert_data.text.corpus import write_corpus

    OUT.mkdir(parents=True, exist_ok=True)
    corpora = {}
    for factor in (1, 8):
        path = OUT / f"corpus-{factor}x.txt"
        if not path.exists():
            write_corpus(
                str(path),
                "en",
                seed=factor,
                target_bytes=BASE_BYTES * factor,
                sentence_per_line=True,
            )
        corpora[factor] = path
    long_docs = OUT / "corpus-8x-long.txt"
    if not long_docs.exists():
        # Wikipedia-like document lengths: every five generated documents joined into one.
        docs = corpora[8].read_text(encoding="utf-8").strip("\n").split("\n\n")
        joined = ["\n".join(docs[i : i + 5]) for i in range(0, len(docs), 5)]
        long_docs.write_text("\n\n".join(joined) + "\n", encoding="utf-8")
    corpora["8x-long"] = long_docs
    return {"corpora": corpora, "model": bench_vocab(corpora[1], OUT)}


def run_pipeline(corpus: Path, model: Path, workers: int, tag: str) -> dict:
    out = OUT / f"records-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    cpu_before = children_cpu()
    elapsed, peak = run_measured(
        [
            str(BIN),
            "make-pretraining",
            str(corpus),
            "-o",
            str(out),
            "--spm-model",
            str(model),
            "--num-workers",
            str(workers),
            *COMMON,
        ]
    )
    cpu = children_cpu() - cpu_before
    stats = json.loads((out / "stats.json").read_text())
    tokens = stats["counts"]["tokens"]
    return {
        "corpus_mb": corpus.stat().st_size / 1e6,
        "workers": workers,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "output_tokens": tokens,
        "tokens_per_second": tokens / elapsed,
        "peak_rss_mb": peak / 1e6,
    }


STAGES = {  # stage -> the functions bundle_records calls for it
    "instances": ("plan_instances", "build_instances", "cut_long_sentences"),
    "masking": ("mask_batch",),
    "serialize": ("serialize_batch",),
}


def stage_profile(corpus: Path, model: Path, repeats: int = 3) -> dict:
    """CPU seconds per pure stage over the 1x corpus in this process (one core), on the
    path the pipeline's MakeRecords takes: bundles of its BUNDLE_DOCUMENTS documents,
    one tokenizer call and one ``bundle_records`` call each. The stages inside
    ``bundle_records`` are timed by wrapping the functions it calls ("records other" is
    the rest: keys, record objects, statistics); median of ``repeats`` runs."""
    import statistics

    import albert_data.pretraining.document_records as records
    from albert_data.files.docranges import ByteRange, read_range
    from albert_data.pretraining.instances import InstanceConfig, TokenizedDocument
    from albert_data.pretraining.masking import MaskingConfig
    from albert_data.text.tokenization import load_tokenizer
    from pipelines.pretraining import MakeRecords

    tok = load_tokenizer(spm_model=str(model))
    cfg = records.PretrainingConfig(
        instances=InstanceConfig(max_seq_length=512), masking=MaskingConfig(), dupe_factor=2
    )
    vocab = records.VocabIds(tok.special.cls, tok.special.sep, tok.special.mask, tok.regular_ids())
    clock = time.process_time
    t0 = clock()
    docs = [
        [line.decode().rstrip("\n") for line in lines]
        for _, lines in read_range(ByteRange(str(corpus), 0, -1), fmt="sentences")
    ]
    read = clock() - t0
    size = MakeRecords.BUNDLE_DOCUMENTS
    runs = []
    for _ in range(repeats):
        t = dict.fromkeys(("tokenize", "records", *STAGES), 0.0)
        originals = _wrap_stages(records, t)
        try:
            rngs, tokens = records.DocumentRngs(), 0
            for first in range(0, len(docs), size):
                t0 = clock()
                bundle = [
                    (s, records.document_hash("\n".join(s))) for s in docs[first : first + size]
                ]
                flat = tok.encode_flat([line for s, _ in bundle for line in s])
                split = TokenizedDocument.split_flat(
                    flat.ids, flat.word_starts, flat.lengths, [len(s) for s, _ in bundle]
                )
                t1 = clock()
                made = records.bundle_records(
                    [(d, h) for d, (_, h) in zip(split, bundle)], config=cfg, vocab=vocab, rngs=rngs
                )
                t["records"] += clock() - t1
                t["tokenize"] += t1 - t0
                tokens += sum(r.num_tokens for recs in made for r in recs)
        finally:
            for name, fn in originals.items():
                setattr(records, name, fn)
        t["records other"] = t.pop("records") - sum(t[k] for k in STAGES)
        runs.append(t)
    stages = {"read": read} | {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {
        "stage_seconds": {k: round(v, 3) for k, v in stages.items()},
        "core_tokens_per_cpu_second": tokens / (sum(stages.values()) - read),
        "output_tokens": tokens,
    }


def _wrap_stages(module, totals: dict) -> dict:
    """Replace the stage functions ``module`` calls by timed wrappers; return the originals."""
    originals = {}
    for stage, names in STAGES.items():
        for name in names:
            fn = originals[name] = getattr(module, name)

            def timed(*args, _fn=fn, _stage=stage, **kwargs):
                t0 = time.process_time()
                try:
                    return _fn(*args, **kwargs)
                finally:
                    totals[_stage] += time.process_time() - t0

            setattr(module, name, timed)
    return originals


def run() -> dict:
    env = prepare()
    results = {
        "1x_1_worker": run_pipeline(env["corpora"][1], env["model"], 1, "1x-w1"),
        "1x_2_workers": run_pipeline(env["corpora"][1], env["model"], 2, "1x-w2"),
        "8x_1_worker": run_pipeline(env["corpora"][8], env["model"], 1, "8x-w1"),
        "8x_2_workers": run_pipeline(env["corpora"][8], env["model"], 2, "8x-w2"),
        "8x_long_1": run_pipeline(env["corpora"]["8x-long"], env["model"], 1, "8x-long-w1"),
        "8x_long_2": run_pipeline(env["corpora"]["8x-long"], env["model"], 2, "8x-long-w2"),
    }
    print("make-pretraining (English, SentencePiece 8k, seq 512, dupe 2, n-gram 3), whole process:")
    print(
        f"  {'run':<14}{'corpus MB':>10}{'seconds':>9}{'CPU s':>8}{'out tokens':>12}{'tokens/s':>11}"
        f"{'peak RSS MB':>13}"
    )
    for name, r in results.items():
        print(
            f"  {name:<14}{r['corpus_mb']:>10.1f}{r['seconds']:>9.1f}{r['cpu_seconds']:>8.1f}"
            f"{r['output_tokens']:>12,}"
            f"{r['tokens_per_second']:>11,.0f}{r['peak_rss_mb']:>13.0f}"
        )
    speedup = (
        results["8x_2_workers"]["tokens_per_second"] / results["8x_1_worker"]["tokens_per_second"]
    )
    growth = results["8x_1_worker"]["peak_rss_mb"] / results["1x_1_worker"]["peak_rss_mb"]
    long_speedup = (
        results["8x_long_2"]["tokens_per_second"] / results["8x_long_1"]["tokens_per_second"]
    )
    print(
        f"  two workers / one: {speedup:.2f}x (8x), {long_speedup:.2f}x (8x, long documents);"
        f"  peak memory 8x / 1x corpus: {growth:.2f}x"
    )
    # Steady-state rates: the extra tokens of the 8x run over its extra seconds, which
    # takes the fixed start-up (imports, worker processes, ~2-4 s) out.
    for workers, a, b in ((1, "1x_1_worker", "8x_1_worker"), (2, "1x_2_workers", "8x_2_workers")):
        extra = results[b]["output_tokens"] - results[a]["output_tokens"]
        rate = extra / max(1e-9, results[b]["seconds"] - results[a]["seconds"])
        # Per worker: the extra tokens over the extra CPU seconds of the whole tree, which a
        # shared machine's load does not inflate as it does wall time.
        per_cpu = extra / max(1e-9, results[b]["cpu_seconds"] - results[a]["cpu_seconds"])
        results[f"steady_tokens_per_second_{workers}"] = rate
        results[f"steady_tokens_per_cpu_second_{workers}"] = per_cpu
        print(
            f"  steady state, {workers} worker(s): {rate:,.0f} tokens/s wall (start-up excluded);"
            f" per worker {per_cpu:,.0f} tokens per CPU-second"
        )
    print(
        "  (generated documents average ~200 tokens, so most instances are short and per-instance"
        " costs dominate; 'long' joins five documents into one, as in Wikipedia)"
    )
    profile = stage_profile(env["corpora"][1], env["model"])
    print(
        "  where the time goes (pure stages as MakeRecords runs them, one core, CPU seconds,"
        " median of 3):",
        ", ".join(f"{k} {v:.2f}" for k, v in profile["stage_seconds"].items()),
        f"→ {profile['core_tokens_per_cpu_second']:,.0f} tokens/CPU-second",
    )
    results["speedup_2_workers"] = speedup
    results["speedup_2_workers_long"] = long_speedup
    results["memory_growth_8x"] = growth
    results["stages"] = profile
    return results


if __name__ == "__main__":
    run()
