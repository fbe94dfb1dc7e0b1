"""The playbook pass: single tasks in alerts, DAGs, playbook order and coverage, goal rules."""

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
