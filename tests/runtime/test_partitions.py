"""Partitioned evaluation gives exactly the events of one whole-book evaluation, for any buckets and jobs."""

import random
from datetime import date
from pathlib import Path

import duckdb
import pytest

from plays.compiler.driver import compile_sources
from plays.runtime.engine import ManualDeploy, evaluate
from plays.runtime.partitions import evaluate_buckets, merged
from plays.runtime.snapshots import bucket_of, bucket_sql, load_snapshots, snapshots_from_rows
from plays.sources import discover

ROOT = Path(__file__).resolve().parent.parent.parent
SPECS = str(ROOT / "specs")
EXAMPLE = str(ROOT / "examples" / "snapshots.csv")


def spill_buckets(con, workdir: str, partitions: int) -> list[list[str]]:
    """A connection's ``snapshots`` table as one Parquet file per bucket (what prepare_snapshots writes)."""
    out = []
    for k in range(partitions):
        path = f"{workdir}/bucket-{k}.parquet"
        con.execute(f"COPY (SELECT * FROM snapshots WHERE {bucket_sql('account', partitions)} = {k} "
                    f"ORDER BY account, date) TO '{path}' (FORMAT PARQUET)")
        n = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
        out.append([path] if n else [])
    return out


def test_bucket_of_is_the_sql_bucket_for_every_kind_of_id():
    ids = ["acme", "globex", "", "a'b", "Café ☕", "x" * 300, *(f"acct-{i:06d}" for i in range(500))]
    con = duckdb.connect()
    for parts in (1, 2, 7, 64):
        sql = {a: b for a, b in con.execute(
            f"SELECT a, {bucket_sql('a', parts)} FROM unnest(?) t(a)", [ids]).fetchall()}
        assert all(sql[a] == bucket_of(a, parts) for a in ids)
    # spread: 500 ids over 7 buckets, none empty and none with more than twice its share
    counts = [sum(1 for i in ids if bucket_of(i, 7) == k) for k in range(7)]
    assert min(counts) > 0 and max(counts) < 2 * len(ids) / 7


@pytest.mark.parametrize("args", [("--partitions", "3"), ("--partitions", "7", "--jobs", "2"), ("--partitions", "1")])
def test_the_example_runs_the_same_in_any_buckets_and_jobs(run_cli, args):
    for fmt in ("json", "text"):
        whole = run_cli("run", SPECS, "-s", EXAMPLE, "--format", fmt)
        split = run_cli("run", SPECS, "-s", EXAMPLE, "--format", fmt, *args)
        assert whole[0] == split[0] == 0
        assert split[1] == whole[1] and whole[1].count("\n") > 100


def generated_rows(seed: int):
    """Generated snapshots of 80 accounts with gaps: every alert and goal of specs/ happens somewhere."""
    from generate import generate_rows  # bench/generate.py, the example data's own generator

    rng = random.Random(seed)
    rows = [r for r in generate_rows(accounts=80, days=150, seed=seed) if rng.random() > 0.1]  # ~10% missing days
    for r in rows:
        for k in ("go_live_date", "renewal_date", "sales_handoff_date"):
            if isinstance(r.get(k), str) and r[k]:
                r[k] = date.fromisoformat(r[k])
    return rows


@pytest.mark.parametrize("partitions, jobs", [(1, 1), (4, 1), (9, 2)])
def test_generated_book_with_every_rule_kind_is_the_same_in_buckets(tmp_path, partitions, jobs):
    plan = compile_sources(discover([SPECS])).plan
    rows = generated_rows(seed=11)
    con = snapshots_from_rows(plan, rows)
    accounts = sorted({r["account"] for r in rows})
    manual = [ManualDeploy("save_plan", a, date(2026, 2, 1 + i)) for i, a in enumerate(accounts[::9])]
    whole = [e.to_json() for e in evaluate(plan, con, manual=manual)]
    kinds = {(e["event"], e.get("alert") or e.get("goal")) for e in whole}
    rules = {r.name for r in plan.rules if r.kind != "external_goal"}
    assert {name for _, name in kinds} >= rules
    assert {k for k, _ in kinds} >= {"alert_fired", "alert_resolved", "goal_deployed", "task_created",
                                     "goal_kpi_met", "goal_achieved", "goal_missed"}
    files = spill_buckets(con, str(tmp_path), partitions)
    assert sum(1 for f in files if f) > (1 if partitions > 1 else 0)
    results = evaluate_buckets(plan, files, str(tmp_path), jobs=jobs, manual=manual)
    assert [r[2].to_json() for r in merged(results)] == whole  # records: (sort key, playbook, event)


