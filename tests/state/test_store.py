"""The state store: applying runs, idempotence, continuing with newer snapshots, versions."""

import sqlite3

import pytest
from conftest import D0, apply, day, rows

from plays.runtime import store


def test_a_run_records_alerts_goals_and_tasks(store_path, plan):
    con, changed = apply(store_path, plan)
    assert changed["alerts"] == 2 and changed["goals"] == 3 and changed["tasks"] > 0
    alerts = store.list_alerts(con, include_resolved=True)
    assert [(a["account"], a["fired"], a["resolved"], a["status"]) for a in alerts] == [
        ("a1", day(0), day(2), "resolved"), ("a1", day(3), None, "open")]
    goals = {(g["goal"], g["account"]): g for g in store.list_goals(con)}
    assert goals[("g", "p1")]["status"] == "achieved" and goals[("g", "p1")]["kpi_met"] == day(2)
    assert goals[("g", "s1")]["status"] == "missed" and goals[("g", "s1")]["playbook"] == "b"
    assert goals[("ext", "p1")]["kind"] == "external"


def test_applying_the_same_snapshots_twice_changes_nothing(store_path, plan):
    con, _ = apply(store_path, plan)
    before = store.dump(con)
    con2, changed = apply(store_path, plan)
    assert not any(changed.values())
    assert store.dump(con2) == before


def test_newer_snapshots_continue_from_what_is_stored(store_path, plan):
    data = rows()
    early = [r for r in data if r["date"] <= D0.replace(day=6)]
    con, _ = apply(store_path, plan, early)
    g = {(x["goal"], x["account"]): x["status"] for x in store.list_goals(con)}
    assert g[("g", "p1")] == "active"  # not ended yet on Jan 6
    con, changed = apply(store_path, plan, data)  # the full history: windows still see the past
    # g ends for p1 (achieved) and s1 (missed); the external goal passes its due date (missed)
    assert changed["goals"] == 0 and changed["goals_ended"] == 3
    fresh = store.connect(str(store_path.with_name("fresh.db")))
    apply(store_path.with_name("fresh.db"), plan, data)
    assert store.dump(con) == store.dump(fresh)


def test_a_store_from_a_newer_plays_is_refused(store_path, plan):
    con, _ = apply(store_path, plan)
    con.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(store.StoreError, match="written by a newer plays"):
        store.connect(str(store_path))


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("this is not sqlite")
    with pytest.raises(store.StoreError, match="not a plays store"):
        store.connect(str(bad))


def test_migrations_start_from_an_empty_file_and_set_the_version(store_path):
    con = store.connect(str(store_path))
    assert con.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "plan", "accounts", "alerts", "goals", "tasks", "measures"} <= tables
    assert isinstance(con, sqlite3.Connection)
