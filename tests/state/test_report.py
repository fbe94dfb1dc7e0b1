"""plays report: figures checked against hand-computed ones on the small fixture."""

import json
from datetime import date

from conftest import apply

from plays.state import actions
from plays.state.report import figures


def prepared(store_path, plan):
    con, _ = apply(store_path, plan)
    tid = lambda acc, task: con.execute("SELECT id FROM tasks WHERE account = ? AND task = ?", [acc, task]).fetchone()[0]  # noqa: E731
    actions.complete_task(con, tid("p1", "k"), date(2026, 1, 3))  # due Jan 3: on time
    actions.complete_task(con, tid("p1", "f"), date(2026, 1, 8))  # due Jan 6 (Jan 3 + 3d): late
    return con


def test_goal_and_alert_figures_match_the_hand_computed_ones(store_path, plan):
    con = prepared(store_path, plan)
    goals, alerts = figures(con, date(2026, 1, 11))
    rows = {(g.goal, g.playbook): g for g in goals}
    a = rows[("g", "a")]  # p1: deployed Jan 1, KPI met Jan 3 (2 days), achieved Jan 11; k on time, f late
    assert (a.deployed, a.active, a.achieved, a.missed) == (1, 0, 1, 0)
    assert (a.achievement_rate, a.median_days_to_kpi, a.task_on_time_rate, a.overdue_tasks) == (1.0, 2.0, 0.5, 0)
    b = rows[("g", "b")]  # s1: missed; w due Jan 2, still open on Jan 11: overdue
    assert (b.deployed, b.achieved, b.missed, b.achievement_rate, b.median_days_to_kpi) == (1, 0, 1, 0.0, None)
    assert (b.task_on_time_rate, b.overdue_tasks) == (0.0, 1)
    total = rows[("g", "(all)")]  # both playbooks: 1 of 2 ended achieved; k on time of k, f (late), w (overdue)
    assert (total.deployed, total.achieved, total.missed, total.achievement_rate) == (2, 1, 1, 0.5)
    assert (total.median_days_to_kpi, total.task_on_time_rate, total.overdue_tasks) == (2.0, 0.3333, 1)
    assert ("saver", "(all)") not in rows and ("ext", "(all)") not in rows  # one playbook: no total row
    ext = rows[("ext", "default")]  # no measure by its due date: missed; its baseline task is overdue
    assert (ext.missed, ext.overdue_tasks) == (1, 1)
    [low] = alerts  # a1: fired Jan 1, resolved Jan 3 (2 days); fired again Jan 4, open
    assert (low.alert, low.fired, low.open, low.resolved, low.median_days_open) == ("low", 2, 1, 1, 2.0)


def test_report_formats(run_cli, tmp_path, plan):
    prepared(tmp_path / "plays.db", plan)
    code, out, _ = run_cli("report", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["as_of"] == "2026-01-11"
    assert {(g["goal"], g["playbook"], g["achieved"]) for g in doc["goals"]} >= {("g", "a", 1), ("g", "b", 0)}
    code, out, _ = run_cli("report", "--format", "csv")
    lines = out.splitlines()
    assert lines[0].startswith("section,goal,playbook,deployed") and "goal,g,a,1,0,1,0,1.0,2.0,0.5,0" in lines
    code, out, _ = run_cli("report")
    assert "Goals (as of 2026-01-11)" in out and "low" in out
    code, _, err = run_cli("report", "--html", "r.html")
    html = (tmp_path / "r.html").read_text()
    assert code == 0 and "<svg" in html and "http" not in html.replace("http-equiv", "")  # self-contained


def test_overdue_is_judged_on_the_as_of_date(store_path, plan):
    con = prepared(store_path, plan)
    b = {(g.goal, g.playbook): g for g in figures(con, date(2026, 1, 2))[0]}[("g", "b")]
    assert (b.overdue_tasks, b.task_on_time_rate) == (0, None)  # w is due Jan 2: not late yet, nothing judged


def test_medians_of_even_and_empty_sets(store_path, plan):
    from plays.state import store

    con, _ = apply(store_path, plan)
    fired = [("x1", "2026-01-01", "2026-01-06"), ("x2", "2026-01-02", "2026-01-04"), ("x3", "2026-01-05", None)]
    events = []
    for acc, f, r in fired:
        events.append({"event": "alert_fired", "date": f, "account": acc, "alert": "other", "severity": "low",
                       "instance": f"a-{acc}"})
        if r:
            events.append({"event": "alert_resolved", "date": r, "account": acc, "alert": "other", "severity": "low"})
    store.apply_run(con, plan, events, {}, None)
    other = {a.alert: a for a in figures(con, date(2026, 1, 11))[1]}["other"]
    assert (other.fired, other.open, other.resolved, other.median_days_open) == (3, 1, 2, 3.5)  # days 5 and 2
    empty = figures(store.connect(str(store_path.with_name("empty.db"))), date(2026, 1, 11))
    assert empty == ([], [])  # a store without a run has no plan: nothing to list


def test_empty_figures_show_a_dash_in_text_null_in_json_and_nothing_in_csv(run_cli, tmp_path, plan):
    apply(tmp_path / "plays.db", plan)
    _, out, _ = run_cli("report", "--as-of", "2026-01-11")
    line = next(x for x in out.splitlines() if x.startswith("saver"))  # in the plan, never deployed
    assert line.split() == ["saver", "default", "0", "0", "0", "0", "-", "-", "-", "0"]
    _, out, _ = run_cli("report", "--format", "json", "--as-of", "2026-01-11")
    saver = next(g for g in json.loads(out)["goals"] if g["goal"] == "saver")
    assert (saver["achievement_rate"], saver["median_days_to_kpi"], saver["task_on_time_rate"]) == (None, None, None)
    _, out, _ = run_cli("report", "--format", "csv", "--as-of", "2026-01-11")
    assert "goal,saver,default,0,0,0,0,,,,0" in out.splitlines()
