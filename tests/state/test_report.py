"""plays report: every figure checked against hand-computed ones on the small fixture (tests/state/conftest.py).

The fixture, once ``prepared``: accounts p1 (premium), s1 and a1 (standard), data Jan 1..11 2026.

  G1  g/a    p1  start Jan 1, KPI met Jan 3 (2 days), achieved Jan 11; tasks k (due Jan 3, done Jan 3: on
                 time) and f (due Jan 6, done Jan 8: late)
  G2  g/b    s1  start Jan 1, missed Jan 11; task w (due Jan 2, open)
  G3  ext    p1  start Jan 2, due Jan 9, no measure recorded: awaiting measure; task base (due Jan 3, open)
  A1  low    a1  fired Jan 1, resolved Jan 3; task call (due Jan 2, open)
  A2  low    a1  fired Jan 4, open; task call (due Jan 5, open)

With --as-of 2026-01-11 --period 7d: the current period is Jan 5..11, the previous Dec 29..Jan 4 (stock
figures read on Jan 4).
"""

import csv
import io
import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import apply
from hypothesis import given, settings
from hypothesis import strategies as st

from plays.state import actions
from plays.state.report import ReportError, build, render_csv, render_text

GOLDEN = Path(__file__).parent / "golden"
AS_OF = date(2026, 1, 11)


def prepared(store_path, plan):
    con, _ = apply(store_path, plan)
    actions.complete_task(con, task_id(con, "p1", "k"), date(2026, 1, 3))  # due Jan 3: on time
    actions.complete_task(con, task_id(con, "p1", "f"), date(2026, 1, 8))  # due Jan 6 (Jan 3 + 3d): late
    return con


def task_id(con, account, task):
    return con.execute("SELECT id FROM tasks WHERE account = ? AND task = ?", [account, task]).fetchone()[0]


def goal_id(con, goal):
    return con.execute("SELECT id FROM goals WHERE goal = ?", [goal]).fetchone()[0]


def report(con, **kw):
    kw.setdefault("as_of", AS_OF)
    kw.setdefault("period_days", 7)
    return build(con, **kw).to_json()


def rows(r, dimension):
    return {row["key"]: row for b in r["breakdowns"] if b["dimension"] == dimension for row in b["rows"]}


def pick(d, *keys):
    return tuple(d[k] for k in keys)


GOAL_FIGURES = ("goals", "active", "awaiting_measure", "achieved", "missed", "achievement_rate",
                "achievement_rate_previous", "median_days_to_kpi")
TASK_FIGURES = ("tasks_open", "tasks_overdue", "task_on_time_rate", "task_on_time_rate_previous")


def test_the_periods(store_path, plan):
    r = report(prepared(store_path, plan))
    assert pick(r, "as_of", "period_days", "period_start", "previous_start", "previous_end") == (
        "2026-01-11", 7, "2026-01-05", "2025-12-29", "2026-01-04")
    assert r["by"] == ["tier"]  # the catalog's enum `tier` looks like a segment; `name` does not


def test_every_overview_figure(store_path, plan):
    o = report(prepared(store_path, plan))["overview"]
    figure = {k: (f["value"], f["previous"]) for k, f in o.items()}
    assert figure == {
        "goals_active": (0, 3),  # on Jan 4 G1, G2 and G3 were running
        "goals_awaiting_measure": (1, 0),  # G3 from its due date, Jan 9
        "goals_achieved": (1, 0),  # G1 on Jan 11
        "goals_missed": (1, 0),  # G2 on Jan 11 (G3 is awaiting its measure, not missed)
        "achievement_rate": (0.5, None),
        "median_days_to_kpi": (None, 2.0),  # G1's KPI was met on Jan 3, in the previous period
        # due Jan 5..11: f (late) and A2's call (past due) -> 0 of 2; due Dec 29..Jan 4: k on time of k, w,
        # base and A1's call -> 1 of 4
        "task_on_time_rate": (0.0, 0.25),
        "tasks_open": (4, 5),  # now w, base and both calls; on Jan 4 also f (done Jan 8)
        "tasks_overdue": (4, 3),  # on Jan 4: w, base, A1's call (f due Jan 6 and A2's call due Jan 5 were not)
        "alerts_open": (1, 1),  # A2 (A1 was resolved on Jan 3)
        "alerts_open_median_age_days": (7.0, 0.0),  # A2 fired Jan 4
    }
    assert o["achievement_rate"]["previous_state"] == "no goal ended in the period"
    assert o["median_days_to_kpi"]["state"] == "no KPI met in the period"
    assert all(f["state"] is None for k, f in o.items() if f["value"] is not None)


