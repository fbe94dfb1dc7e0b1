"""Events as Arrow: the schema, an exact round trip, and the engine on an Arrow table of snapshots."""

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from plays.compiler.driver import compile_sources
from plays.runtime.arrow import EVENT_SCHEMA, evaluate_arrow, events_from_arrow, events_to_arrow
from plays.runtime.events import Event
from plays.runtime.snapshots import bucket_of
from plays.runtime.snapshots import load_snapshots
from plays.sources import discover

ROOT = Path(__file__).resolve().parents[2]
SPECS = str(ROOT / "specs")
EXAMPLE = str(ROOT / "examples" / "snapshots.csv")


@pytest.fixture(scope="module")
def plan():
    return compile_sources(discover([SPECS])).plan


@pytest.fixture(scope="module")
def example_snapshots(plan) -> pa.Table:
    snaps = load_snapshots([EXAMPLE], plan)
    try:
        return snaps.con.cursor().sql("SELECT * FROM snapshots").to_arrow_table()
    finally:
        snaps.con.close()


@pytest.fixture(scope="module")
def cli_events(plan) -> list[dict]:
    """`plays run specs/ --snapshots examples/snapshots.csv --format json`, parsed."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "plays.cli", "run", SPECS, "--snapshots", EXAMPLE, "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_the_schema_has_a_column_for_every_event_field():
    assert EVENT_SCHEMA.names == [
        "event", "date", "account", "alert", "goal", "playbook", "severity", "instance", "id", "task",
        "title", "type", "owner", "due", "after", "start", "end", "values",
    ]
    assert EVENT_SCHEMA.field("date").type == pa.date32()
    assert EVENT_SCHEMA.field("due").type == pa.date32()
    assert EVENT_SCHEMA.field("after").type == pa.list_(pa.string())
    assert EVENT_SCHEMA.field("values").type == pa.string()
    assert not EVENT_SCHEMA.field("account").nullable and EVENT_SCHEMA.field("task").nullable


def test_evaluate_arrow_gives_exactly_the_events_of_plays_run(plan, example_snapshots, cli_events):
    table = evaluate_arrow(plan, example_snapshots)
    assert table.schema == EVENT_SCHEMA
    assert [e.to_json() for e in events_from_arrow(table)] == cli_events
    # the values column is the JSON Lines text of the values, byte for byte
    fired = next(e for e in cli_events if e["event"] == "alert_fired" and e.get("values"))
    i = [e.to_json() for e in events_from_arrow(table)].index(fired)
    assert table.column("values")[i].as_py() == json.dumps(fired["values"], ensure_ascii=False)


def test_round_trip_on_the_example_run_is_exact(plan, example_snapshots, cli_events):
    from plays.runtime.engine import evaluate

    snaps = load_snapshots([EXAMPLE], plan)
    events = evaluate(plan, snaps.con)
    table = events_to_arrow(events)
    assert table.num_rows == len(events) == len(cli_events)
    back = list(events_from_arrow(table))
    assert [e.to_json() for e in back] == [e.to_json() for e in events]
    # through Parquet too: what `--format parquet` writes reads back the same
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    again = pq.read_table(io.BytesIO(buf.getvalue()))
    assert again.schema == EVENT_SCHEMA
    assert [e.to_json() for e in events_from_arrow(again)] == [e.to_json() for e in events]


def test_round_trip_keeps_key_order_number_forms_and_text():
    e = Event(
        event="alert_fired", date=date(2026, 3, 1), account="ñandú", alert="x", severity="high",
        instance="alert-1", values={"z": 3.0, "a": 0.25, "é": None, "big": 1e16, "d": date(2026, 1, 2)},
    )
    t = Event(event="task_created", date=date(2026, 3, 1), account="ñandú", alert="x", id="task-1", task="t",
              title="Call «ñandú»", type="call", owner="csm", due=date(2026, 3, 3), after=["a", "b"], playbook="p")
    empty_after = Event(event="task_created", date=date(2026, 3, 1), account="b", goal="g", id="task-2", task="u",
                        due=date(2026, 3, 2), after=[], start=date(2026, 3, 1), end=date(2026, 4, 1))
    table = events_to_arrow([e, t, empty_after])
    assert table.column("values")[0].as_py() == '{"z": 3, "a": 0.25, "é": null, "big": 10000000000000000, "d": "2026-01-02"}'
    assert table.column("values")[1].as_py() is None
    back = list(events_from_arrow(table))
    assert [x.to_json() for x in back] == [x.to_json() for x in (e, t, empty_after)]
    assert list(back[0].to_json()["values"]) == ["z", "a", "é", "big", "d"]
    assert back[2].after == [] and back[1].after == ["a", "b"]


def test_event_batches_split_the_stream_and_keep_its_order(plan, example_snapshots, cli_events):
    from plays.runtime.arrow import event_batches

    events = list(events_from_arrow(evaluate_arrow(plan, example_snapshots)))
    batches = list(event_batches(iter(events), size=50))
    assert [b.num_rows for b in batches] == [50, 50, 50, len(events) - 150]
    assert all(b.schema == EVENT_SCHEMA for b in batches)
    assert [e.to_json() for b in batches for e in events_from_arrow(b)] == cli_events
    assert list(event_batches([], size=50)) == []


def test_no_events_is_an_empty_table_of_the_schema():
    table = events_to_arrow([])
    assert table.num_rows == 0 and table.schema == EVENT_SCHEMA
    assert list(events_from_arrow(table)) == []


def test_evaluate_arrow_sorts_and_casts_its_input(plan, example_snapshots, cli_events):
    # rows shuffled, dates as text, a metric as text, an unknown column, a catalog column missing
    shuffled = example_snapshots.take(list(reversed(range(example_snapshots.num_rows))))
    as_text = shuffled.set_column(
        shuffled.schema.get_field_index("date"), "date", shuffled.column("date").cast(pa.string())
    ).append_column("extra", pa.array(["x"] * shuffled.num_rows))
    events = [e.to_json() for e in events_from_arrow(evaluate_arrow(plan, as_text, threads=1))]
    assert events == cli_events
    without_nps = example_snapshots.drop_columns(["nps"])
    events = [e.to_json() for e in events_from_arrow(evaluate_arrow(plan, without_nps))]
    assert not any(e.get("alert") == "detractor_nps" for e in events)
    assert any(e.get("alert") == "detractor_nps" for e in cli_events)


def test_bucket_of_is_the_first_32_bits_of_the_md5_of_the_account():
    # md5("acme") = 53bce4f1dfa0fe8e7ca126f91b35d3a6; 0x53bce4f1 = 1404888305 = 7 * 200698329 + 2
    assert bucket_of("acme", 7) == 2
    assert bucket_of("acme", 1 << 32) == 1404888305


def test_buckets_partition_the_accounts_and_evaluating_them_apart_gives_the_same_events(plan, example_snapshots, cli_events):
    import pyarrow.compute as pc

    accounts = example_snapshots.column("account").to_pylist()
    buckets = pa.array([bucket_of(a, 3) for a in accounts])
    parts = [evaluate_arrow(plan, example_snapshots.filter(pc.equal(buckets, b))) for b in range(3)]
    merged = sorted((e for p in parts for e in events_from_arrow(p)), key=Event.sort_key)
    assert [e.to_json() for e in merged] == cli_events
