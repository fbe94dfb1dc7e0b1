"""Deterministic generator of realistic snapshot histories (examples, tests, benchmarks).

Two generators with the same catalog (LANGUAGE.md's):

- ``generate_rows``: a small, rich history in Python. Every account gets weekly
  seasonality and noise; the scenario each account plays (usage drop, overdue
  invoice, MRR contraction or expansion, ticket burst, detractor NPS, seats
  running out, new customer with hand-off and go-live in the window, renewal
  coming up) is chosen by its index so a reader can find the events. Some
  accounts report weekly, some have gaps.
- ``write_large``: the benchmark's data (e.g. 100,000 accounts x 90 days) built
  by DuckDB in SQL from hashes, deterministic, written as Parquet or CSV.

    python bench/generate.py --accounts 40 --days 120 --start 2026-01-01 -o examples/snapshots.csv
    python bench/generate.py --large --accounts 100000 --days 90 -o bench/out/snapshots.parquet
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from datetime import date, timedelta

SCENARIOS = (
    "steady",
    "usage_drop",
    "overdue_invoice",
    "mrr_contraction",
    "ticket_burst",
    "detractor",
    "seats_rising",
    "new_customer",
    "renewal",
    "adoption_slide",
)
NAMES = (
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne",
    "soylent", "aperture", "vandelay", "gringotts", "oscorp", "pied_piper", "massive", "dunder", "monarch", "nakatomi",
)
COLUMNS = (
    "account", "date", "name", "csm", "segment", "region", "tier", "stage", "contract",
    "sales_handoff_date", "go_live_date", "renewal_date",
    "mau", "feature_adoption", "mrr", "seat_utilization", "health_score", "invoice_days_overdue",
    "tickets_opened", "nps",
)


def account_ids(n: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"{NAMES[i % len(NAMES)]}_{i // len(NAMES)}" for i in range(n)]


def generate_rows(accounts: int = 40, days: int = 120, start: date = date(2026, 1, 1), seed: int = 7,
                  weekly_share: float = 0.1, gap_share: float = 0.1):
    """Yield snapshot rows (dicts with COLUMNS) for ``accounts`` accounts over ``days`` days."""
    for i, acc in enumerate(account_ids(accounts)):
        rng = random.Random(f"{seed}:{acc}")
        scenario = SCENARIOS[i % len(SCENARIOS)]
        segment = ("smb", "mid_market", "enterprise")[i % 3]
        attrs = {
            "name": acc.replace("_", " ").title(),
            "csm": ("dana", "lee", "sam", "kim")[i % 4],
            "segment": segment,
            "region": ("amer", "emea", "apac")[(i // 3) % 3],
            "tier": "premium" if i % 2 == 0 else "standard",
            "stage": "onboarding" if scenario == "new_customer" else ("adoption", "mature")[i % 2],
            "contract": "annual" if i % 4 != 3 else "monthly",
        }
        handoff = start + timedelta(days=rng.randint(5, 30)) if scenario == "new_customer" else start - timedelta(days=400)
        go_live = handoff + timedelta(days=rng.randint(20, 40))
        renewal = start + timedelta(days=rng.randint(125, 170)) if scenario == "renewal" else start + timedelta(days=300 + i)
        attrs.update(sales_handoff_date=handoff, go_live_date=go_live, renewal_date=renewal)
        weekly = rng.random() < weekly_share
        gappy = not weekly and rng.random() < gap_share
        seats = {"smb": 20, "mid_market": 120, "enterprise": 900}[segment]
        base_mau = seats * rng.uniform(0.5, 0.8)
        base_mrr = seats * rng.choice([25, 40, 60])
        event_day = rng.randint(days // 3, 2 * days // 3)
        adoption = rng.uniform(0.4, 0.7)
        overdue = 0
        for d in range(days):
            day = start + timedelta(days=d)
            if weekly and d % 7:
                continue
            if gappy and rng.random() < 0.15:
                continue
            season = 1.0 - (0.25 if day.weekday() >= 5 else 0.0)
            mau = base_mau * season * rng.uniform(0.95, 1.05)
            mrr = base_mrr
            seat_util = min(1.0, mau / seats / season * rng.uniform(0.97, 1.03))
            tickets = rng.choice([0, 0, 0, 0, 0, 0, 1, 1, 2])
            nps = rng.choice([9, 10, 8]) if rng.random() < 0.02 else None
            health = 70 + rng.uniform(-5, 8)
            after = d >= event_day
            if scenario == "usage_drop" and after:
                mau *= 0.6
                health -= 20
            elif scenario == "overdue_invoice":
                overdue = overdue + 1 if event_day - 20 <= d < event_day + 25 else 0
            elif scenario == "mrr_contraction" and after:
                mrr = base_mrr * 0.8
                health -= 10
            elif scenario == "ticket_burst" and event_day <= d < event_day + 5:
                tickets = rng.randint(3, 6)
            elif scenario == "detractor" and d in (event_day, event_day + 40):
                nps = rng.choice([2, 3, 5])
            elif scenario == "seats_rising":
                seat_util = min(1.0, 0.75 + 0.3 * d / days)
                mau = seat_util * seats * season
                if d > event_day + 20 and i % 4 == 0:  # half of them expand
                    mrr = base_mrr * 1.15
            elif scenario == "new_customer":
                if day < handoff:
                    continue  # not a customer yet
                ramp = min(1.0, (day - handoff).days / 60)
                mau = base_mau * (0.2 + 0.8 * ramp) * season
                health = 50 + 30 * ramp + rng.uniform(-3, 3)
                adoption = 0.2 + 0.5 * ramp
            elif scenario == "renewal":
                health = 72 + 8 * math.sin(d / 15)
            elif scenario == "adoption_slide" and after:
                adoption = max(0.05, adoption - 0.01)
            yield {
                "account": acc, "date": day, **attrs,
                "mau": round(mau), "feature_adoption": round(adoption + rng.uniform(-0.01, 0.01), 3),
                "mrr": round(mrr, 2), "seat_utilization": round(seat_util, 3), "health_score": round(health, 1),
                "invoice_days_overdue": overdue, "tickets_opened": tickets, "nps": nps,
            }


def write_csv(rows, path: str) -> int:
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v.isoformat() if isinstance(v, date) else v) for k, v in r.items()})
            n += 1
    return n


def write_jsonl(rows, path: str) -> int:
    import json

    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v.isoformat() if isinstance(v, date) else v for k, v in r.items()}) + "\n")
            n += 1
    return n


def write_large(path: str, accounts: int = 100_000, days: int = 90, start: date = date(2026, 1, 1), seed: int = 7) -> int:
    """The benchmark's snapshots, generated column-wise by DuckDB from hashes (deterministic)."""
    import duckdb

    con = duckdb.connect()
    h = f"hash(a, d, {seed}, k)"
    fmt = "(FORMAT parquet)" if path.endswith(".parquet") else "(FORMAT csv, HEADER true)"
    # u(k) is a deterministic uniform number in [0, 1) per account, day and key k.
    u = lambda k, day="d": f"((hash(a, {day}, {seed}, {k}) % 1000000) / 1000000.0)"  # noqa: E731
    ua = lambda k: f"((hash(a, {seed}, {k}) % 1000000) / 1000000.0)"  # noqa: E731
    sql = f"""
    COPY (
      SELECT 'acc' || lpad(CAST(a AS VARCHAR), 6, '0') AS account,
             DATE '{start.isoformat()}' + CAST(d AS INTEGER) AS date,
             'Account ' || a AS name, 'csm' || (a % 50) AS csm,
             ['smb', 'mid_market', 'enterprise'][1 + a % 3] AS segment,
             ['amer', 'emea', 'apac'][1 + (a // 3) % 3] AS region,
             CASE WHEN a % 2 = 0 THEN 'premium' ELSE 'standard' END AS tier,
             ['onboarding', 'adoption', 'mature'][1 + (a // 2) % 3] AS stage,
             CASE WHEN a % 4 = 3 THEN 'monthly' ELSE 'annual' END AS contract,
             DATE '{start.isoformat()}' + CAST(floor({ua(1)} * 200) AS INTEGER) - 100 AS sales_handoff_date,
             DATE '{start.isoformat()}' + CAST(floor({ua(2)} * 200) AS INTEGER) - 60 AS go_live_date,
             DATE '{start.isoformat()}' + CAST(floor({ua(3)} * 365) AS INTEGER) AS renewal_date,
             round((100 + {ua(4)} * 900) * (CASE WHEN d > 45 AND a % 10 = 1 THEN 0.6 ELSE 1 END) * (0.95 + 0.1 * {u(5)})) AS mau,
             round(0.3 + 0.5 * {ua(6)} + 0.02 * {u(7)}, 3) AS feature_adoption,
             round((1000 + {ua(8)} * 20000) * (CASE WHEN d > 60 AND a % 10 = 3 THEN 0.8 ELSE 1 END), 2) AS mrr,
             round(least(1, 0.5 + 0.4 * {ua(9)} + CASE WHEN a % 10 = 6 THEN d / 200.0 ELSE 0 END), 3) AS seat_utilization,
             round(50 + 45 * {u(10)}, 1) AS health_score,
             CASE WHEN a % 10 = 2 AND d BETWEEN 20 AND 70 THEN d - 20 ELSE 0 END AS invoice_days_overdue,
             CAST(floor({u(11)} * (CASE WHEN a % 10 = 4 AND d BETWEEN 40 AND 45 THEN 8 ELSE 2 END)) AS INTEGER) AS tickets_opened,
             CASE WHEN {u(12)} < 0.02 THEN CAST(floor({u(13)} * 11) AS INTEGER) END AS nps
      FROM range({accounts}) t1(a), range({days}) t2(d)
      ORDER BY account, date
    ) TO '{path}' {fmt}
    """
    del h
    con.execute(sql)
    return accounts * days


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python bench/generate.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=40)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--large", action="store_true", help="columnar generator for benchmarks (SQL, fast)")
    ap.add_argument("-o", "--output", required=True, help="output file: .csv, .jsonl or .parquet")
    a = ap.parse_args(argv)
    if a.large:
        n = write_large(a.output, a.accounts, a.days, a.start, a.seed)
    else:
        rows = generate_rows(a.accounts, a.days, a.start, a.seed)
        if a.output.endswith((".jsonl", ".ndjson")):
            n = write_jsonl(rows, a.output)
        elif a.output.endswith(".parquet"):
            import duckdb
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=".csv") as tmp:
                write_csv(rows, tmp.name)
                duckdb.connect().execute(
                    f"COPY (SELECT * FROM read_csv('{tmp.name}', header=true)) TO '{a.output}' (FORMAT parquet)")
            n = -1
        else:
            n = write_csv(rows, a.output)
    print(f"wrote {a.output}" + (f" ({n:,} rows)" if n >= 0 else ""))


if __name__ == "__main__":
    main()