def test_breakdown_rows_by_template_playbook_attribute_and_owner(store_path, plan):
    r = report(prepared(store_path, plan))
    g = rows(r, "template")["g"]  # G1 achieved, G2 missed; tasks k, f, w
    assert pick(g, *GOAL_FIGURES) == (2, 0, 0, 1, 1, 0.5, None, None)
    assert pick(g, *TASK_FIGURES) == (1, 1, 0.0, 0.5)  # now f late; before: k on time, w past due
    assert g["filter"] == {"template": "g"}
    ext = rows(r, "template")["ext"]  # awaiting measure is neither achieved nor missed
    assert pick(ext, *GOAL_FIGURES) == (1, 0, 1, 0, 0, None, None, None)
    assert pick(ext, *TASK_FIGURES) == (1, 1, None, None)
    assert ext["states"]["task_on_time_rate"] == "no tasks completed yet"
    assert ext["states"]["achievement_rate"] == "no goal ended in the period"
    saver = rows(r, "template")["saver"]  # in the plan, never deployed: a row of zeros
    assert pick(saver, *GOAL_FIGURES, *TASK_FIGURES) == (0, 0, 0, 0, 0, None, None, None, 0, 0, None, None)

    books = rows(r, "playbook")
    assert set(books) == {"g/a", "g/b", "ext/default", "saver/default"}
    assert pick(books["g/a"], *GOAL_FIGURES, *TASK_FIGURES) == (1, 0, 0, 1, 0, 1.0, None, None, 0, 0, 0.0, 1.0)
    assert books["g/a"]["filter"] == {"template": "g", "playbook": "a"}
    assert pick(books["g/b"], "missed", "achievement_rate", "tasks_overdue", "task_on_time_rate") == (1, 0.0, 1, None)
    assert books["g/b"]["states"]["task_on_time_rate"] == "no tasks completed yet"

    tier = rows(r, "tier")  # p1 premium (G1, G3; k, f, base), s1 and a1 standard (G2; w and both calls)
    assert list(tier) == ["premium", "standard"]
    assert pick(tier["premium"], *GOAL_FIGURES, *TASK_FIGURES) == (2, 0, 1, 1, 0, 1.0, None, None, 1, 1, 0.0, 0.5)
    assert pick(tier["standard"], *GOAL_FIGURES, *TASK_FIGURES) == (1, 0, 0, 0, 1, 0.0, None, None, 3, 3, None, None)
    assert tier["standard"]["filter"] == {"attributes.tier": "standard"}

    [owner] = [b for b in r["breakdowns"] if b["kind"] == "task_owner"]
    assert [x["key"] for x in owner["rows"]] == ["csm"]  # every task of the fixture is the CSM's
    csm = owner["rows"][0]
    assert pick(csm, *GOAL_FIGURES, *TASK_FIGURES) == (3, 0, 1, 1, 1, 0.5, None, None, 4, 4, 0.0, 0.25)
    assert csm["filter"] == {"task_owners": "csm"}


def test_breakdown_goals_add_up(store_path, plan):
    r = report(prepared(store_path, plan))
    for b in r["breakdowns"]:
        for row in b["rows"]:
            assert row["goals"] == row["active"] + row["awaiting_measure"] + row["achieved"] + row["missed"]


def test_cohorts(store_path, plan):
    cohorts = {(c["template"], c["month"]): c for c in report(prepared(store_path, plan))["cohorts"]}
    assert set(cohorts) == {("g", "2026-01"), ("ext", "2026-01")}  # saver never started: no cohort
    g = cohorts[("g", "2026-01")]
    assert pick(g, "deployed", "active", "awaiting_measure", "achieved", "missed", "achievement_rate",
                "median_days_to_kpi") == (2, 0, 0, 1, 1, 0.5, 2.0)
    ext = cohorts[("ext", "2026-01")]
    assert pick(ext, "deployed", "awaiting_measure", "achievement_rate", "median_days_to_kpi") == (1, 1, None, None)
    assert ext["states"] == {"achievement_rate": "no goal has ended yet", "median_days_to_kpi": "no KPI met yet"}


