"""Manual actions: goal deploy, goal measure, task done; happy paths and refusals."""

import json
from datetime import date

import pytest
from conftest import apply, day, rows

from types import SimpleNamespace

from plays.compiler.plan import Measure
from plays.state import actions, store
from plays.state.actions import ActionRefused


@pytest.fixture
def con(store_path, plan):
    return apply(store_path, plan)[0]


def task_id(con, account, task, rule=None):
    sql = "SELECT id FROM tasks WHERE account = ? AND task = ?" + (" AND rule = ?" if rule else "")
    return con.execute(sql, [account, task, *([rule] if rule else [])]).fetchone()[0]


def goal_row(con, gid):
    return dict(zip(("status", "kpi_met", "kpi_start", "playbook"), con.execute(
        "SELECT status, kpi_met, kpi_start, playbook FROM goals WHERE id = ?", [gid]).fetchone()))


# --- task done ------------------------------------------------------------------------------------


def t(name, due, after=(), due_days=0, done=None, recurring=False):
    return {"task": name, "after": list(after), "due_days": due_days, "due": date.fromisoformat(due),
            "done": date.fromisoformat(done) if done else None, "recurring": recurring}


def test_reschedule_follows_the_latest_actual_or_planned_completion():
    # LANGUAGE.md's enterprise onboarding: kickoff 5d; training +7d and integrations +14d after kickoff; go_live +7d
    # after both. Planned from Mar 1: kickoff Mar 6, training Mar 13, integrations Mar 20, go_live Mar 27.
    tasks = [t("kickoff", "2026-03-06", done="2026-03-09"), t("training", "2026-03-13", ["kickoff"], 7),
             t("integrations", "2026-03-20", ["kickoff"], 14), t("go_live", "2026-03-27", ["training", "integrations"], 7),
             t("check_in", "2026-03-31", recurring=True)]
    # kickoff 3 days late: training Mar 16, integrations Mar 23, go_live = max(16, 23) + 7 = Mar 30
    assert actions.reschedule(tasks) == {"training": date(2026, 3, 16), "integrations": date(2026, 3, 23),
                                         "go_live": date(2026, 3, 30)}
    # integrations then done early (Mar 17): go_live = max(training Mar 16, Mar 17) + 7 = Mar 24
    tasks[1]["due"], tasks[2]["due"], tasks[3]["due"] = date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30)
    tasks[2]["done"] = date(2026, 3, 17)
    assert actions.reschedule(tasks) == {"go_live": date(2026, 3, 24)}


def test_reschedule_keeps_the_due_date_of_a_task_already_done():
    tasks = [t("a", "2026-03-02", done="2026-03-10"), t("b", "2026-03-05", ["a"], 3, done="2026-03-04")]
    assert actions.reschedule(tasks) == {}


def test_task_done_reschedules_the_tasks_that_follow(con):
    # p1, playbook a: k due day 2, f after k due +3d: day 5. k done late on day 4 -> f due day 7
    changed = actions.complete_task(con, task_id(con, "p1", "k"), date(2026, 1, 5))
    assert changed == [("f", day(7))]
    f = [t for t in store.list_tasks(con, account="p1", as_of=date(2026, 1, 6)) if t["task"] == "f"][0]
    assert (f["planned_due"], f["due"], f["status"]) == (day(5), day(7), "open")
    k = [t for t in store.list_tasks(con, account="p1", as_of=date(2026, 1, 6)) if t["task"] == "k"][0]
    assert (k["due"], k["done"], k["status"]) == (day(2), day(4), "done")


def test_task_done_refusals(con):
    with pytest.raises(ActionRefused, match="no task `t-nope`"):
        actions.complete_task(con, "t-nope", date(2026, 1, 5))
    tid = task_id(con, "p1", "k")
    with pytest.raises(ActionRefused, match="before task .* was created"):
        actions.complete_task(con, tid, date(2025, 12, 1))
    actions.complete_task(con, tid, date(2026, 1, 3))
    before = store.dump(con)
    with pytest.raises(ActionRefused, match=r"already done \(on 2026-01-03\)"):
        actions.complete_task(con, tid, date(2026, 1, 4))
    assert store.dump(con) == before  # a refusal writes nothing


