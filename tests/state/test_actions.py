"""Manual actions: goal deploy, goal measure, task done; happy paths and refusals."""

from datetime import date

import pytest
from conftest import apply, day

from plays.runtime import store
from plays.runtime.store import ActionRefused


@pytest.fixture
def con(store_path, plan):
    return apply(store_path, plan)[0]


def task_id(con, account, task):
    return con.execute("SELECT id FROM tasks WHERE account = ? AND task = ?", [account, task]).fetchone()[0]


def test_task_done_reschedules_the_tasks_that_follow(con):
    # p1, playbook a: k due day 2, f after k due +3d: day 5. k done late on day 4 -> f due day 7
    changed = store.complete_task(con, task_id(con, "p1", "k"), date(2026, 1, 5))
    assert changed == [("f", day(7))]
    f = [t for t in store.list_tasks(con, account="p1", as_of=date(2026, 1, 6)) if t["task"] == "f"][0]
    assert (f["planned_due"], f["due"], f["status"]) == (day(5), day(7), "open")


def test_task_done_refusals(con):
    with pytest.raises(ActionRefused, match="no task `t-nope`"):
        store.complete_task(con, "t-nope", date(2026, 1, 5))
    tid = task_id(con, "p1", "k")
    with pytest.raises(ActionRefused, match="before the task was created"):
        store.complete_task(con, tid, date(2025, 12, 1))
    store.complete_task(con, tid, date(2026, 1, 3))
    with pytest.raises(ActionRefused, match="already done"):
        store.complete_task(con, tid, date(2026, 1, 4))


def test_manual_deploy_chooses_the_playbook_and_schedules_tasks(con, store_path, plan):
    out = store.deploy_goal(con, "saver", "a1", date(2026, 1, 5))
    assert out["playbook"] == "default" and out["end"] == "2026-01-25"
    tasks = {t["task"]: t for t in store.list_tasks(con, account="a1", as_of=date(2026, 1, 5)) if t["rule"] == "saver"}
    assert tasks["d"]["due"] == "2026-01-08" and tasks["e"]["due"] == "2026-01-12"
    assert tasks["d"]["title"] == "Diagnose A1"
    kpi_start = con.execute("SELECT kpi_start FROM goals WHERE id = ?", [out["id"]]).fetchone()[0]
    assert kpi_start == 3.0  # a1's latest m
    # a later run follows the manual instance without duplicating it
    con2, changed = apply(store_path, plan)
    assert changed["goals"] == 0 and changed["tasks"] == 0


def test_manual_deploy_refusals(con):
    with pytest.raises(ActionRefused, match="no goal template `savr`; did you mean `saver`"):
        store.deploy_goal(con, "savr", "a1", date(2026, 1, 5))
    with pytest.raises(ActionRefused, match="no account `zz`"):
        store.deploy_goal(con, "saver", "zz", date(2026, 1, 5))
    with pytest.raises(ActionRefused, match="has no playbook `nope`"):
        store.deploy_goal(con, "g", "a1", date(2026, 1, 5), playbook="nope")
    store.deploy_goal(con, "saver", "a1", date(2026, 1, 5))
    with pytest.raises(ActionRefused, match="already has an active `saver`"):
        store.deploy_goal(con, "saver", "a1", date(2026, 1, 6))


def test_external_goal_measure_and_outcome_at_due(con):
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    # the run's last snapshot (Jan 11) is past the due date (Jan 9) with no measure: missed
    assert con.execute("SELECT status FROM goals WHERE id = ?", [gid]).fetchone()[0] == "missed"
    with pytest.raises(ActionRefused, match="already missed"):
        store.record_measure(con, gid, 25, date(2026, 1, 5))


def test_external_goal_achieved_when_the_last_measure_meets_the_target(store_path, plan):
    from conftest import rows

    early = [r for r in rows() if r["date"] <= date(2026, 1, 4)]
    con, _ = apply(store_path, plan, early)
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    assert store.record_measure(con, gid, 40, date(2026, 1, 3))["status"] == "active"
    assert store.record_measure(con, gid, 28, date(2026, 1, 9))["status"] == "achieved"


def test_measure_refusals(con):
    with pytest.raises(ActionRefused, match="no goal instance"):
        store.record_measure(con, "g-nope", 1, date(2026, 1, 5))
    internal = con.execute("SELECT id FROM goals WHERE goal = 'g' LIMIT 1").fetchone()[0]
    with pytest.raises(ActionRefused, match="its KPI comes from the snapshots"):
        store.record_measure(con, internal, 1, date(2026, 1, 5))
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    with pytest.raises(ActionRefused, match="before the goal's start"):
        store.record_measure(con, gid, 1, date(2025, 1, 5))


def test_cli_lists_and_refusals_exit_codes(run_cli, store_path, plan, tmp_path):
    import json

    apply(tmp_path / "plays.db", plan)
    code, out, _ = run_cli("tasks", "--overdue", "--as-of", "2026-01-11", "--format", "json")
    assert code == 0 and {t["task"] for t in json.loads(out)} >= {"w", "call"}
    code, out, _ = run_cli("alerts")
    assert code == 0 and out.splitlines()[-1] == "1 alert"
    code, _, err = run_cli("task", "done", "t-nope")
    assert code == 1 and err == "plays: refused: no task `t-nope` (see `plays tasks`)\n"
    code, _, err = run_cli("goal", "deploy", "saver", "--account", "a1", "--on", "2026-13-01")
    assert code == 2 and "not a date" in err
    code, _, err = run_cli("tasks", "--state", "missing.db")
    assert code == 2 and "no state store here" in err