def test_buckets_hold_whole_accounts(tmp_path):
    plan = compile_sources(discover([SPECS])).plan
    snaps = load_snapshots([EXAMPLE], plan)
    files = spill_buckets(snaps.con, str(tmp_path), 5)
    seen = {}
    for k, fs in enumerate(files):
        for f in fs:
            for (acc,) in duckdb.sql(f"SELECT DISTINCT account FROM read_parquet('{f}', hive_partitioning = false)").fetchall():
                assert seen.setdefault(acc, k) == k and bucket_of(acc, 5) == k
    assert len(seen) == snaps.con.execute("SELECT count(DISTINCT account) FROM snapshots").fetchone()[0]


def test_parquet_output_holds_exactly_the_json_events(run_cli, tmp_path):
    import json

    import pyarrow.parquet as pq

    from plays.runtime.arrow import events_from_arrow

    code, jsonl, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json")
    out = tmp_path / "events.parquet"
    code2, stdout, err = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "parquet", "-o", str(out),
                                 "--partitions", "3", "--jobs", "2")
    assert code == code2 == 0 and stdout == "" and err == ""
    lines = "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in events_from_arrow(pq.read_table(out)))
    assert lines == jsonl


@pytest.mark.parametrize("args, message", [
    (("--format", "parquet"), "--format parquet needs -o FILE"),
    (("--engine", "spark", "--state", "s.db", "-o", "e.parquet"), "--state is not available with --engine spark"),
    (("--engine", "spark"), "--engine spark needs -o FILE.parquet"),
    (("--spark-master", "local[2]"), "--spark-master goes with --engine spark"),
    (("--format", "json", "-o", "no/such/folder/events.jsonl"), "no/such/folder/events.jsonl: cannot write"),
])
def test_run_refuses_what_it_cannot_do_in_one_line(run_cli, tmp_path, args, message):
    code, out, err = run_cli("run", SPECS, "-s", EXAMPLE, *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1, err
    assert not list(tmp_path.rglob("*.jsonl")) and not list(tmp_path.rglob("*.tmp"))


def test_an_account_id_with_a_newline_quote_and_comma_is_just_another_account(run_cli, tmp_path):
    import csv
    import json

    rows = list(csv.DictReader(open(EXAMPLE, encoding="utf-8")))
    code, before, _ = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json")
    busiest = max({r["account"] for r in rows}, key=lambda a: before.count(f'"account": "{a}"'))
    odd = 'ac\nme, "x"'
    for r in rows:
        if r["account"] == busiest:
            r["account"] = odd
    data = tmp_path / "odd.csv"
    with open(data, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    code2, after, err = run_cli("run", SPECS, "-s", str(data), "--format", "json", "--partitions", "3", "--jobs", "2")
    assert code == code2 == 0, err
    events = [json.loads(line) for line in after.splitlines()]
    assert sum(e["account"] == odd for e in events) == before.count(f'"account": "{busiest}"') > 3
    code3, text, _ = run_cli("run", SPECS, "-s", str(data))
    assert code3 == 0 and '  ac\\nme, "x"' in text.splitlines()


def test_a_full_disk_while_streaming_leaves_no_output_and_says_so_in_one_line(run_cli, tmp_path, monkeypatch):
    import errno

    import plays.cli.output as output

    def full(recs, out):
        out.write("{}\n" * 10)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output, "write_jsonl", full)
    target = tmp_path / "events.jsonl"
    target.write_text("the previous run\n", "utf-8")
    code, out, err = run_cli("run", SPECS, "-s", EXAMPLE, "--format", "json", "-o", str(target), "--partitions", "2")
    assert code == 2 and out == "" and err.count("\n") == 1 and "No space left on device" in err, err
    assert target.read_text("utf-8") == "the previous run\n"  # the old file, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["events.jsonl"]  # no temporary left behind