def test_cohorts_cover_every_month_to_the_as_of_date(store_path, plan):
    cohorts = report(prepared(store_path, plan), as_of=date(2026, 3, 2))["cohorts"]
    assert [(c["template"], c["month"], c["deployed"]) for c in cohorts] == [
        ("ext", "2026-01", 1), ("ext", "2026-02", 0), ("ext", "2026-03", 0),
        ("g", "2026-01", 2), ("g", "2026-02", 0), ("g", "2026-03", 0)]


def test_alert_rules_and_weeks(store_path, plan):
    alerts = report(prepared(store_path, plan))["alerts"]
    [low] = alerts["rules"]
    assert pick(low, "rule", "fired", "fired_previous", "open", "resolved", "median_days_to_resolve",
                "median_open_age_days") == ("low", 0, 2, 1, 0, None, 7.0)
    assert low["states"] == {"median_days_to_resolve": "no alert resolved in the period"}
    # week of Mon Dec 29: A1 and A2 fired, A1 resolved: 1 open on Sunday Jan 4; week of Jan 5: none fired, 1 open
    assert alerts["weekly"] == [{"rule": "low", "week": "2025-12-29", "fired": 2, "open": 1},
                                {"rule": "low", "week": "2026-01-05", "fired": 0, "open": 1}]
    [low] = report(prepared(store_path.with_name("other.db"), plan), period_days=30)["alerts"]["rules"]
    assert pick(low, "fired", "resolved", "median_days_to_resolve") == (2, 1, 2.0)  # A1: Jan 1 to Jan 3


def test_the_drill_down_rows(store_path, plan):
    con = prepared(store_path, plan)
    instances = report(con)["instances"]
    assert [(i["kind"], i.get("template") or i.get("rule"), i["account"], i["status"] if i["kind"] == "goal"
             else i["age_days"]) for i in instances] == [
        ("goal", "g", "p1", "achieved"), ("goal", "g", "s1", "missed"), ("goal", "ext", "p1", "awaiting measure"),
        ("alert", "low", "a1", 7)]
    g1 = instances[0]
    assert pick(g1, "id", "playbook", "attributes", "task_owners", "deployed", "end", "ended", "kpi_met") == (
        goal_id(con, "g"), "a", {"tier": "premium"}, ["csm"], "2026-01-01", "2026-01-11", "2026-01-11", "2026-01-03")
    assert g1["tasks"] == [  # by due date
        {"task": "k", "owner": "csm", "due": "2026-01-03", "done": "2026-01-03", "state": "done"},
        {"task": "f", "owner": "csm", "due": "2026-01-06", "done": "2026-01-08", "state": "late"}]
    assert instances[3]["tasks"] == [{"task": "call", "owner": "csm", "due": "2026-01-05", "done": None,
                                      "state": "overdue"}]


def test_a_dry_run_store_says_no_tasks_completed_yet_not_0_percent(store_path, plan):
    con, _ = apply(store_path, plan)  # nothing marked done
    r = report(con)
    assert r["overview"]["task_on_time_rate"] == {"value": None, "previous": None, "state": "no tasks completed yet",
                                                  "previous_state": "no tasks completed yet"}
    assert all(row["task_on_time_rate"] is None and row["states"]["task_on_time_rate"] == "no tasks completed yet"
               for b in r["breakdowns"] for row in b["rows"])


def test_no_task_due_in_the_period_is_said_so(store_path, plan):
    o = report(prepared(store_path, plan), period_days=4)["overview"]  # Jan 8..11: nothing is due
    assert (o["task_on_time_rate"]["value"], o["task_on_time_rate"]["state"]) == (None, "no task due in the period")


def test_an_external_goal_measured_in_time_is_achieved(store_path, plan):
    con = prepared(store_path, plan)
    actions.record_measure(con, goal_id(con, "ext"), 25, date(2026, 1, 8), str(store_path))  # target <= 30
    r = report(con)
    ext = rows(r, "template")["ext"]
    assert pick(ext, "awaiting_measure", "achieved", "achievement_rate", "median_days_to_kpi") == (0, 1, 1.0, 6.0)
    assert r["overview"]["median_days_to_kpi"]["value"] == 6.0  # Jan 2 to Jan 8
    assert r["overview"]["goals_awaiting_measure"]["value"] == 0


