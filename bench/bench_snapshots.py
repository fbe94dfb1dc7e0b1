"""Snapshot input benchmark: validation and prepare_snapshots on a generated book, in fresh processes.

    python bench/generate.py --large --accounts 100000 --days 90 -o bench/out/snapshots.parquet
    python bench/bench_snapshots.py bench/out/snapshots.parquet --rounds 2

Each measurement runs in its own Python process (peak RSS is that process's
``ru_maxrss``), alternating the variants A B A B so that a busy machine
affects them alike; the ratios are computed within the run.

- ``validate``: the streaming validation alone (``load_snapshots`` minus the table).
- ``spill``: ``prepare_snapshots`` as shipped: one pass writes every bucket
  (DuckDB's partitioned COPY), then each bucket is sorted on its own.
- ``filtered``: the alternative: one filtered, sorted scan of the whole input per bucket.
- ``load``: ``load_snapshots`` (validation, then the whole input as one in-memory table).
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
from plays.runtime.sql import text

variant, path, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
plan = compile_sources(discover([os.path.join(sys.argv[4], "specs")])).plan
t = time.perf_counter()


def filtered(con, union, p, workdir):
    out = []
    for b in range(p):
        target = os.path.join(workdir, f"bucket-{b:05d}.parquet")
        con.execute(f"COPY (SELECT * FROM ({union}) WHERE {S.bucket_sql('account', p)} = {b} "
                    f"ORDER BY account, date) TO {text(target)} (FORMAT parquet)")
        out.append([target])
    return out


with tempfile.TemporaryDirectory() as work:
    if variant == "validate":
        con = S._connect(work)
        rows = S._validate(con, [path], plan, None, None).rows
    elif variant == "load":
        rows = S.load_snapshots([path], plan).rows
    else:
        if variant == "filtered":
            S._write_buckets = filtered
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
    args = ap.parse_args()
    variants = args.variants.split(",")
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(args.rounds):
        for v in variants:
            out = subprocess.run([sys.executable, "-c", CHILD, v, args.snapshots, str(args.partitions), ROOT],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            results[v].append(r)
            print(json.dumps(r), flush=True)
    best = {v: min(r["seconds"] for r in rs) for v, rs in results.items()}
    peak = {v: max(r["peak_mb"] for r in rs) for v, rs in results.items()}
    base = variants[0]
    for v in variants:
        print(f"{v:>9}: best {best[v]:7.2f} s ({best[v] / best[base]:.2f}x {base}), peak RSS {peak[v]} MB")


if __name__ == "__main__":
    main()