def test_a_rerun_keeps_completions_and_recomputed_due_dates(con, store_path, plan):
    actions.complete_task(con, task_id(con, "p1", "k"), date(2026, 1, 5))
    before = store.dump(con)
    con2, changed = apply(store_path, plan)
    assert not any(changed.values()) and store.dump(con2) == before


# --- goal deploy ----------------------------------------------------------------------------------


def test_plan_deployment_is_what_the_runtime_does_for_the_same_manual_deploy(plan):
    from plays.runtime.engine import ManualDeploy
    from plays.spectest.runner import evaluate_rows

    d = actions.plan_deployment(plan, "saver", "a1", {"name": "A1", "tier": "standard", "m": 6.0}, date(2026, 1, 3))
    assert (d.playbook, d.start, d.end, d.kpi_start) == ("default", date(2026, 1, 3), date(2026, 1, 23), 6.0)
    assert [(x.task, x.due, x.title, x.after) for x in d.tasks] == [
        ("d", date(2026, 1, 6), "Diagnose A1", ()), ("e", date(2026, 1, 10), "Exec", ("d",))]
    events = evaluate_rows(plan, rows(), [ManualDeploy("saver", "a1", date(2026, 1, 3), d.playbook)])
    deployed = [e for e in events if e["event"] == "goal_deployed" and e["goal"] == "saver"]
    created = [e for e in events if e["event"] == "task_created" and e.get("goal") == "saver"]
    assert [e["instance"] for e in deployed] == [d.id] and deployed[0]["values"]["m"] == d.kpi_start
    assert [(e["id"], e["due"], e["title"]) for e in created] == [(x.id, x.due.isoformat(), x.title) for x in d.tasks]


def test_plan_deployment_chooses_the_playbook_by_segment_unless_told(plan):
    on = date(2026, 2, 1)
    assert actions.plan_deployment(plan, "g", "x", {"tier": "premium", "m": 1.0}, on).playbook == "a"
    assert actions.plan_deployment(plan, "g", "x", {"tier": "standard", "m": 1.0}, on).playbook == "b"
    assert actions.plan_deployment(plan, "g", "x", {"tier": "standard"}, on, playbook="a").playbook == "a"


def test_plan_deployment_refusals(plan):
    on = date(2026, 2, 1)
    with pytest.raises(ActionRefused, match="no goal template `savr`; did you mean `saver`"):
        actions.plan_deployment(plan, "savr", "a1", {}, on)
    with pytest.raises(ActionRefused, match="`ext` is an external goal"):
        actions.plan_deployment(plan, "ext", "p1", {}, on)
    with pytest.raises(ActionRefused, match=r"`g` has no playbook `c` \(it has a, b\)"):
        actions.plan_deployment(plan, "g", "a1", {}, on, playbook="c")


def test_manual_deploy_records_the_instance_and_its_tasks(con):
    d = actions.deploy_goal(con, "saver", "a1", date(2026, 1, 5))
    assert d.playbook == "default" and d.end == date(2026, 1, 25)
    tasks = {t["task"]: t for t in store.list_tasks(con, account="a1", as_of=date(2026, 1, 5)) if t["rule"] == "saver"}
    assert (tasks["d"]["due"], tasks["e"]["due"], tasks["d"]["title"]) == ("2026-01-08", "2026-01-12", "Diagnose A1")
    g = goal_row(con, d.id)
    assert (g["status"], g["kpi_start"], g["playbook"]) == ("active", 3.0, "default")  # a1's latest m


def test_a_run_follows_a_manual_deploy_and_takes_the_kpi_start_at_the_deploy_snapshot(con, store_path, plan):
    d = actions.deploy_goal(con, "saver", "a1", date(2026, 1, 3))
    assert goal_row(con, d.id)["kpi_start"] == 3.0  # the latest stored snapshot (Jan 11) is all the action knows
    con2, changed = apply(store_path, plan)
    assert changed["goals"] == 0 and changed["tasks"] == 0  # recognised, not duplicated
    assert goal_row(con2, d.id)["kpi_start"] == 6.0  # m on Jan 3, which the runtime compares with
    again = store.dump(con2)
    assert not any(apply(store_path, plan)[1].values()) and store.dump(con2) == again