def test_the_store_is_read_at_the_as_of_date(store_path, plan):
    r = report(prepared(store_path, plan), as_of=date(2026, 1, 6), period_days=3)  # Jan 4..6; before Jan 1..3
    o = {k: (f["value"], f["previous"]) for k, f in r["overview"].items()}
    assert o["goals_active"] == (3, 3)  # G1 and G2 end on Jan 11, G3 is due Jan 9
    assert o["goals_achieved"] == (0, 0) and o["median_days_to_kpi"] == (None, 2.0)
    assert o["alerts_open"] == (1, 0)  # A2 since Jan 4; A1 resolved on Jan 3
    # f is done on Jan 8: open and not yet judged on Jan 6 (due that day)
    assert o["tasks_open"] == (5, 4) and o["tasks_overdue"] == (4, 2)
    g1 = r["instances"][0]
    assert (g1["status"], g1["ended"], g1["tasks"][1]["state"]) == ("active", None, "open")


def test_overdue_is_judged_on_the_as_of_date(store_path, plan):
    b = rows(report(prepared(store_path, plan), as_of=date(2026, 1, 2), period_days=2), "playbook")["g/b"]
    assert (b["tasks_overdue"], b["tasks_open"]) == (0, 1)  # w is due Jan 2: not late yet


def test_by_attributes_and_their_values(store_path, plan):
    con = prepared(store_path, plan)
    r = report(con, by=["name", "tier", "name"])  # each once, in the order given
    assert r["by"] == ["name", "tier"]
    assert list(rows(r, "name")) == ["A1", "P1", "S1"]
    assert rows(r, "name")["A1"]["tasks_open"] == 2
    con.execute("UPDATE accounts SET row_json = json_remove(row_json, '$.tier') WHERE account = 'a1'")
    tier = rows(report(con), "tier")  # a1 has no tier now: its tasks are under (none), last
    assert list(tier) == ["premium", "standard", "(none)"]
    assert (tier["(none)"]["tasks_open"], tier["(none)"]["filter"]) == (2, {"attributes.tier": None})
    assert report(con, by=[])["by"] == [] and [b["kind"] for b in report(con, by=[])["breakdowns"]] == [
        "template", "playbook", "task_owner"]


def test_an_unknown_by_attribute_is_one_line_with_a_suggestion(run_cli, tmp_path, plan):
    prepared(tmp_path / "plays.db", plan)
    code, out, err = run_cli("report", "--by", "teir")
    assert (code, out) == (2, "")
    assert err == ("plays: error: --by: no account attribute `teir` in the catalog (did you mean `tier`?); "
                   "attributes: name, tier\n")
    code, _, err = run_cli("report", "--by", "playbook")
    assert code == 2 and err.count("\n") == 1 and "always reported" in err
    with pytest.raises(ReportError):
        build(prepared(tmp_path / "b.db", plan), as_of=AS_OF, by=["nope"])


@pytest.mark.parametrize("period, message", [
    ("30", "`30` is not a period like 30d or 13w"), ("0d", "0d is out of range: from 1d to 3660d"),
    ("99999w", "99999w is out of range"), ("2m", "`2m` is not a period"),
])
def test_a_bad_period_is_one_line_exit_2(run_cli, tmp_path, plan, period, message):
    prepared(tmp_path / "plays.db", plan)
    code, out, err = run_cli("report", "--period", period)
    assert (code, out) == (2, "") and err.count("\n") == 1 and message in err


def test_weeks_are_a_period_too(run_cli, tmp_path, plan):
    prepared(tmp_path / "plays.db", plan)
    _, out, _ = run_cli("report", "--format", "json", "--period", "1w")
    assert json.loads(out)["period_start"] == "2026-01-05"


