"""The state store: applying runs, idempotence, continuing with newer snapshots, versions."""

import sqlite3

import pytest
from conftest import D0, apply, day, rows

from plays.state import store


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


def test_a_store_migrates_step_by_step_and_keeps_its_rows(store_path, plan, monkeypatch):
    con, _ = apply(store_path, plan)
    before = store.dump(con)
    con.close()
    step = "ALTER TABLE tasks ADD COLUMN note TEXT; UPDATE tasks SET note = 'migrated'"
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, step])
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    con = store.connect(str(store_path))
    assert con.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    assert {n for (n,) in con.execute("SELECT DISTINCT note FROM tasks")} == {"migrated"}
    assert store.dump(con)["goals"] == before["goals"]


def test_a_failed_migration_changes_nothing(store_path, plan, monkeypatch):
    con, _ = apply(store_path, plan)
    before = store.dump(con)
    con.close()
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, "ALTER TABLE tasks ADD COLUMN x; SELECT * FROM nope"])
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    with pytest.raises(store.StoreError, match="cannot bring the store to version"):
        store.connect(str(store_path))
    raw = sqlite3.connect(str(store_path))
    assert raw.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION - 1
    assert "x" not in [c[1] for c in raw.execute("PRAGMA table_info(tasks)")]
    monkeypatch.undo()
    assert store.dump(store.connect(str(store_path))) == before


def test_another_programs_database_is_refused(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(str(other)).execute("CREATE TABLE t (x)")
    with pytest.raises(store.StoreError, match="an SQLite database of something else"):
        store.connect(str(other))


def test_events_applied_in_two_batches_end_like_one(store_path, plan):
    from plays.spectest.runner import evaluate_rows

    events = evaluate_rows(plan, rows())
    cut = next(i for i, e in enumerate(events) if e["date"] > day(4))
    whole = store.connect(str(store_path.with_name("whole.db")))
    store.apply_run(whole, plan, events, {}, None)
    halves = store.connect(str(store_path))
    first = store.apply_run(halves, plan, events[:cut], {}, None)
    second = store.apply_run(halves, plan, events, {}, None)  # the second run sees the whole history again
    assert first["alerts"] == 2 and second["alerts"] == 0 and second["alerts_resolved"] == 0
    assert store.dump(halves) == store.dump(whole)


def test_a_resolution_closes_the_latest_open_firing_of_that_alert_and_account(store_path, plan):
    con = store.connect(str(store_path))
    fired = {"event": "alert_fired", "account": "x", "alert": "low", "severity": "low"}
    store.apply_run(con, plan, [{**fired, "date": day(0), "instance": "a-1"}, {**fired, "date": day(0), "account": "y",
                                                                              "instance": "a-2"}], {}, None)
    store.apply_run(con, plan, [{"event": "alert_resolved", "date": day(3), "account": "x", "alert": "low"}], {}, None)
    status = {a["id"]: (a["status"], a["resolved"]) for a in store.list_alerts(con, include_resolved=True)}
    assert status == {"a-1": ("resolved", day(3)), "a-2": ("open", None)}


def test_progress_is_reported_inside_the_transaction(store_path, plan):
    con = store.connect(str(store_path))
    seen = []
    events = [{"event": "alert_fired", "date": day(0), "account": f"x{i}", "alert": "low", "instance": f"a-{i}"}
              for i in range(2500)]
    store.apply_run(con, plan, events, {}, None, progress=lambda n: seen.append((n, con.in_transaction)))
    assert seen == [(1000, True), (2000, True)]


def test_plays_run_state_twice_says_no_change(run_cli):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    args = ("run", str(root / "specs"), "-s", str(root / "examples" / "snapshots.csv"), "--state", "plays.db",
            "-o", "events.txt")
    code, _, err = run_cli(*args)
    assert code == 0 and "+" in err and "tasks" in err
    code, _, err = run_cli(*args)
    assert code == 0 and err.endswith("plays.db: no change\n")


def test_a_command_waiting_past_the_timeout_says_the_store_is_busy(run_cli, tmp_path, plan, monkeypatch):
    apply(tmp_path / "plays.db", plan)
    holder = sqlite3.connect(str(tmp_path / "plays.db"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)
    try:
        code, _, err = run_cli("task", "done", "t-anything")
    finally:
        holder.execute("ROLLBACK")
    assert code == 2 and "another plays command is writing to this store; tried for 0.2 s" in err
    assert "Traceback" not in err