def test_manual_deploy_refusals(con):
    with pytest.raises(ActionRefused, match="no goal template `savr`; did you mean `saver`"):
        actions.deploy_goal(con, "savr", "a1", date(2026, 1, 5))
    with pytest.raises(ActionRefused, match="no account `a11` in this store.*did you mean `a1`"):
        actions.deploy_goal(con, "saver", "a11", date(2026, 1, 5))
    with pytest.raises(ActionRefused, match="has no playbook `nope`"):
        actions.deploy_goal(con, "g", "a1", date(2026, 1, 5), playbook="nope")
    # p1's `g` ran Jan 1 to Jan 11 (achieved): a deploy inside that period is refused, one at its end is not
    with pytest.raises(ActionRefused, match="already has an achieved `g` from 2026-01-01 to 2026-01-11"):
        actions.deploy_goal(con, "g", "p1", date(2026, 1, 5))
    actions.deploy_goal(con, "g", "p1", date(2026, 1, 11))
    actions.deploy_goal(con, "saver", "a1", date(2026, 1, 5))
    before = store.dump(con)
    with pytest.raises(ActionRefused, match="already has an active `saver`"):
        actions.deploy_goal(con, "saver", "a1", date(2026, 3, 1))
    assert store.dump(con) == before


def test_manual_deploy_needs_a_store_with_a_run(store_path):
    con = store.connect(str(store_path))
    with pytest.raises(ActionRefused, match="this store has no plan yet"):
        actions.deploy_goal(con, "saver", "a1", date(2026, 1, 5))


# --- external goals -------------------------------------------------------------------------------


def test_external_outcome_uses_the_last_value_on_or_before_due():
    g = SimpleNamespace(due=date(2026, 1, 9), measure=Measure("Handling time", "<=", 30))
    d = date.fromisoformat
    assert store.external_outcome(g, []) == ("missed", None)
    assert store.external_outcome(g, [(d("2026-01-03"), 40), (d("2026-01-05"), 29), (d("2026-01-08"), 30)]) == (
        "achieved", d("2026-01-05"))
    assert store.external_outcome(g, [(d("2026-01-03"), 20), (d("2026-01-08"), 31)]) == ("missed", None)
    assert store.external_outcome(g, [(d("2026-01-08"), 31), (d("2026-01-10"), 10)]) == ("missed", None)


def test_an_external_goal_without_measures_is_missed_at_its_due_date(con):
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    # the run's last snapshot (Jan 11) is past the due date (Jan 9) with nothing recorded
    assert goal_row(con, gid)["status"] == "missed"


def test_a_late_entry_settles_the_outcome_again(con):
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    out = actions.record_measure(con, gid, 25, date(2026, 1, 5))
    assert out["status"] == "achieved" and goal_row(con, gid)["kpi_met"] == "2026-01-05"


def test_external_goal_achieved_when_the_last_measure_meets_the_target(store_path, plan):
    early = [r for r in rows() if r["date"] <= date(2026, 1, 4)]
    con, _ = apply(store_path, plan, early)
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    assert actions.record_measure(con, gid, 40, date(2026, 1, 3))["status"] == "active"
    assert actions.record_measure(con, gid, 28, date(2026, 1, 9))["status"] == "achieved"  # recorded at due
    # a run over later snapshots keeps the outcome
    con, _ = apply(store_path, plan)
    assert goal_row(con, gid)["status"] == "achieved"


def test_a_run_reaching_the_due_date_settles_from_the_recorded_values(store_path, plan):
    early = [r for r in rows() if r["date"] <= date(2026, 1, 4)]
    con, _ = apply(store_path, plan, early)
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    actions.record_measure(con, gid, 12, date(2026, 1, 4))
    assert goal_row(con, gid)["status"] == "active"
    con, changed = apply(store_path, plan)
    assert goal_row(con, gid)["status"] == "achieved" and changed["goals_ended"] == 3


