"""``make bench``: every benchmark, each printing its own figures.

Select some with ``BENCH=pretraining,tokenize make bench``. ``BENCH=baseline`` (not in
the default set) compares this checkout with an earlier commit on the same machine.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCHES = ["tokenize", "split", "startup", "pretraining", "memory", "shuffle", "inspect", "train"]


def main() -> int:
    chosen = [b for b in os.environ.get("BENCH", ",".join(BENCHES)).split(",") if b]
    failed = []
    for name in chosen:
        print(f"\n=== benchmark: {name}", flush=True)
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
        except ModuleNotFoundError as err:
            print(f"  (not available: {err})")
            continue
        try:
            module.run()
        except Exception:  # noqa: BLE001 - report and go on with the others
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
