"""Benchmark of `plays report` on a store of a real book's size (issue 13): the figures, the JSON, the page.

    python bench/bench_report.py                              # 100,000 accounts x 90 days, best of 2
    python bench/bench_report.py --accounts 20000 --repeat 3

The store is built once and kept (bench/out/report-<accounts>x<days>.db):

1. the benchmark's snapshots (``generate.py --large``, the same file bench_run.py uses);
2. ``plays run specs/ -s SNAPSHOTS --state STORE``: the alerts, goal instances and tasks the example specs
   give on them;
3. what people do, written in SQL, deterministic (from each task's id): three tasks in four due by the last
   snapshot date are marked done, between 3 days early and 4 days late (never before the task was created
   nor after the last date). These completions skip the rescheduling `plays task done` does; the figures'
   cost does not depend on it.

Then each measurement is a separate `plays report` process (wall time, CPU time of the process, peak RSS,
output size), best of --repeat:

- ``text``: every figure (the drill-down list is not built);
- ``json``: the figures and the drill-down list, printed as JSON;
- ``html``: the same and the page (``--html``), against the targets: <= 15 s and <= 3 MB.

Recorded in docs/performance.md ("The report at 100,000 accounts").
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_run import data_file  # noqa: E402

ROOT = HERE.parent
OUT = HERE / "out"
TARGET_SECONDS = 15.0
TARGET_BYTES = 3 * 1024 * 1024

# 0..255 from two hex digits of a task id (``t-`` and 12 hex digits): deterministic "random" numbers in SQL
_HEX = "(instr('0123456789abcdef', substr(id, {0}, 1)) - 1) * 16 + instr('0123456789abcdef', substr(id, {1}, 1)) - 1"
COMPLETE = f"""
UPDATE tasks SET status = 'done',
    done = min(:last, max(created, date(due, ((({_HEX.format(5, 6)}) % 8) - 3) || ' days')))
WHERE status = 'open' AND due <= :last AND ({_HEX.format(3, 4)}) < 192
"""


def build_store(accounts: int, days: int) -> Path:
    OUT.mkdir(exist_ok=True)
    store = OUT / f"report-{accounts}x{days}.db"
    if store.exists():
        return store
    data = data_file(accounts, days)  # the snapshots bench_run.py times plays run on
    partial = store.with_suffix(".partial.db")
    for leftover in OUT.glob(partial.name + "*"):
        leftover.unlink()
    t = time.perf_counter()
    subprocess.run([plays(), "run", str(ROOT / "specs"), "-s", str(data), "--state", str(partial),
                    "--format", "json", "-o", os.devnull], check=True)
    con = sqlite3.connect(partial)
    last = con.execute("SELECT max(last_date) FROM runs").fetchone()[0]
    with con:
        done = con.execute(COMPLETE, {"last": last}).rowcount
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("accounts", "goals", "tasks", "alerts")}
    con.close()
    partial.rename(store)
    print(f"built {store.name} in {time.perf_counter() - t:.1f} s: " + ", ".join(f"{n:,} {t}" for t, n in counts.items())
          + f"; {done:,} tasks marked done")
    return store


def plays() -> str:
    return str(Path(sys.executable).with_name("plays"))


def measure(args: list[str], out: Path) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MB, bytes of ``out``) of one `plays report` process."""
    start = time.perf_counter()
    with open(out if out.suffix != ".html" else os.devnull, "wb") as stdout:
        child = subprocess.Popen([plays(), "report", *args], stdout=stdout, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"`plays report {' '.join(args)}` failed: {child.stderr.read().decode(errors='replace').strip()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--by", action="append", default=[], help="passed to plays report (default: its own)")
    a = ap.parse_args()
    store = build_store(a.accounts, a.days)
    extra = ["--state", str(store), *(x for b in a.by for x in ("--by", b))]
    try:
        import plays.state.report_html  # noqa: F401  (the managers' page)
        page = True
    except ImportError:
        page = False
    cases = {"text": ["--format", "text"], "json": ["--format", "json"]}
    if page:
        cases["html"] = ["--format", "text", "--html", str(OUT / "report.html")]
    print(f"plays report on {store.name} (load average {os.getloadavg()[0]:.2f}), best of {a.repeat}:")
    results = {}
    for label, args in cases.items():
        out = OUT / ("report.html" if label == "html" else f"report.{label}")
        runs = [measure([*args, *extra], out) for _ in range(a.repeat)]
        wall, cpu, rss, size = min(runs)
        results[label] = (wall, size)
        print(f"  {label:<5} {wall:6.1f} s wall  {cpu:6.1f} s CPU  peak {rss:6.0f} MB  output {size / 1e6:8.2f} MB")
    if page:
        wall, size = results["html"]
        ok = wall <= TARGET_SECONDS and size <= TARGET_BYTES
        print(f"targets: page in {wall:.1f} s (<= {TARGET_SECONDS:g}), {size / 1024 / 1024:.2f} MiB (<= 3): "
              f"{'met' if ok else 'missed'}")
    else:
        print("html: not measured (plays.state.report_html, the managers' page, is not in this tree)")


if __name__ == "__main__":
    main()