def test_measure_refusals(con):
    with pytest.raises(ActionRefused, match="no goal instance `g-nope`"):
        actions.record_measure(con, "g-nope", 1, date(2026, 1, 5))
    internal = con.execute("SELECT id FROM goals WHERE goal = 'g' LIMIT 1").fetchone()[0]
    with pytest.raises(ActionRefused, match="its KPI comes from the snapshots"):
        actions.record_measure(con, internal, 1, date(2026, 1, 5))
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    with pytest.raises(ActionRefused, match="before the goal's start"):
        actions.record_measure(con, gid, 1, date(2025, 1, 5))
    with pytest.raises(ActionRefused, match="after the goal's due date"):
        actions.record_measure(con, gid, 1, date(2026, 1, 10))
    with pytest.raises(ActionRefused, match="not a number"):
        actions.record_measure(con, gid, float("nan"), date(2026, 1, 5))
    assert con.execute("SELECT count(*) FROM measures").fetchone()[0] == 0


# --- the commands ---------------------------------------------------------------------------------


def test_cli_actions_happy_paths(run_cli, tmp_path, plan):
    con, _ = apply(tmp_path / "plays.db", plan)
    code, out, _ = run_cli("goal", "deploy", "saver", "--account", "a1", "--on", "2026-01-05")
    assert code == 0 and out.startswith("deployed saver on a1: id g-") and "due 2026-01-08  Diagnose A1" in out
    code, out, _ = run_cli("task", "done", task_id(con, "a1", "d", "saver"), "--on", "2026-01-10")
    assert code == 0 and out.splitlines()[1] == "  rescheduled e: due 2026-01-14"
    gid = con.execute("SELECT id FROM goals WHERE goal = 'ext'").fetchone()[0]
    code, out, _ = run_cli("goal", "measure", gid, "-5", "--on", "2026-01-08")  # a late entry, and negative
    assert code == 0 and out == "recorded -5 for ext on 2026-01-08: achieved\n"
    code, out, _ = run_cli("goal", "measure", gid, "30", "--on", "2026-01-09")
    assert code == 0 and out == "recorded 30 for ext on 2026-01-09: achieved\n"
    code, out, _ = run_cli("goals", "--format", "json")
    assert {(g["goal"], g["account"], g["status"]) for g in json.loads(out)} >= {("saver", "a1", "active"),
                                                                                ("ext", "p1", "achieved")}


def test_cli_lists_and_refusals_exit_codes(run_cli, tmp_path, plan):
    apply(tmp_path / "plays.db", plan)
    code, out, _ = run_cli("tasks", "--overdue", "--as-of", "2026-01-11", "--format", "json")
    assert code == 0 and {t["task"] for t in json.loads(out)} == {"w", "call", "base", "f", "k"}
    code, out, _ = run_cli("tasks", "--account", "p1", "--open", "--as-of", "2026-01-04", "--format", "json")
    assert code == 0 and {(t["task"], t["status"]) for t in json.loads(out)} == {("k", "overdue"), ("f", "open"),
                                                                                 ("base", "overdue")}
    code, out, _ = run_cli("alerts")
    assert code == 0 and out.splitlines()[-1] == "1 alert"
    code, _, err = run_cli("task", "done", "t-nope")
    assert code == 1 and err == "plays: refused: no task `t-nope` (see `plays tasks`)\n"
    code, _, err = run_cli("goal", "deploy", "nope", "--account", "a1")
    assert code == 1 and err.startswith("plays: refused: no goal template `nope`")
    code, _, err = run_cli("goal", "measure", "g-nope", "3")
    assert code == 1 and "no goal instance `g-nope`" in err
    code, _, err = run_cli("goal", "deploy", "saver", "--account", "a1", "--on", "2026-13-01")
    assert code == 2 and "not a date" in err
    code, _, err = run_cli("task", "done", "t-x", "--on", "yesterday")
    assert code == 2 and "not a date" in err
    code, _, err = run_cli("tasks", "--state", "missing.db")
    assert code == 2 and "no state store here" in err
