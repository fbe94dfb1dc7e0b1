"""plays report: figures checked against hand-computed ones on the small fixture."""

import json
from datetime import date

from conftest import apply

from plays.runtime import actions
from plays.runtime.report import figures


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
