"""Spark local mode gives exactly the events of the local engine (tests/spark/conftest.py starts the session).

The semantics have one implementation (runtime/arrow.py's evaluate_arrow in
Spark's Python workers); these tests check the parts Spark adds: the checks
and casts of the input, the buckets, the plan and manual deploys travelling to
the workers, the contract order of the output, the Parquet files.
"""

import json
import random
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plays.compiler.driver import compile_sources, compile_text
from plays.diagnostics import UsageError
from plays.runtime.arrow import EVENT_SCHEMA, events_from_arrow
from plays.runtime.engine import ManualDeploy, evaluate
from plays.runtime.snapshots import bucket_of
from plays.runtime.snapshots import load_snapshots
from plays.sources import discover
from plays.spark import SparkInputError, run, run_files, sort_events
from plays.spark.engine import BUCKET_SPARK_SQL

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SPECS = str(ROOT / "specs")
EXAMPLE = str(ROOT / "examples" / "snapshots.csv")

# Every rule kind: windows over gaps, `for`, cooldown, date and edge triggers,
# relative KPIs, recurring and dependent tasks, titles (with a literal that
# looks like a duration), segment playbooks, goal `where`, manual and external goals.
CATALOG = """
account { name: text  tier: enum(standard, premium)  segment: enum(smb, enterprise)  handoff: date  renewal: date }
metric m: number
metric k: count
"""
SPEC = '''
alert windows "Windows over gaps" {
  severity: high
  when: sum(m, 7d) >= 25 or pct_change(k, 14d) <= -30% or value_at(m, 3d) > 8
  for: 3d
  cooldown: 10d
  playbook premium where tier == premium {
    task call "Call {{ account.name }}: {{ sum(m, 7d) }} in a week ({{ pct_change(k, 14d) | pct }})" { type: call  owner: csm  due: 2d }
  }
  playbook rest {
    task nudge "Nudge {{ account.name }} ({{ m }}, {{ \\"due in 7d\\" }})" { type: email  due: 1d }
  }
}
alert edge "Rising" {
  when: previous(m) < m and avg(k, 7d) > 4
  cooldown: 3d
  playbook { task t "Look at {{ count(m, 14d) }} snapshots" { due: 1d } }
}
alert gaps "Empty or low" {
  severity: low
  where: segment == enterprise
  when: k is empty or min(m, 7d) < 1 or max(k, 3d) - min(k, 3d) > 6
  playbook { task t "T" { } }
}
goal onboard "Onboarding" {
  duration: 30d
  deploy: on handoff + 2d
  kpi: m >= 8
  playbook ent where segment == enterprise {
    task kickoff "Kickoff with {{ account.name }}" { type: meeting  due: 3d }
    task train "Train" { after: kickoff  due: 5d }
    task check "Weekly check" { every: 7d }
    task go "Go-live" { after: kickoff, train  due: 4d }
  }
  playbook light {
    task welcome "Welcome {{ account.name }}" { type: email  due: 1d }
    task pulse "Pulse" { every: 5d  until: 15d }
  }
}
goal grow "Growth" {
  duration: 21d
  where: tier == premium
  deploy: when change(m, 7d) >= 3
  kpi: k up 20%
  playbook { task a "Day {{ days_since(handoff) }} since hand-off" { due: 2d } }
}
goal renew "Renewal" {
  duration: 14d
  deploy: on renewal - 30d
  kpi: k down 10%
  playbook { task r "Renewal prep for {{ account.name }} in {{ days_until(renewal) }} days" { due: 7d } }
}
goal manual_review "Manual" {
  duration: 10d
  deploy: manual
  playbook { task m "Review" { due: 3d } }
}
external goal ext "External" {
  account: "acct_3"
  measure: "Handling time" target <= 3
  start: 2026-01-10
  due: 2026-02-10
  playbook { task b "Baseline" { due: 2d } task r "Review" { after: b  due: 5d } }
}
'''
START = date(2026, 1, 1)
MANUAL = (ManualDeploy("manual_review", "acct_5", date(2026, 1, 20)), ManualDeploy("manual_review", "ñandú", START))


