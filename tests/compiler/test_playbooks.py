"""The playbook pass: single tasks in alerts, DAGs, playbook order and coverage, goal rules."""

import pytest

from plays.compiler.driver import compile_sources
from plays.sources import Source

CATALOG = """
account {
  name: text
  segment: enum(smb, mid_market, enterprise)
  region: enum(amer, emea, apac)
  tier: enum(standard, premium)
  go_live_date: date
}
metric mau: count
metric mrr: money
metric health_score: number
"""


def diags(text):
    result = compile_sources([Source("catalog.play", CATALOG), Source("t.play", text)], lower=False)
    return [(d.code, d.span.line, d.message) for d in result.diagnostics]


def codes(text):
    return [c for c, _, _ in diags(text)]


def goal(body, extra=""):
    return f"goal g {{ duration: 60d  deploy: on go_live_date {extra}\n{body}\n}}"


def test_language_examples_are_clean():
    text = (__import__("pathlib").Path(__file__).parent.parent / "data" / "language_examples.play").read_text()
    assert compile_sources([Source("x.play", text)], lower=False).diagnostics == []


def test_E400_alert_playbooks_hold_single_tasks():
    text = 'alert a { when: mau < 1\n  playbook {\n    task t "T" { after: u  every: 3d }\n    task u "U" { due: 1d } } }'
    assert diags(text) == [
        ("E400", 3, "alert playbooks hold single tasks: `after` belongs in a goal's playbook"),
        ("E400", 3, "alert playbooks hold single tasks: `every` belongs in a goal's playbook"),
    ]


def test_E401_cycle_is_reported_once_with_its_members_in_order():
    text = goal('playbook {\n task a "A" { after: c }\n task b "B" { after: a }\n task c "C" { after: b }\n task d "D" { after: d } }')
    found = [(c, m) for c, _, m in diags(text)]
    assert found == [
        ("E401", "these tasks depend on each other in a circle: a -> c -> b -> a"),
        ("E401", "task `d` lists itself in `after:`; a task cannot come after itself"),
    ]


def test_E401_a_task_listing_itself_points_at_its_own_name_in_after():
    [d] = [d for d in compile_sources([Source("c.play", CATALOG), Source("t.play", goal(
        'playbook {\n task diagnose "D" { after: kickoff, diagnose  due: 2d }\n task kickoff "K" { } }'))],
        lower=False).diagnostics]
    assert (d.code, d.message) == ("E401", "task `diagnose` lists itself in `after:`; a task cannot come after itself")
    assert (d.span.line, d.span.col, d.span.end_col) == (3, 38, 46)  # the second `diagnose`


def test_E205_unknown_task_in_after_suggests_a_sibling():
    result = compile_sources([Source("c.play", CATALOG), Source("t.play", goal('playbook { task kickoff "K" {} task t "T" { after: kickof } }'))], lower=False)
    [d] = result.diagnostics
    assert (d.code, d.suggestion) == ("E205", "kickoff")


def test_E402_E403_duplicates():
    assert codes(goal('playbook p where segment == smb { task a "A" {} task a "B" {} }\nplaybook p { }')) == ["E402", "E403"]


def test_E404_default_must_come_last_and_E405_names_required():
    assert codes(goal("playbook { }\nplaybook e where segment == enterprise { }")) == ["E404", "E405"]


def test_E406_until_without_every_and_E407_recurring_in_dependencies():
    assert codes(goal('playbook { task a "A" { until: 30d } }')) == ["E406"]
    assert codes(goal('playbook { task a "A" { every: 7d } task b "B" { after: a } }')) == ["E407"]
    assert codes(goal('playbook { task a "A" { } task b "B" { every: 7d  after: a } }')) == ["E407"]


def test_E208_task_type_and_E304_durations():
    assert codes(goal('playbook { task a "A" { type: cal  due: 5  every: 0d } }')) == ["E208", "E304", "E304"]


def test_W400_shadowed_and_impossible_playbooks():
    text = goal(
        "playbook both where segment in (smb, mid_market) { }\n"
        "playbook smb where segment == smb { }\n"
        "playbook never where segment == smb and segment == enterprise { }\n"
        "playbook rest { }"
    )
    assert [(c, m) for c, _, m in diags(text)] == [
        ("W400", "playbook `smb` can never be chosen: the playbooks before it already take every account it matches"),
        ("W400", "playbook `never` can never be chosen: its `where` can never hold"),
    ]


