"""Snapshot input benchmark: validation and prepare_snapshots on a generated book, in fresh processes.

    python bench/generate.py --large --accounts 100000 --days 90 -o bench/out/snapshots.parquet
    python bench/bench_snapshots.py bench/out/snapshots.parquet --rounds 2

Each measurement runs in its own Python process (peak RSS is that process's
``ru_maxrss``), alternating the variants A B A B so that a busy machine
affects them alike; the ratios are computed within the run.

- ``validate``: the streaming validation alone (``load_snapshots`` minus the table).
- ``prepare``: ``prepare_snapshots`` as shipped (filtered scans up to FILTERED_SCANS buckets, else a spill).
- ``spill``: ``prepare_snapshots`` forced to one pass that writes every bucket
  (DuckDB's partitioned COPY), then sorts each bucket on its own.
- ``filtered``: forced to one filtered, sorted scan of the whole input per bucket.
- ``load``: ``load_snapshots`` (validation, then the whole input as one in-memory table).
- ``baseline``: ``load_snapshots`` of another revision's runtime/snapshots.py
  (``--baseline REV``, taken with ``git show``), which staged every row in memory to validate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, os, resource, sys, tempfile, time
from plays.compiler.driver import compile_sources
from plays.sources import discover
from plays.runtime import snapshots as S

variant, path, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
plan = compile_sources(discover([os.path.join(sys.argv[4], "specs")])).plan
t = time.perf_counter()


with tempfile.TemporaryDirectory() as work:
    if variant == "baseline":
        import importlib.util
        spec = importlib.util.spec_from_file_location("plays.runtime._baseline_snapshots", sys.argv[5])
        old = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = old
        spec.loader.exec_module(old)
        rows = old.load_snapshots([path], plan).rows
    elif variant == "validate":
        con = S._connect(work)
        rows = S._validate(con, [path], plan, None, None).rows
    elif variant == "load":
        rows = S.load_snapshots([path], plan).rows
    else:
        S.FILTERED_SCANS = {"filtered": 10**6, "spill": 0}.get(variant, S.FILTERED_SCANS)
        rows = S.prepare_snapshots([path], plan, workdir=work, partitions=partitions).rows
seconds = time.perf_counter() - t
print(json.dumps({"variant": variant, "rows": rows, "seconds": round(seconds, 2),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("snapshots")
    ap.add_argument("--variants", default="validate,spill,filtered")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline", metavar="REV", help="git revision whose runtime/snapshots.py is the `baseline`")
    args = ap.parse_args()
    baseline = ""
    if args.baseline:
        source = subprocess.run(["git", "-C", ROOT, "show", f"{args.baseline}:runtime/snapshots.py"],
                                capture_output=True, text=True, check=True).stdout
        fd, baseline = tempfile.mkstemp(suffix=".py", prefix="baseline_snapshots_")
        with os.fdopen(fd, "w") as f:
            f.write(source)
    variants = args.variants.split(",")
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(args.rounds):
        for v in variants:
            out = subprocess.run([sys.executable, "-c", CHILD, v, args.snapshots, str(args.partitions), ROOT, baseline],
                                 capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{v} failed:\n{out.stderr}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results[v].append(r)
            print(json.dumps(r), flush=True)
    best = {v: min(r["seconds"] for r in rs) for v, rs in results.items()}
    peak = {v: max(r["peak_mb"] for r in rs) for v, rs in results.items()}
    base = variants[0]
    for v in variants:
        print(f"{v:>9}: best {best[v]:7.2f} s ({best[v] / best[base]:.2f}x {base}), peak RSS {peak[v]} MB")


if __name__ == "__main__":
    main()