def test_medians_of_even_and_empty_sets(store_path, plan):
    from plays.state import store

    con, _ = apply(store_path, plan)
    fired = [("x1", "2026-01-01", "2026-01-06"), ("x2", "2026-01-02", "2026-01-04"), ("x3", "2026-01-05", None),
             ("x4", "2026-01-08", None)]
    events = []
    for acc, f, r in fired:
        events.append({"event": "alert_fired", "date": f, "account": acc, "alert": "other", "severity": "low",
                       "instance": f"a-{acc}"})
        if r:
            events.append({"event": "alert_resolved", "date": r, "account": acc, "alert": "other", "severity": "low"})
    store.apply_run(con, plan, events, {}, None)
    other = {a["rule"]: a for a in report(con, period_days=30)["alerts"]["rules"]}["other"]
    # resolved after 5 and 2 days: 3.5; open for 6 and 3 days on Jan 11: 4.5
    assert pick(other, "fired", "open", "resolved", "median_days_to_resolve", "median_open_age_days") == (
        4, 2, 2, 3.5, 4.5)
    empty = build(store.connect(str(store_path.with_name("empty.db"))), as_of=AS_OF).to_json()
    assert (empty["breakdowns"][0]["rows"], empty["cohorts"], empty["alerts"], empty["instances"]) == (
        [], [], {"rules": [], "weekly": []}, [])  # a store without a run has no plan: nothing to list
    assert empty["overview"]["goals_active"] == {"value": 0, "previous": 0, "state": None, "previous_state": None}


# --- the formats -------------------------------------------------------------------------------------------------