def test_W401_lists_uncovered_combinations_without_a_default():
    text = goal("playbook e where segment == enterprise and region != apac { }\nplaybook s where segment == smb { }")
    [(code, _, msg)] = diags(text)
    assert code == "W401"
    assert msg == (
        "no playbook covers (region = amer, segment = mid_market), (region = emea, segment = mid_market), "
        "(region = apac, segment = mid_market), (region = apac, segment = enterprise); accounts there get no tasks"
    )


def test_playbooks_that_depend_on_metrics_are_not_flagged():
    assert codes(goal("playbook big where mrr > 1000 { }\nplaybook small where mrr <= 1000 { }")) == []


def test_W402_no_playbook():
    assert codes("alert a { when: mau < 1 }") == ["W402"]


def test_external_goal_rules_E500_E501_E504():
    text = (
        'external goal e { account: "acme"  start: 2026-06-30  due: 2026-04-01\n'
        "  deploy: on go_live_date\n  kpi: health_score >= 70\n  playbook { } }"
    )
    assert codes(text) == ["E504", "E500", "E501"]
    ok = 'external goal e { account: "acme"  measure: "Minutes" target <= 30  start: 2026-04-01  due: 2026-06-30  deploy: manual  playbook { } }'
    assert codes(ok) == []


def test_E502_deploy_on_a_non_date_and_E503_relative_kpi_on_a_non_metric():
    assert codes("goal g { duration: 30d  deploy: on segment  kpi: name up 10%  playbook { } }") == ["E502", "E503"]
    assert codes("goal g { duration: 30d  deploy: on go_live  playbook { } }") == ["E200"]


def test_E408_a_chained_schedule_past_100_years_once_per_playbook():
    text = goal('playbook {\n task a "A" { due: 20000d }\n task b "B" { after: a  due: 16500d }\n'
                ' task c "C" { after: b  due: 1d }\n task d "D" { after: c  due: 1d } }')
    assert diags(text) == [
        ("E408", 5, "task `c` would be due 36,501 days after the start; plans reach at most 36,500 days (100 years)"),
    ]
    # 20000 + 16500 = 36500 exactly: within the plans' bound (only past this 60-day goal's end: W403)
    assert codes(goal('playbook {\n task a "A" { due: 20000d }\n task b "B" { after: a  due: 16500d } }')) == ["W403"]


def test_E408_is_not_computed_through_a_cycle():
    assert codes(goal('playbook {\n task a "A" { after: b  due: 36500d }\n task b "B" { after: a  due: 36500d } }')) == [
        "E401"]


# --- W403 / W404: tasks and the goal's duration ---------------------------------------------


def full(text):
    result = compile_sources([Source("catalog.play", CATALOG), Source("t.play", text)], lower=False)
    return [(d.code, d.span.line, d.span.col, d.message, [n.message for n in d.notes], d.suggestion)
            for d in result.diagnostics if d.code != "W402"]  # no playbook: beside the point here


def test_W403_a_chain_of_dues_past_the_goal_reports_its_first_late_task():
    # kickoff day 20; training 20 + 25 = 45; integrations 20 + 42 = 62 (> 60); go_live max(45, 62) + 7 = 69
    text = goal('playbook {\n task kickoff "K" { due: 20d }\n task training "T" { after: kickoff  due: 25d }\n'
                ' task integrations "I" { after: kickoff  due: 6w }\n'
                ' task go_live "G" { after: training, integrations  due: 7d } }')
    assert full(text) == [("W403", 5, 47, "task `integrations` is due on day 62 of a 60-day goal: after the goal ends",
                           ["it is due 42d after `kickoff`, which is due on day 20"], None)]


def test_W403_the_last_day_of_the_goal_is_within_it():
    # 30 + 30 = 60 = the duration: due on the day the goal ends
    assert full(goal('playbook {\n task a "A" { due: 30d }\n task b "B" { after: a  due: 30d } }')) == []
    [(code, line, col, msg, notes, _)] = full(goal('playbook {\n task a "A" { due: 61d } }'))
    assert (code, line, col, msg, notes) == ("W403", 3, 20, "task `a` is due on day 61 of a 60-day goal: after the goal ends", [])