def generated_rows(accounts: int = 48, days: int = 75, seed: int = 11) -> list[dict]:
    """Seeded histories: daily, weekly and gappy cadences, empty values, bursts and drops."""
    rng = random.Random(seed)
    rows = []
    names = [f"acct_{i}" for i in range(accounts - 2)] + ["ñandú", "東京 co"]
    for i, account in enumerate(names):
        cadence = (1, 1, 2, 7)[i % 4]
        gap_share = (0.0, 0.2, 0.4)[i % 3]
        handoff = START + timedelta(days=rng.randint(-5, 40))
        renewal = START + timedelta(days=rng.randint(20, 120))
        tier = rng.choice(["standard", "premium", None])
        segment = rng.choice(["smb", "enterprise"])
        m, k = rng.uniform(0, 6), rng.randint(5, 30)
        for day in range(0, days, cadence):
            if day and rng.random() < gap_share:
                continue
            m = max(0.0, m + rng.choice([-3, -1, 0, 1, 2, 4]) * rng.random())
            k = max(0, k + rng.randint(-6, 5))
            rows.append({
                "account": account, "date": START + timedelta(days=day), "name": f"{account.title()} Inc",
                "tier": tier, "segment": segment, "handoff": handoff, "renewal": renewal,
                "m": None if rng.random() < 0.08 else round(m, 2),
                "k": None if rng.random() < 0.08 else float(k),
            })
    return rows


@pytest.fixture(scope="module")
def plan():
    return compile_text(CATALOG + SPEC)


@pytest.fixture(scope="module")
def generated(tmp_path_factory, plan):
    """(the Parquet file of generated snapshots, the local engine's events as JSON dicts)."""
    rows = generated_rows()
    path = tmp_path_factory.mktemp("gen") / "snapshots.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    snaps = load_snapshots([str(path)], plan)
    expected = [e.to_json() for e in evaluate(plan, snaps.con, manual=MANUAL)]
    snaps.con.close()
    return path, expected


@pytest.fixture(scope="module")
def example_plan():
    return compile_sources(discover([SPECS])).plan


