"""Start-up of `plays check` on a one-file spec: Lark tables from the cache file vs built every run.

Runs `python -m plays.cli check specs/catalog.play` N times per variant, the
variants interleaved so that machine load hits them alike, and prints the
median and minimum of each. `--before DIR` adds another checkout (e.g. a
worktree of an older commit) as a variant. See docs/performance.md.

    python bench/bench_startup.py --runs 20 [--before /tmp/main-checkout]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--before", help="another checkout to time the same way (run from its root)")
    args = ap.parse_args()
    variants = {
        "cache disabled (tables built every run)": (ROOT, {"XDG_CACHE_HOME": "/proc/no-such-dir"}),
        "tables from the cache file": (ROOT, {}),
    }
    if args.before:
        variants = {f"before ({args.before})": (Path(args.before), {}), **variants}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, (cwd, env) in variants.items():
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "plays.cli", "check", "specs/catalog.play"], cwd=cwd,
                                  env={**os.environ, **env}, capture_output=True)
            times[name].append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"{name}: exit {proc.returncode}: {proc.stderr.decode()}")
    for name, ts in times.items():
        print(f"{name}: median {statistics.median(ts) * 1000:.0f} ms, min {min(ts) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