def test_W403_recurring_until_past_the_goal_counts_the_late_occurrences():
    # every 7d until 70d: days 7, 14, ..., 70; after day 60: 63 and 70
    [(code, line, col, msg, _, hint)] = full(goal('playbook {\n task weekly "W" { every: 7d  until: 70d } }'))
    assert (code, line, col, msg, hint) == (
        "W403", 3, 38, "task `weekly` recurs until day 70 of a 60-day goal: 2 of its occurrences fall after the goal ends",
        "60d")
    # until 65d: days 7..63, one (63) after day 60; until 62d with every 7d: the last is day 56, none late
    assert [m for _, _, _, m, _, _ in full(goal('playbook { task w "W" { every: 7d  until: 65d } }'))] == [
        "task `w` recurs until day 65 of a 60-day goal: 1 of its occurrences fall after the goal ends"]
    assert full(goal('playbook { task w "W" { every: 7d  until: 62d } }')) == []


def test_W404_a_recurring_task_longer_than_its_goal_or_until_never_occurs():
    assert full(goal('playbook {\n task qbr "Q" { every: 90d } }')) == [
        ("W404", 3, 24, "task `qbr` is never created: it recurs every 90d but the goal lasts 60d", [], None)]
    assert [m for _, _, _, m, _, _ in full(goal('playbook { task x "X" { every: 10d  until: 5d } }'))] == [
        "task `x` is never created: it recurs every 10d but only until day 5"]
    # every 60d in a 60-day goal: one occurrence, on the last day
    assert full(goal('playbook { task x "X" { every: 60d } }')) == []
    # an alert has no duration: nothing to compare (and `every` is E400 there)
    assert [c for c, *_ in full('alert a { when: mau < 1  playbook { task x "X" { due: 900d } } }')] == []


def test_W403_on_an_external_goal_uses_due_minus_start():
    # 2026-01-01 .. 2026-01-31: 30 days
    text = ('external goal e { account: "acme"  measure: "M" target <= 3  start: 2026-01-01  due: 2026-01-31\n'
            '  playbook { task a "A" { due: 30d } task b "B" { due: 31d } task c "C" { every: 45d } } }')
    assert [(c, m) for c, _, _, m, _, _ in full(text)] == [
        ("W403", "task `b` is due on day 31 of a 30-day goal: after the goal ends"),
        ("W404", "task `c` is never created: it recurs every 45d but the goal lasts 30d"),
    ]


def test_W403_W404_stay_quiet_when_the_duration_is_wrong():
    assert [c for c, *_ in full('goal g { duration: 0d  playbook { task a "A" { due: 5d } task b "B" { every: 9d } } }')] == [
        "E304"]


# --- W500: a relative KPI measured from 0 ----------------------------------------------------


W500 = ("`{m} {d} {p}` is measured from {m} at deploy: from 0 it is {met}, and from an empty value never")


def test_W500_relative_kpi_of_an_automatic_deploy_without_a_base():
    [(code, line, col, msg, notes, _)] = full("goal g { duration: 30d  deploy: on go_live_date  kpi: mau up 20% }")
    assert (code, line, col) == ("W500", 1, 55)
    assert msg == W500.format(m="mau", d="up", p="20%", met="met at once (every value of 0 or more counts)")
    assert notes == ["deploy only where there is a base to measure from: add `mau > 0` to the goal's `where:`"]
    [(_, _, _, msg, _, _)] = full("goal g { duration: 30d  deploy: when health_score < 40  kpi: mrr down 5% }")
    assert msg == W500.format(m="mrr", d="down", p="5%", met="met as long as it stays at 0")


@pytest.mark.parametrize("props", [
    "deploy: on go_live_date  where: mau > 0",
    "deploy: on go_live_date  where: tier == premium and (0 < mau)",
    "deploy: on go_live_date  where: mau >= 1 and (segment == smb and tier == premium)",
    "deploy: when mau > 100",
    "deploy: when 5 <= mau and health_score < 40",
    "deploy: manual",
    "",                                   # manual by default
])
def test_W500_a_positive_base_or_a_manual_deploy_is_fine(props):
    assert full(f"goal g {{ duration: 30d  {props}  kpi: mau up 20% }}") == []


@pytest.mark.parametrize("props", [
    "deploy: on go_live_date  where: mau >= 0",           # 0 is still allowed
    "deploy: on go_live_date  where: mau > 0 or tier == premium",
    "deploy: on go_live_date  where: mrr > 0",            # another metric
    "deploy: on go_live_date  where: not (mau < 1)",      # not recognised: say it outright
    "deploy: when mau > -5",
])
def test_W500_guards_that_do_not_keep_the_base_above_0(props):
    assert [c for c, *_ in full(f"goal g {{ duration: 30d  {props}  kpi: mau up 20% }}")] == ["W500"]