@pytest.fixture(scope="module")
def example_events() -> list[dict]:
    """`plays run specs/ --snapshots examples/snapshots.csv --format json`, parsed."""
    out = subprocess.run([sys.executable, "-m", "plays.cli", "run", SPECS, "--snapshots", EXAMPLE, "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def read_events(path) -> list[dict]:
    table = pq.read_table(path)
    assert table.schema == EVENT_SCHEMA
    return [e.to_json() for e in events_from_arrow(table)]


# --- the differential tests ------------------------------------------------------------------


def test_the_generated_data_exercises_every_rule_kind(plan, generated):
    _, expected = generated
    kinds = {(e["event"], e.get("alert") or e.get("goal")) for e in expected}
    for alert in ("windows", "edge", "gaps"):
        assert ("alert_fired", alert) in kinds and ("alert_resolved", alert) in kinds, alert
    for goal in ("onboard", "grow", "renew", "manual_review", "ext"):
        assert ("goal_deployed", goal) in kinds, goal
    assert {"goal_kpi_met", "goal_achieved", "goal_missed"} <= {k for k, _ in kinds}
    tasks = [e for e in expected if e["event"] == "task_created"]
    assert any(e["after"] for e in tasks) and any(e["task"] == "check" for e in tasks)
    assert any("Ñandú Inc" in e["title"] for e in tasks) and any("due in 7" in e["title"] for e in tasks)


def test_spark_run_files_on_generated_data_gives_the_local_events(spark, plan, generated, tmp_path):
    path, expected = generated
    out = tmp_path / "events.parquet"
    count = run_files(plan, [str(path)], str(out), partitions=5, manual=MANUAL, spark=spark)
    assert count == len(expected)
    assert read_events(out) == expected


def test_spark_run_on_the_bundled_example_gives_the_events_of_plays_run(spark, example_plan, example_events, tmp_path):
    out = tmp_path / "events.parquet"
    assert run_files(example_plan, [EXAMPLE], str(out), spark=spark) == len(example_events)
    assert read_events(out) == example_events


def test_the_python_api_returns_the_event_columns_and_sorts_in_the_contract_order(spark, plan, generated):
    path, expected = generated
    df = spark.read.parquet(str(path))
    events = run(spark, plan, df, partitions=3, manual=MANUAL)
    assert events.columns == EVENT_SCHEMA.names
    assert dict(events.dtypes)["after"] == "array<string>" and dict(events.dtypes)["due"] == "date"
    table = pa.Table.from_batches(sort_events(events).toArrow().to_batches()).cast(EVENT_SCHEMA)
    assert [e.to_json() for e in events_from_arrow(table)] == expected


def test_the_output_does_not_depend_on_the_partitions_or_the_input_format(spark, example_plan, example_events, tmp_path):
    # JSON Lines input, one bucket, a directory of part files whose name order is the contract order
    import csv

    jsonl = tmp_path / "snapshots.jsonl"
    with open(EXAMPLE, newline="", encoding="utf-8") as f, open(jsonl, "w", encoding="utf-8") as out:
        for row in csv.DictReader(f):
            out.write(json.dumps({k: v for k, v in row.items() if v != ""}) + "\n")
    out = tmp_path / "events"
    assert run_files(example_plan, [str(jsonl)], f"{out}/", partitions=1, spark=spark) == len(example_events)
    parts = sorted(p for p in out.iterdir() if p.name.startswith("part-"))
    table = pa.concat_tables(pq.read_table(p).cast(EVENT_SCHEMA) for p in parts)
    assert [e.to_json() for e in events_from_arrow(table)] == example_events


def test_spark_buckets_are_bucket_of(spark):
    accounts = ["acme", "ñandú", "東京 co", "", "a b", *(f"acct_{i}" for i in range(100))]
    df = spark.createDataFrame([(a,) for a in accounts], "account string")
    for p in (1, 7, 64):
        got = dict(df.selectExpr("account", f"{BUCKET_SPARK_SQL.format(p=p)} AS b").collect())
        assert got == {a: bucket_of(a, p) for a in accounts}


# --- bad input: a clear error, nothing evaluated -----------------------------------------------


def test_missing_account_column_is_a_clear_error(spark, plan):
    df = spark.createDataFrame([("2026-01-01", 1.0)], "date string, m double")
    with pytest.raises(SparkInputError) as e:
        run(spark, plan, df)
    assert str(e.value) == "1 problem in the snapshots, nothing was evaluated: no `account` column: every row needs an account and a date"
    assert e.value.diagnostics[0].code == "R101"


def test_rows_that_cannot_be_cast_are_counted_with_examples(spark, plan):
    rows = [("a", "2026-01-01", "1", "premium"), ("a", "2026-01-02", "lots", "premium"),
            ("b", "2026-13-01", "2", "gold"), ("c", "2026-01-01", None, "standard"), (None, "2026-01-01", "1", None)]
    df = spark.createDataFrame(rows, "account string, date string, m string, tier string")
    with pytest.raises(SparkInputError) as e:
        run(spark, plan, df)
    assert [d.code for d in e.value.diagnostics] == ["R107", "R103", "R104"]
    assert str(e.value) == (
        "3 problems in the snapshots, nothing was evaluated: "
        "a row with no account on 2026-01-01: the account is empty; "
        "account `a` on 2026-01-02: `m` is `lots`, not a number; "
        "account `b` on 2026-13-01: `date` is `2026-13-01`, not a date like 2026-01-31; "
        "`tier` is `gold`, not one of standard, premium"
    )


def test_only_a_few_examples_are_shown_with_the_count_of_the_rest(spark, plan):
    df = spark.createDataFrame([(f"a{i:02}", "2026-01-01", "x") for i in range(12)], "account string, date string, k string")
    with pytest.raises(SparkInputError) as e:
        run(spark, plan, df)
    assert len(e.value.diagnostics) == 5 and e.value.more == 7
    assert str(e.value).startswith("12 problems in the snapshots")
    assert str(e.value).endswith("account `a04` on 2026-01-01: `k` is `x`, not a number; and 7 more")


def test_a_second_row_for_an_account_and_date_is_an_error(spark, plan):
    df = spark.createDataFrame([("a", date(2026, 1, 1), 1.0), ("a", date(2026, 1, 1), 2.0), ("a", date(2026, 1, 2), 2.0)],
                               "account string, date date, m double")
    with pytest.raises(SparkInputError) as e:
        run(spark, plan, df)
    assert str(e.value).endswith("account `a` on 2026-01-01: 2 rows for the same account and date")
    assert e.value.diagnostics[0].code == "R106"


def test_typed_columns_are_cast_to_the_catalog_and_unknown_ones_ignored(spark, plan, generated):
    # ints for a number metric, timestamps are not dates (as in the local engine)
    df = spark.createDataFrame([("a", date(2026, 1, 1), 3, "x")], "account string, date date, m int, other string")
    assert run(spark, plan, df).count() == 0
    df = spark.createDataFrame([("a", "2026-01-01 00:00:00")], "account string, date string")
    with pytest.raises(SparkInputError, match="`date` is `2026-01-01 00:00:00`, not a date like 2026-01-31"):
        run(spark, plan, df)


def test_unreadable_or_unwritable_paths_are_usage_errors_and_leave_no_output(spark, plan, tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        run_files(plan, [str(tmp_path / "missing.parquet")], str(tmp_path / "out.parquet"), spark=spark)
    with pytest.raises(UsageError, match="no file matches"):
        run_files(plan, [str(tmp_path / "*.csv")], str(tmp_path / "out.parquet"), spark=spark)
    with pytest.raises(UsageError, match="cannot write: no such directory"):
        run_files(plan, [EXAMPLE], str(tmp_path / "nowhere" / "out.parquet"), spark=spark)
    (tmp_path / "dir").mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        run_files(plan, [EXAMPLE], str(tmp_path / "dir"), spark=spark)
    bad = tmp_path / "bad.csv"
    bad.write_text("account,date,m\na,2026-01-01,lots\n")
    with pytest.raises(SparkInputError, match="`m` is `lots`"):
        run_files(plan, [str(bad)], str(tmp_path / "out.parquet"), spark=spark)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "dir"]


def test_without_pyspark_the_error_says_how_to_install_it(monkeypatch):
    from plays.spark import SparkMissing
    from plays.spark import engine

    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(SparkMissing, match=r"pip install 'plays\[spark\]'"):
        engine._functions()


def test_a_plan_naming_what_its_catalog_lacks_is_refused_before_any_spark_job(spark, plan, generated, tmp_path):
    from dataclasses import replace

    from plays.compiler.plan import PlanError

    catalog = replace(plan.catalog, metrics=tuple(m for m in plan.catalog.metrics if m.name != "k"))
    bad = replace(plan, catalog=catalog)
    with pytest.raises(PlanError, match="metric `k` is not in the plan's catalog"):
        run(spark, bad, spark.read.parquet(str(generated[0])))
    with pytest.raises(PlanError, match="metric `k` is not in the plan's catalog"):
        run_files(bad, [str(generated[0])], str(tmp_path / "out.parquet"), spark=spark)
    assert list(tmp_path.iterdir()) == []


def test_an_error_in_a_worker_is_one_line_and_leaves_no_output(spark, example_plan, tmp_path):
    from plays.spark import SparkJobError

    manual = [ManualDeploy("no_such_goal", "acme", date(2026, 1, 1))]
    with pytest.raises(SparkJobError) as e:
        run_files(example_plan, [EXAMPLE], str(tmp_path / "out.parquet"), partitions=1, manual=manual, spark=spark)
    assert str(e.value) == "unknown goal template `no_such_goal`"
    assert list(tmp_path.iterdir()) == []


def test_the_line_shown_for_a_failed_job():
    from plays.spark.engine import _first_line

    worker = ("An exception was thrown from the Python worker:\nTraceback (most recent call last):\n"
              '  File "w.py", line 3, in bucket\n    raise EvaluationError(...)\n'
              "plays.errors.EvaluationError: specs/a.play:3:9: alert `x`: cannot render the title\n\n"
              "JVM stacktrace:\norg.apache.spark.SparkException: Job aborted due to stage failure\n\tat org.apache.X")
    assert _first_line(Exception(worker)) == "specs/a.play:3:9: alert `x`: cannot render the title"
    other = worker.replace("plays.errors.EvaluationError: specs/a.play:3:9: alert `x`: cannot render the title",
                           "MemoryError: out of memory")
    assert _first_line(Exception(other)) == "the Spark job failed: MemoryError: out of memory"
    assert _first_line(Exception("[PATH_NOT_FOUND] Path does not exist: file:/x.\nSQLSTATE: 42K03")) == (
        "the Spark job failed: [PATH_NOT_FOUND] Path does not exist: file:/x.")