def golden(name: str, text: str) -> None:
    """Compare with tests/state/golden/NAME; PLAYS_UPDATE_GOLDENS=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("PLAYS_UPDATE_GOLDENS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def test_text_output_is_the_golden_one(run_cli, tmp_path, plan):
    prepared(tmp_path / "plays.db", plan)
    code, out, err = run_cli("report", "--period", "7d")
    assert (code, err) == (0, "")
    golden("report.txt", out)


def test_csv_output_is_the_golden_one_and_carries_the_json_figures(run_cli, tmp_path, plan):
    prepared(tmp_path / "plays.db", plan)
    code, out, _ = run_cli("report", "--format", "csv", "--period", "7d")
    assert code == 0
    golden("report.csv", out)
    table = list(csv.DictReader(io.StringIO(out)))
    assert list(table[0]) == ["section", "dimension", "key", "date", "metric", "value", "state"]
    find = {(r["section"], r["dimension"], r["key"], r["date"], r["metric"]): (r["value"], r["state"]) for r in table}
    assert find[("overview", "", "", "", "achievement_rate")] == ("0.5", "")
    assert find[("overview", "", "", "", "tasks_overdue_previous")] == ("3", "")
    assert find[("breakdown", "tier", "standard", "", "task_on_time_rate")] == ("", "no tasks completed yet")
    assert find[("cohort", "template", "g", "2026-01", "median_days_to_kpi")] == ("2.0", "")
    assert find[("alert_week", "rule", "low", "2025-12-29", "open")] == ("1", "")
    _, out, _ = run_cli("report", "--format", "json", "--period", "7d")
    r = json.loads(out)
    assert len(table) == (2 * len(r["overview"]) + 12 * sum(len(b["rows"]) for b in r["breakdowns"])
                          + 7 * len(r["cohorts"]) + 6 * len(r["alerts"]["rules"]) + 2 * len(r["alerts"]["weekly"]))


def test_text_and_csv_render_the_json_dict(store_path, plan):
    r = report(prepared(store_path, plan))
    assert "task on-time rate                0%       25%  -25 pts" in render_text(r)
    assert "breakdown,playbook,g/a,,achievement_rate,1.0,\n" in render_csv(r)


def test_json_output_is_build_to_json(run_cli, tmp_path, plan):
    con = prepared(tmp_path / "plays.db", plan)
    code, out, _ = run_cli("report", "--format", "json", "--by", "tier")
    assert code == 0 and json.loads(out) == build(con, as_of=AS_OF, by=["tier"]).to_json()
    assert out.startswith('{\n  "as_of": "2026-01-11",\n')  # indented, but one line per drill-down row:
    assert [line[:20] for line in out.splitlines() if line.startswith('    {"kind"')] == ['    {"kind": "goal",'] * 3 + [
        '    {"kind": "alert"']
    _, out, _ = run_cli("report", "--format", "json", "--as-of", "2025-12-01")  # before anything started
    assert out.endswith('  "instances": []\n}\n') and json.loads(out)["instances"] == []


def test_names_from_the_data_cannot_forge_a_line(run_cli, tmp_path, plan):
    con = prepared(tmp_path / "plays.db", plan)
    con.execute("""UPDATE accounts SET row_json = json_set(row_json, '$.tier', 'x
forged')""")
    code, out, _ = run_cli("report")
    assert code == 0 and "x\\nforged" in out and "\nforged" not in out


def test_the_html_page_is_still_written(run_cli, tmp_path, plan):
    prepared(tmp_path / "plays.db", plan)
    code, out, err = run_cli("report", "--html", "r.html", "--format", "csv")
    html = (tmp_path / "r.html").read_text()
    assert (code, err) == (0, "wrote r.html\n") and out.startswith("section,")
    assert html.startswith("<!doctype html>") and "Goals report, as of 2026-01-11" in html


def test_a_page_that_cannot_be_written_is_an_error_with_no_report_printed_before_it(run_cli, tmp_path, plan):
    # was: the whole text report on stdout, then the error: output that looks like a success in a pipe
    prepared(tmp_path / "plays.db", plan)
    code, out, err = run_cli("report", "--html", "missing/r.html")
    assert (code, out, err) == (2, "", "plays: error: missing/r.html: cannot write: No such file or directory\n")
    (tmp_path / "pages").mkdir()
    code, out, err = run_cli("report", "--html", "pages")
    assert (code, out) == (2, "")
    assert err == "plays: error: --html: pages is a folder; name the page's file, such as pages/report.html\n"


def test_an_as_of_after_the_stores_data_is_noted_on_stderr(run_cli, tmp_path, plan):
    prepared(tmp_path / "plays.db", plan)
    code, out, err = run_cli("report", "--as-of", "2062-01-11")
    assert code == 0 and out.startswith("Report as of 2062-01-11")
    assert err == ("plays: note: --as-of 2062-01-11 is after the latest snapshot of the store's runs (2026-01-11): "
                   "nothing after it is recorded, so the figures are as things stood then\n")
    assert run_cli("report", "--as-of", "2026-01-11")[2] == ""


@pytest.mark.parametrize("command", [["report"], ["tasks"], ["task", "done", "t-1"],
                                     ["run", str(Path(__file__).parents[2] / "specs"), "-s",
                                      str(Path(__file__).parents[2] / "examples" / "snapshots.csv")]])
def test_an_empty_state_path_is_refused_and_an_empty_plays_state_means_the_default(run_cli, tmp_path, plan,
                                                                                   monkeypatch, command):
    # was: `: no state store here (... --state )`, and `plays run --state ""` applied nothing, silently
    where = " ".join(command[:2] if command[0] == "task" else command[:1])
    assert run_cli(*command, "--state", "") == (
        2, "", "plays: error: --state: an empty value was given (a quoted variable that is not set?) "
               f"(see `plays {where} --help`)\n")
    prepared(tmp_path / "plays.db", plan)
    monkeypatch.setenv("PLAYS_STATE", "")
    assert run_cli("tasks")[0] == 0


@pytest.mark.parametrize("command", [["report"], ["tasks"], ["goal", "measure", "g-1", "5"]])
def test_a_folder_given_as_the_store_says_so(run_cli, tmp_path, command):
    # was: `not a plays store (disk I/O error)`
    (tmp_path / "state").mkdir()
    code, out, err = run_cli(*command, "--state", "state")
    assert (code, out) == (2, "")
    assert err == "plays: error: state: a folder, not a state store (name the store's file, such as state/plays.db)\n"


# --- the figures agree with each other on the example book ------------------------------------------------------


@pytest.fixture(scope="module")
def example_store(tmp_path_factory):
    """`plays run specs/ -s examples/snapshots.csv --state` (40 accounts, Jan 1 to Apr 30 2026), and a few tasks
    done (every third open task, on its due date or two days late)."""
    from plays.cli import main
    from plays.state import store

    root = Path(__file__).resolve().parents[2]
    path = tmp_path_factory.mktemp("example") / "plays.db"
    with pytest.raises(SystemExit) as done:
        main(["run", str(root / "specs"), "-s", str(root / "examples" / "snapshots.csv"), "--state", str(path),
              "--format", "json", "-o", os.devnull])
    assert done.value.code in (0, None)
    con = store.connect(str(path))
    for n, (tid, due) in enumerate(con.execute("SELECT id, due FROM tasks ORDER BY id").fetchall()):
        if n % 3 == 0 and due <= "2026-04-28":
            actions.complete_task(con, tid, date.fromisoformat(due) + timedelta(days=2 * (n % 2)))
    return con


@pytest.mark.parametrize("as_of, days", [("2026-04-30", 30), ("2026-03-15", 14), ("2026-02-01", 90), ("2026-05-20", 7)])
def test_breakdowns_cohorts_and_alerts_add_up_to_the_overview(example_store, as_of, days):
    r = build(example_store, as_of=date.fromisoformat(as_of), period_days=days, by=["csm", "segment"]).to_json()
    o = {k: f["value"] for k, f in r["overview"].items()}
    goals = [i for i in r["instances"] if i["kind"] == "goal"]
    assert o["goals_active"] == sum(i["status"] == "active" for i in goals)
    assert o["goals_awaiting_measure"] == sum(i["status"] == "awaiting measure" for i in goals)
    for b in r["breakdowns"]:
        total = {k: sum(row[k] for row in b["rows"]) for k in ("active", "achieved", "missed", "tasks_open",
                                                               "tasks_overdue")}
        if b["kind"] in ("attribute", "template"):  # every goal instance is under exactly one key
            assert (total["active"], total["achieved"], total["missed"]) == (
                o["goals_active"], o["goals_achieved"], o["goals_missed"])
        if b["kind"] == "attribute":  # and every task, goals' and alerts'
            assert (total["tasks_open"], total["tasks_overdue"]) == (o["tasks_open"], o["tasks_overdue"])
    assert sum(c["deployed"] for c in r["cohorts"]) == len(goals)
    rules = r["alerts"]["rules"]
    assert sum(x["open"] for x in rules) == o["alerts_open"] == sum(i["kind"] == "alert" for i in r["instances"])
    fired = dict(example_store.execute("SELECT alert, count(*) FROM alerts WHERE fired <= ? GROUP BY alert", [as_of]))
    weekly = r["alerts"]["weekly"]
    assert {a: sum(w["fired"] for w in weekly if w["rule"] == a) for a in fired} == fired
    for x in rules:  # the last week ends on the as-of date: its open count is the rule's
        last = [w for w in weekly if w["rule"] == x["rule"]]
        assert not last or last[-1]["open"] == x["open"]


@pytest.mark.parametrize("edit", [
    "UPDATE tasks SET status = 'done' WHERE done IS NULL",  # done without a date
    "UPDATE goals SET outcome_date = NULL WHERE status = 'achieved'",  # achieved, but when?
    "UPDATE alerts SET resolved = '2026-01-20' WHERE status = 'open'",  # resolved, yet open
    "UPDATE goals SET kpi_met = '2026-02-30'",  # not a date
])
def test_rows_that_contradict_themselves_are_damage(run_cli, tmp_path, plan, edit):
    con = prepared(tmp_path / "plays.db", plan)
    con.execute(edit)
    code, out, err = run_cli("report")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert "the store is damaged (a stored value plays did not write: ValueError)" in err


def test_an_account_row_that_is_not_json_is_damage(run_cli, tmp_path, plan):
    con = prepared(tmp_path / "plays.db", plan)
    con.execute("UPDATE accounts SET row_json = '{SECRET' WHERE account = 'p1'")
    code, out, err = run_cli("report", "--format", "csv")
    assert (code, out) == (2, "") and err.count("\n") == 1 and "damaged" in err and "SECRET" not in err


# --- the median in SQL ---------------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ab"), st.integers(-5, 40), st.integers(1, 4)), max_size=30))
def test_the_sql_median_of_a_histogram_is_the_median_of_its_values(rows):
    """report_data._medians against statistics.median: each (key, value, count) row stands for count values."""
    import sqlite3
    from statistics import median

    from plays.state.report_data import _medians

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE h (k, v, n)")
    con.executemany("INSERT INTO h VALUES (?, ?, ?)", rows)
    values: dict[str, list[int]] = {}
    for k, v, n in rows:
        values.setdefault(k, []).extend([v] * n)
    expected = {k: float(median(vs)) for k, vs in values.items()}
    assert _medians(con, {}, "h", "k", "v", "1", "n") == expected  # as a histogram
    con.execute("CREATE TABLE raw (k, v)")
    con.executemany("INSERT INTO raw VALUES (?, ?)", [(k, v) for k, vs in values.items() for v in vs])
    assert _medians(con, {}, "raw", "k", "v", "1") == expected  # one row per value
