"""Benchmark `plays run`: 100,000 accounts x 90 daily snapshots (Parquet) with the example specs.

    python bench/bench_run.py [--accounts 100000] [--days 90] [--repeat 3]

Reports:
  end to end  `plays run specs/ -s FILE --format json -o OUT` in a subprocess: seconds, rows per second,
              peak memory (max RSS of the child)
  conditions  the engine's generated SQL for every alert condition vs the same conditions written by
              hand as one DuckDB query, both over the Parquet file (best of --repeat)
Targets (2-core machine): <= 60 s end to end, <= 6 GB peak, conditions within 1.5 x hand-written SQL.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# The example alerts (specs/alerts.play), written by hand.
HAND_WRITTEN = """
SELECT count(*) FILTER (WHERE h0), count(*) FILTER (WHERE h1), count(*) FILTER (WHERE h2),
       count(*) FILTER (WHERE h3), count(*) FILTER (WHERE h4), count(*) FILTER (WHERE h5)
FROM (SELECT
  (mau - LAST_VALUE(mau) OVER past7) / NULLIF(LAST_VALUE(mau) OVER past7, 0) <= -0.2 AS h0,
  stage <> 'onboarding' AND feature_adoption - LAST_VALUE(feature_adoption) OVER past14 <= -0.1
      AND feature_adoption IS NOT NULL AS h1,
  invoice_days_overdue > 30 AS h2,
  (mrr - LAST_VALUE(mrr) OVER past30) / NULLIF(LAST_VALUE(mrr) OVER past30, 0) < -0.05 AS h3,
  SUM(tickets_opened) OVER last7 >= 10 AS h4,
  nps IS NOT NULL AND nps <= 6 AS h5
FROM read_parquet('{file}')
WINDOW past7 AS (PARTITION BY account ORDER BY date RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 7 DAYS PRECEDING),
       past14 AS (PARTITION BY account ORDER BY date RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 14 DAYS PRECEDING),
       past30 AS (PARTITION BY account ORDER BY date RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 30 DAYS PRECEDING),
       last7 AS (PARTITION BY account ORDER BY date RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW))
"""


def best(fn, repeat):
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    import duckdb

    from plays.compiler.driver import compile_sources
    from generate import write_large
    from plays.runtime.sql import condition_sql
    from plays.sources import discover

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    data = out / f"snapshots-{a.accounts}x{a.days}.parquet"
    if not data.exists():
        t = time.perf_counter()
        write_large(str(data), a.accounts, a.days)
        print(f"generated {data.name} in {time.perf_counter() - t:.1f} s")
    rows = a.accounts * a.days

    plays = Path(sys.executable).parent / "plays"
    cmd = [str(plays), "run", str(ROOT / "specs"), "-s", str(data), "--format", "json", "-o", str(out / "events.jsonl")]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    events = sum(1 for _ in open(out / "events.jsonl"))

    plan = compile_sources(discover([str(ROOT / "specs")])).plan
    conds = ", ".join(
        f"{condition_sql(al['where'])} AND {condition_sql(al['when'])} AS h{i}" for i, al in enumerate(plan["alerts"])
    )
    counts = ", ".join(f"count(*) FILTER (WHERE h{i})" for i in range(len(plan["alerts"])))
    con = duckdb.connect()
    ours = f"SELECT {counts} FROM (SELECT {conds} FROM read_parquet('{data}'))"
    hand = HAND_WRITTEN.format(file=data)
    # plan alerts are sorted by name; the hand-written ones follow specs/alerts.play's order
    order = ["usage_drop", "adoption_decline", "overdue_invoice", "mrr_contraction", "ticket_burst", "detractor_nps"]
    ours_counts = dict(zip((al["name"] for al in plan["alerts"]), con.execute(ours).fetchone()))
    hand_counts = dict(zip(order, con.execute(hand).fetchone()))
    t_ours = best(lambda: con.execute(ours).fetchall(), a.repeat)
    t_hand = best(lambda: con.execute(hand).fetchall(), a.repeat)

    print(f"snapshots: {a.accounts:,} accounts x {a.days} days = {rows:,} rows (Parquet); {events:,} events")
    print(f"end to end: {wall:.1f} s, {rows / wall:,.0f} rows/s, peak memory {peak_gb:.2f} GB")
    print(f"conditions: generated SQL {t_ours:.2f} s, hand-written SQL {t_hand:.2f} s, ratio {t_ours / t_hand:.2f}")
    same = "the same" if ours_counts == hand_counts else f"different: {ours_counts} vs {hand_counts}"
    print(f"rows where each alert condition holds: {same}")
    ok = wall <= 60 and peak_gb <= 6 and t_ours <= 1.5 * t_hand
    print(f"targets (<= 60 s, <= 6 GB, <= 1.5 x): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
